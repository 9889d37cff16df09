//! Which PCs are heard from. A heartbeat that repeats the last (each agent's, every minute)
//! changes nothing a page shows and wakes no open page; a PC falling silent, which no request
//! announces, is announced as time passes (`announce_silence`).

use std::collections::HashSet;
use std::time::Duration;

use jiff::Timestamp;
use yingjian_shared::{EventKind, Heartbeat};

use crate::completeness::silent;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// Files a PC's heartbeat and announces it unless it repeats the last one of a PC that was not
/// silent: only the time it was heard moves then, which no page shows of a PC online.
pub async fn heard(services: &Services, department: &str, agent: &str, hb: &Heartbeat) -> AppResult<()> {
    let body = serde_json::to_string(hb).map_err(AppError::internal)?;
    let last = services.db.put_heartbeat(department.to_string(), agent.to_string(), body.clone()).await?;
    let silent_after = Duration::from_secs(services.config.silent_after_secs);
    let repeated = last.is_some_and(|(at, last)| last == body && !silent(at, Timestamp::now(), silent_after));
    if repeated {
        services.touch();
    } else {
        services.publish(EventKind::Heartbeat, Some(department), None, Some(hb.host.clone()));
    }
    Ok(())
}

/// Until the server stops: announces (to this instance's pages: every instance watches for
/// itself) each PC that fell silent, a few seconds after it did.
pub async fn announce_silence(services: Services) {
    let silent_after = Duration::from_secs(services.config.silent_after_secs);
    let every = (silent_after / 6).clamp(Duration::from_secs(1), Duration::from_secs(15));
    let mut known = HashSet::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = services.shutdown.cancelled() => return,
        }
        // No page open here to tell.
        if services.events.receiver_count() == 0 {
            continue;
        }
        // The snapshot the pages read: a heartbeat since moves the generation, so it is read again.
        let data = match services.status_data().await {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the heartbeats to see who fell silent");
                continue;
            }
        };
        let now = Timestamp::now();
        let mut fallen = HashSet::new();
        for heard in data.heartbeats.iter().filter(|h| silent(h.at, now, silent_after)) {
            let who = (heard.department.clone(), heard.agent.clone());
            if !known.contains(&who) {
                tracing::info!(department = who.0, agent = who.1, "an agent fell silent");
                // As a heartbeat's event says it: the PC's name.
                let host = heard.heartbeat.as_ref().map(|hb| hb.host.clone());
                services.publish_here(EventKind::Heartbeat, Some(&who.0), host);
            }
            fallen.insert(who);
        }
        known = fallen;
    }
}
