//! When a changed file is completely written: a pure decision on what the disk says now and
//! the time passed in, so it is tested without a filesystem and without waiting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use yingjian_shared::RelPath;

/// A file seen changing, waiting for its size and mtime to hold still.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub os: PathBuf,
    pub size: u64,
    pub mtime: i64,
    stable_since: Instant,
    /// Renamed in or closed after writing: no need to wait out the settle time.
    complete: bool,
}

/// The files waiting to settle.
#[derive(Debug, Default)]
pub struct Candidates(HashMap<RelPath, Candidate>);

impl Candidates {
    /// A file seen with this size and mtime; `complete` when the event says it was renamed in or
    /// closed after writing. A file already waiting keeps its clock.
    pub fn want(&mut self, rel: RelPath, os: PathBuf, size: u64, mtime: i64, complete: bool, now: Instant) {
        let entry = self.0.entry(rel).or_insert(Candidate { os, size, mtime, stable_since: now, complete });
        entry.complete |= complete;
    }

    /// A file to look at again now, whatever was known of it (its caption changed).
    pub fn again(&mut self, rel: RelPath, os: PathBuf, size: u64, mtime: i64, now: Instant) {
        self.0.insert(rel, Candidate { os, size, mtime, stable_since: now, complete: true });
    }

    pub fn get(&self, rel: &RelPath) -> Option<&Candidate> {
        self.0.get(rel)
    }

    pub fn remove(&mut self, rel: &RelPath) {
        self.0.remove(rel);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// It changed while it was hashed: it waits the full settle time again.
    pub fn changed(&mut self, rel: &RelPath, now: Instant) {
        if let Some(c) = self.0.get_mut(rel) {
            c.stable_since = now;
            c.complete = false;
        }
    }

    /// Another program holds it open (a scanner still writing): try again a little later.
    pub fn locked(&mut self, rel: &RelPath, now: Instant) {
        if let Some(c) = self.0.get_mut(rel) {
            c.stable_since = now;
        }
    }

    /// Looks at every candidate not `busy` again: `stat` says what the disk holds now (`None`:
    /// gone, and forgotten). A file whose size or mtime moved starts waiting anew; one that held
    /// still for `settle`, or that was complete and did not move, is ready to hash.
    pub fn ready(
        &mut self,
        now: Instant,
        settle: Duration,
        busy: impl Fn(&RelPath) -> bool,
        mut stat: impl FnMut(&Path) -> Option<(u64, i64)>,
    ) -> Vec<RelPath> {
        let mut ready = Vec::new();
        self.0.retain(|rel, c| {
            if busy(rel) {
                return true;
            }
            let Some((size, mtime)) = stat(&c.os) else { return false };
            if (size, mtime) != (c.size, c.mtime) {
                (c.size, c.mtime, c.stable_since, c.complete) = (size, mtime, now, false);
                return true;
            }
            if c.complete || now.duration_since(c.stable_since) >= settle {
                ready.push(rel.clone());
            }
            true
        });
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(2);

    fn rel(name: &str) -> RelPath {
        RelPath::parse(&format!("08.03 昆仑2021专项行动/{name}")).unwrap()
    }

    #[test]
    fn a_file_renamed_in_is_ready_at_once_one_written_in_place_after_the_settle_time() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("renamed.pdf"), "r".into(), 10, 1, true, t0);
        c.want(rel("written.pdf"), "w".into(), 10, 1, false, t0);
        let disk = |_: &Path| Some((10, 1));
        assert_eq!(c.ready(t0, SETTLE, |_| false, disk), [rel("renamed.pdf")]);
        assert!(c.ready(t0 + SETTLE / 2, SETTLE, |_| false, disk).contains(&rel("renamed.pdf")));
        let mut later = c.ready(t0 + SETTLE, SETTLE, |_| false, disk);
        later.sort();
        assert_eq!(later, [rel("renamed.pdf"), rel("written.pdf")]);
    }

    #[test]
    fn a_file_that_moves_waits_again_and_one_that_goes_is_forgotten() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("scan.pdf"), "s".into(), 10, 1, true, t0);
        c.want(rel("gone.pdf"), "g".into(), 10, 1, false, t0);
        // The scanner appended a page: even a renamed-in file now waits the whole settle time.
        let grown = |p: &Path| (p == Path::new("s")).then_some((20, 2));
        assert!(c.ready(t0 + SETTLE, SETTLE, |_| false, grown).is_empty());
        assert_eq!(c.len(), 1, "the vanished file is forgotten");
        let still = |_: &Path| Some((20, 2));
        assert!(c.ready(t0 + SETTLE + SETTLE / 2, SETTLE, |_| false, still).is_empty());
        assert_eq!(c.ready(t0 + SETTLE * 2, SETTLE, |_| false, still), [rel("scan.pdf")]);
    }

    #[test]
    fn busy_files_wait_and_locked_or_changed_ones_restart_their_clock() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("big.pdf"), "b".into(), 10, 1, true, t0);
        let disk = |_: &Path| Some((10, 1));
        assert!(c.ready(t0, SETTLE, |r| r == &rel("big.pdf"), disk).is_empty(), "being hashed");
        c.locked(&rel("big.pdf"), t0);
        assert_eq!(c.ready(t0, SETTLE, |_| false, disk), [rel("big.pdf")], "still complete");
        c.changed(&rel("big.pdf"), t0);
        assert!(c.ready(t0 + SETTLE / 2, SETTLE, |_| false, disk).is_empty());
        assert_eq!(c.ready(t0 + SETTLE, SETTLE, |_| false, disk), [rel("big.pdf")]);
    }
}
