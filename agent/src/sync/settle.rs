//! When a changed file is completely written: a pure decision on what the disk says now and
//! the time passed in, so it is tested without a filesystem and without waiting.
//!
//! A file renamed in is whole at once. A file closed after writing is whole unless it is
//! written again within `CLOSE_GRACE` (a copy tool or a scanner appending in open–write–close
//! cycles). Any other change waits the settle time; a file that keeps changing after it was
//! taken waits twice as long each time, so a writer that adds a page every few seconds costs a
//! few versions on the server, not one per page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use yingjian_shared::{RelPath, SkipReason};

/// How long a file closed after writing must stay untouched before it is taken.
pub const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// The settle time doubles at most this many times for a file that keeps changing.
const MAX_DOUBLINGS: u32 = 5;
/// A file that cannot be read is tried again after this long, then twice as long each time,
/// up to `UNREADABLE_UP_TO` (an event on the file makes it due at once).
const UNREADABLE_FROM: Duration = Duration::from_secs(1);
const UNREADABLE_UP_TO: Duration = Duration::from_secs(30);
/// A file is named as unreadable once it failed this many times (a scanner holding it for a
/// moment is not worth telling).
const NAMED_AFTER: u32 = 2;

/// What an event said about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    /// It changed; nothing says whether the writer is done.
    Changed,
    /// The writer closed it after writing.
    Closed,
    /// It arrived whole (renamed in), or must be looked at again now (its caption changed).
    Complete,
}

/// A file seen changing, waiting for its size and mtime to hold still.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub os: PathBuf,
    pub size: u64,
    pub mtime: i64,
    stable_since: Instant,
    seen: Seen,
    /// Closes after writing seen while it waited: more than one means a writer in cycles.
    closes: u32,
    /// It could not be read: why, how many times, and when to try again.
    unread: Option<Unread>,
}

/// A file that could not be read, tried again after a while that doubles each time.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unread {
    why: SkipReason,
    tries: u32,
    next: Instant,
}

/// A file taken recently: if it changes again soon, it waits longer next time.
#[derive(Debug, Clone, Copy)]
struct Taken {
    versions: u32,
    at: Instant,
}

/// The files waiting to settle.
#[derive(Debug, Default)]
pub struct Candidates {
    waiting: HashMap<RelPath, Candidate>,
    taken: HashMap<RelPath, Taken>,
}

impl Candidates {
    /// A file seen with this size and mtime. A file already waiting keeps its clock.
    pub fn want(&mut self, rel: RelPath, os: PathBuf, size: u64, mtime: i64, seen: Seen, now: Instant) {
        let entry = self.waiting.entry(rel).or_insert(Candidate {
            os,
            size,
            mtime,
            stable_since: now,
            seen: Seen::Changed,
            closes: 0,
            unread: None,
        });
        if seen == Seen::Closed {
            entry.closes += 1;
        }
        entry.seen = entry.seen.max(seen);
        // Something happened to it (its permissions, its lock): worth trying again now.
        if let Some(unread) = &mut entry.unread {
            unread.next = now;
        }
    }

    /// A file to look at again now, whatever was known of it (its caption changed).
    pub fn again(&mut self, rel: RelPath, os: PathBuf, size: u64, mtime: i64, now: Instant) {
        let unread = self.waiting.get(&rel).and_then(|c| c.unread);
        self.waiting.insert(
            rel,
            Candidate { os, size, mtime, stable_since: now, seen: Seen::Complete, closes: 0, unread },
        );
    }

    pub fn get(&self, rel: &RelPath) -> Option<&Candidate> {
        self.waiting.get(rel)
    }

    /// No longer waiting (gone, or left out).
    pub fn remove(&mut self, rel: &RelPath) {
        self.waiting.remove(rel);
    }

    /// It was hashed and queued: if it changes again soon, it waits longer.
    pub fn taken(&mut self, rel: &RelPath, now: Instant) {
        self.waiting.remove(rel);
        let versions = self.taken.get(rel).map_or(0, |t| t.versions) + 1;
        self.taken.insert(rel.clone(), Taken { versions, at: now });
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// It changed while it was hashed: it waits the full settle time again.
    pub fn changed(&mut self, rel: &RelPath, now: Instant) {
        if let Some(c) = self.waiting.get_mut(rel) {
            c.stable_since = now;
            c.seen = Seen::Changed;
        }
    }

    /// It could not be read (no permission, or another program has it locked): try again
    /// later, a little later each time.
    pub fn unreadable(&mut self, rel: &RelPath, why: SkipReason, now: Instant) {
        if let Some(c) = self.waiting.get_mut(rel) {
            let tries = c.unread.map_or(0, |u| u.tries) + 1;
            let wait = (UNREADABLE_FROM * 2u32.pow((tries - 1).min(8))).min(UNREADABLE_UP_TO);
            c.unread = Some(Unread { why, tries, next: now + wait });
        }
    }

    /// The files that could not be read (more than once), and why.
    pub fn unread(&self) -> Vec<(RelPath, SkipReason)> {
        let mut out: Vec<(RelPath, SkipReason)> = self
            .waiting
            .iter()
            .filter_map(|(rel, c)| c.unread.filter(|u| u.tries >= NAMED_AFTER).map(|u| (rel.clone(), u.why)))
            .collect();
        out.sort();
        out
    }

    /// How long `rel` must hold still: the settle time, doubled for every version taken
    /// shortly before. A taken version counts while the file changes again within four times
    /// its window.
    fn window(&self, rel: &RelPath, now: Instant, settle: Duration) -> (Duration, bool) {
        let recent = self
            .taken
            .get(rel)
            .filter(|t| now.duration_since(t.at) < settle * 4 * 2u32.pow(t.versions.min(MAX_DOUBLINGS)));
        match recent {
            Some(t) => (settle * 2u32.pow(t.versions.min(MAX_DOUBLINGS)), true),
            None => (settle, false),
        }
    }

    /// Looks at every candidate not `busy` again: `stat` says what the disk holds now (`None`:
    /// gone, and forgotten). A file whose size or mtime moved starts waiting anew; one that held
    /// still long enough is ready to hash.
    pub fn ready(
        &mut self,
        now: Instant,
        settle: Duration,
        busy: impl Fn(&RelPath) -> bool,
        mut stat: impl FnMut(&Path) -> Option<(u64, i64)>,
    ) -> Vec<RelPath> {
        let mut ready = Vec::new();
        let mut waiting = std::mem::take(&mut self.waiting);
        waiting.retain(|rel, c| {
            if busy(rel) || c.unread.is_some_and(|u| now < u.next) {
                return true;
            }
            let Some((size, mtime)) = stat(&c.os) else { return false };
            if (size, mtime) != (c.size, c.mtime) {
                (c.size, c.mtime, c.stable_since, c.seen) = (size, mtime, now, Seen::Changed);
                return true;
            }
            let (window, keeps_changing) = self.window(rel, now, settle);
            let held = now.duration_since(c.stable_since);
            let whole = match c.seen {
                Seen::Complete => true,
                Seen::Closed if c.closes == 1 && !keeps_changing => held >= CLOSE_GRACE.min(window),
                _ => held >= window,
            };
            if whole {
                ready.push(rel.clone());
            }
            true
        });
        self.waiting = waiting;
        self.taken.retain(|rel, t| {
            self.waiting.contains_key(rel)
                || now.duration_since(t.at) < settle * 4 * 2u32.pow(t.versions.min(MAX_DOUBLINGS))
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
    fn renamed_in_is_ready_at_once_closed_after_a_grace_written_in_place_after_the_settle_time() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("renamed.pdf"), "r".into(), 10, 1, Seen::Complete, t0);
        c.want(rel("closed.pdf"), "c".into(), 10, 1, Seen::Closed, t0);
        c.want(rel("written.pdf"), "w".into(), 10, 1, Seen::Changed, t0);
        let disk = |_: &Path| Some((10, 1));
        assert_eq!(c.ready(t0, SETTLE, |_| false, disk), [rel("renamed.pdf")]);
        let mut soon = c.ready(t0 + CLOSE_GRACE, SETTLE, |_| false, disk);
        soon.sort();
        assert_eq!(soon, [rel("closed.pdf"), rel("renamed.pdf")]);
        let mut later = c.ready(t0 + SETTLE, SETTLE, |_| false, disk);
        later.sort();
        assert_eq!(later, [rel("closed.pdf"), rel("renamed.pdf"), rel("written.pdf")]);
    }

    #[test]
    fn a_file_that_moves_waits_again_and_one_that_goes_is_forgotten() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("scan.pdf"), "s".into(), 10, 1, Seen::Complete, t0);
        c.want(rel("gone.pdf"), "g".into(), 10, 1, Seen::Changed, t0);
        // The scanner appended a page: even a renamed-in file now waits the whole settle time.
        let grown = |p: &Path| (p == Path::new("s")).then_some((20, 2));
        assert!(c.ready(t0 + SETTLE, SETTLE, |_| false, grown).is_empty());
        assert_eq!(c.len(), 1, "the vanished file is forgotten");
        let still = |_: &Path| Some((20, 2));
        assert!(c.ready(t0 + SETTLE + SETTLE / 2, SETTLE, |_| false, still).is_empty());
        assert_eq!(c.ready(t0 + SETTLE * 2, SETTLE, |_| false, still), [rel("scan.pdf")]);
    }

    #[test]
    fn a_writer_in_open_write_close_cycles_is_not_taken_at_its_first_close() {
        let t0 = Instant::now();
        let tick = Duration::from_millis(50);
        let mut c = Candidates::default();
        let mut size = 0;
        let mut at = t0;
        // Thirty appends, each closed, 50 ms apart: never ready while they go on.
        for _ in 0..30 {
            size += 100;
            c.want(rel("appended.pdf"), "a".into(), size, size as i64, Seen::Changed, at);
            c.want(rel("appended.pdf"), "a".into(), size, size as i64, Seen::Closed, at);
            let disk = move |_: &Path| Some((size, size as i64));
            assert!(c.ready(at, SETTLE, |_| false, disk).is_empty());
            at += tick;
        }
        let disk = move |_: &Path| Some((size, size as i64));
        assert!(
            c.ready(at + CLOSE_GRACE, SETTLE, |_| false, disk).is_empty(),
            "written again after its first close"
        );
        assert_eq!(c.ready(at + SETTLE, SETTLE, |_| false, disk), [rel("appended.pdf")]);
    }

    #[test]
    fn a_file_that_keeps_changing_after_it_was_taken_waits_longer_each_time() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        let mut at = t0;
        let mut windows = Vec::new();
        for version in 1..=4u64 {
            c.want(rel("pages.pdf"), "p".into(), version, version as i64, Seen::Closed, at);
            let disk = move |_: &Path| Some((version, version as i64));
            let mut waited = Duration::ZERO;
            while c.ready(at + waited, SETTLE, |_| false, disk).is_empty() {
                waited += Duration::from_millis(100);
            }
            windows.push(waited);
            at += waited;
            c.taken(&rel("pages.pdf"), at);
            at += Duration::from_secs(1);
        }
        assert_eq!(windows, [CLOSE_GRACE, SETTLE * 2, SETTLE * 4, SETTLE * 8]);
        // Left alone for long, it is an ordinary file again.
        let quiet = at + SETTLE * 4 * 32;
        c.ready(quiet, SETTLE, |_| false, |_| None);
        c.want(rel("pages.pdf"), "p".into(), 9, 9, Seen::Closed, quiet);
        assert_eq!(c.ready(quiet + CLOSE_GRACE, SETTLE, |_| false, |_| Some((9, 9))), [rel("pages.pdf")]);
    }

    #[test]
    fn busy_files_wait_and_changed_ones_restart_their_clock() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        c.want(rel("big.pdf"), "b".into(), 10, 1, Seen::Complete, t0);
        let disk = |_: &Path| Some((10, 1));
        assert!(c.ready(t0, SETTLE, |r| r == &rel("big.pdf"), disk).is_empty(), "being hashed");
        c.changed(&rel("big.pdf"), t0);
        assert!(c.ready(t0 + SETTLE / 2, SETTLE, |_| false, disk).is_empty());
        assert_eq!(c.ready(t0 + SETTLE, SETTLE, |_| false, disk), [rel("big.pdf")]);
    }

    #[test]
    fn an_unreadable_file_is_tried_again_later_each_time_and_named_until_it_is_read() {
        let t0 = Instant::now();
        let mut c = Candidates::default();
        let disk = |_: &Path| Some((10, 1));
        c.want(rel("locked.pdf"), "l".into(), 10, 1, Seen::Complete, t0);
        assert_eq!(c.ready(t0, SETTLE, |_| false, disk), [rel("locked.pdf")]);
        c.unreadable(&rel("locked.pdf"), SkipReason::Unreadable, t0);
        assert!(c.unread().is_empty(), "once is a moment, not worth telling");
        // Not every tick: only once its wait is over, and the wait doubles.
        let tick = Duration::from_millis(50);
        assert!(c.ready(t0 + tick, SETTLE, |_| false, disk).is_empty());
        assert_eq!(c.ready(t0 + UNREADABLE_FROM, SETTLE, |_| false, disk), [rel("locked.pdf")]);
        c.unreadable(&rel("locked.pdf"), SkipReason::Unreadable, t0 + UNREADABLE_FROM);
        assert_eq!(c.unread(), [(rel("locked.pdf"), SkipReason::Unreadable)]);
        assert!(c.ready(t0 + UNREADABLE_FROM * 2, SETTLE, |_| false, disk).is_empty());
        assert_eq!(c.ready(t0 + UNREADABLE_FROM * 3, SETTLE, |_| false, disk), [rel("locked.pdf")]);
        // An event on it (its permissions changed) makes it due at once.
        c.unreadable(&rel("locked.pdf"), SkipReason::Unreadable, t0 + UNREADABLE_FROM * 3);
        c.want(rel("locked.pdf"), "l".into(), 10, 1, Seen::Changed, t0 + UNREADABLE_FROM * 3);
        assert_eq!(c.ready(t0 + UNREADABLE_FROM * 3, SETTLE, |_| false, disk), [rel("locked.pdf")]);
        // Read at last: no longer named.
        c.taken(&rel("locked.pdf"), t0 + UNREADABLE_FROM * 4);
        assert!(c.unread().is_empty());
    }
}
