//! What the agent tells: a snapshot of what it knows (waiting, refused, left out, held back)
//! handed to the reporter for the heartbeat, the to-do file and `status`.

use jiff::Timestamp;
use yingjian_shared::{FailedFile, Heartbeat, PendingFile, RelPath, SkipReason, SkippedFile, limits};

use super::Agent;
use super::reporter::Snapshot;
use crate::error::AgentResult;
use crate::newfile;

impl Agent {
    /// Hands the reporter what the agent knows now, for the heartbeat and the to-do file: it
    /// sends them beside the deliveries, and what it hears comes back through `heard`.
    pub(super) fn publish(&mut self) -> AgentResult<()> {
        let Some(reporter) = &self.reporter else { return Ok(()) };
        let (waiting, oldest, failed) = self.state.queue_summary()?;
        let oldest = oldest.and_then(|r| {
            Some(PendingFile {
                path: RelPath::parse(&r.path).ok()?,
                since: Timestamp::from_millisecond(r.since).ok()?,
            })
        });
        // Within the server's limits: the heartbeat names examples, the status counts.
        let failed: Vec<FailedFile> = failed
            .into_iter()
            .filter_map(|r| {
                let reason = limits::truncate(&r.error.unwrap_or_default(), limits::REASON_CHARS);
                Some(FailedFile { path: RelPath::parse(&r.path).ok()?, reason })
            })
            .take(limits::LISTED_FILES)
            .collect();
        let refused: Vec<(String, String)> =
            failed.iter().map(|f| (f.path.to_string(), f.reason.clone())).collect();
        // Left out, then not read yet, then what keeps the agent itself from going on.
        let mut skipped: Vec<SkippedFile> =
            self.skipped.iter().map(|(name, reason)| SkippedFile::new(name.clone(), *reason)).collect();
        let todo = self.root.join(yingjian_shared::TODO_FILE);
        if newfile::is_link_or_odd(&todo) {
            // Never written through: said instead.
            skipped.push(SkippedFile::new(yingjian_shared::TODO_FILE.to_string(), SkipReason::Link));
        }
        let unread = self.candidates.unread();
        skipped.extend(unread.iter().map(|(rel, why)| SkippedFile::new(rel.to_string(), *why)));
        if self.disk_full.is_some() {
            skipped.push(SkippedFile::new(self.config.state.display().to_string(), SkipReason::DiskFull));
        }
        let held_back = self.held_back();
        let snapshot = Snapshot {
            heartbeat: Heartbeat {
                version: env!("CARGO_PKG_VERSION").to_string(),
                host: limits::truncate(&self.host, limits::HOST_CHARS),
                watch_mode: self.watch_mode(),
                pending: waiting + self.candidates.len() as u64,
                failed,
                oldest_pending: oldest,
                unsorted: self.unsorted.iter().take(limits::LISTED_FILES).cloned().collect(),
                skipped: skipped.iter().take(limits::LISTED_FILES).cloned().collect(),
            },
            refused,
            skipped: skipped
                .iter()
                .filter(|s| !matches!(s.reason, SkipReason::Unreadable | SkipReason::Locked))
                .map(|s| (s.name.clone(), s.reason.label().to_string()))
                .collect(),
            unreadable: unread.iter().map(|(rel, why)| (rel.to_string(), why.label().to_string())).collect(),
            unsorted: self.unsorted.iter().map(ToString::to_string).collect(),
            paused: self.paused.is_some(),
            waiting: waiting + self.candidates.len() as u64,
            held_back,
            outages: self.outages,
        };
        reporter.publish(snapshot);
        Ok(())
    }

    /// Why sending waits, if it does, in the clerk's words.
    fn held_back(&self) -> Option<String> {
        if let Some(why) = self.paused {
            return Some(format!("{}。", why.label()));
        }
        if self.disk_full.is_some() {
            return Some(SkipReason::DiskFull.label().to_string() + "。");
        }
        self.server_lost.then(|| "连不上服务器或服务器暂时出了故障，恢复后自动上传。".to_string())
    }
}
