//! The check that the server still holds what this agent delivered.

use std::collections::HashSet;

use crate::client::Client;
use crate::error::AgentResult;
use crate::state::State;

/// Queues again every synced file whose record the server lacks, and says how many. A server
/// restored from a backup, or one that lost its last commits in a power cut, gets them back
/// this way: the agent would otherwise never send an unchanged file again.
pub async fn refill(client: &Client, state: &State) -> AgentResult<usize> {
    // Read before asking, so that a file synced meanwhile is not taken for lost.
    let synced = state.synced()?;
    if synced.is_empty() {
        return Ok(0);
    }
    let held: HashSet<(String, String)> =
        client.evidence().await?.into_iter().map(|r| (r.path.to_string(), r.sha256.to_string())).collect();
    let mut lost = 0;
    for file in synced.iter().filter(|file| !held.contains(*file)) {
        if state.resend(&file.0, &file.1)? {
            lost += 1;
        }
    }
    Ok(lost)
}
