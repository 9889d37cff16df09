//! `agent.sqlite3`: what the agent has seen, hashed and sent, and its retry queue.
//! The only module of the agent that speaks SQL.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use crate::error::AgentResult;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    path      TEXT PRIMARY KEY,      -- relative, NFC, '/'-separated
    size      INTEGER NOT NULL,
    mtime     INTEGER NOT NULL,      -- nanoseconds since the epoch
    sha256    TEXT NOT NULL,
    caption   TEXT,
    state     TEXT NOT NULL,         -- send | synced | failed | withdraw
    attempts  INTEGER NOT NULL DEFAULT 0,
    next_try  INTEGER NOT NULL DEFAULT 0,  -- ms
    error     TEXT,
    since     INTEGER NOT NULL       -- ms: when it started waiting
);
-- The queue in the order it is worked through, holding only what is still to do: taking the
-- next few is a short index walk, not a sort of every pending file (a first run has thousands).
-- It replaces the earlier files_due index, which the planner would prefer and then sort.
DROP INDEX IF EXISTS files_due;
CREATE INDEX IF NOT EXISTS files_queue ON files(since, path) WHERE state IN ('send', 'withdraw');
CREATE INDEX IF NOT EXISTS files_failed ON files(path) WHERE state = 'failed';
";

/// Changes to the schema above, in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: which retries wait only for the server to come back (they are due the moment it does).
    "ALTER TABLE files ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;",
    // 2: the resumable upload under way for a file's version, to go on with after a restart.
    "CREATE TABLE uploads (
        path  TEXT PRIMARY KEY,
        size  INTEGER NOT NULL,
        mtime INTEGER NOT NULL,
        url   TEXT NOT NULL
    );",
];

/// What the agent must still do for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Upload the blob if the server lacks it, then send the record.
    Send,
    Synced,
    /// The server refused it for a reason the clerk must fix; retried when the file changes.
    Failed,
    /// The file left the folder: withdraw the record.
    Withdraw,
}

impl FileState {
    fn as_str(self) -> &'static str {
        match self {
            FileState::Send => "send",
            FileState::Synced => "synced",
            FileState::Failed => "failed",
            FileState::Withdraw => "withdraw",
        }
    }

    fn parse(s: &str) -> FileState {
        match s {
            "synced" => FileState::Synced,
            "failed" => FileState::Failed,
            "withdraw" => FileState::Withdraw,
            _ => FileState::Send,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub sha256: String,
    pub caption: Option<String>,
    pub state: FileState,
    pub attempts: u32,
    pub error: Option<String>,
    pub since: i64,
}

/// The connection sits behind a mutex only so that the agent's future may move between
/// threads; there is never contention.
pub struct State {
    conn: Mutex<Connection>,
    folder: std::path::PathBuf,
}

/// Bytes that must fit on the state folder's disk before the agent takes new work again.
const ROOM_PROBE: usize = 256 << 10;

/// Retries back off exponentially from a second up to this.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl State {
    pub fn open(folder: &Path) -> AgentResult<State> {
        std::fs::create_dir_all(folder)?;
        let conn = Connection::open(folder.join("agent.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let applied: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (done, migration) in (0u32..).zip(MIGRATIONS).skip(applied as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", done + 1)?;
            tx.commit()?;
        }
        Ok(State { conn: Mutex::new(conn), folder: folder.to_path_buf() })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, path: &str) -> AgentResult<Option<FileRow>> {
        Ok(self.conn().query_row(&format!("{SELECT} WHERE path = ?1"), [path], row).optional()?)
    }

    pub fn all(&self) -> AgentResult<Vec<FileRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY path"))?;
        Ok(stmt.query_map([], row)?.collect::<Result<_, _>>()?)
    }

    /// A settled file: send it (again) unless exactly this content is already synced.
    pub fn settled(
        &self,
        path: &str,
        size: u64,
        mtime: i64,
        sha256: &str,
        caption: Option<&str>,
    ) -> AgentResult<bool> {
        if let Some(old) = self.get(path)?
            && old.sha256 == sha256
            && old.caption.as_deref() == caption
            && old.state == FileState::Synced
        {
            // Same content, new mtime (touched or copied back): remember the stat, send nothing.
            self.conn().execute(
                "UPDATE files SET size = ?2, mtime = ?3 WHERE path = ?1",
                params![path, size as i64, mtime],
            )?;
            return Ok(false);
        }
        self.conn().execute(
            "INSERT INTO files (path, size, mtime, sha256, caption, state, attempts, next_try, error, since)
             VALUES (?1, ?2, ?3, ?4, ?5, 'send', 0, 0, NULL, ?6)
             ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, sha256 = excluded.sha256,
               caption = excluded.caption, state = 'send', attempts = 0, next_try = 0, error = NULL, since = excluded.since",
            params![path, size as i64, mtime, sha256, caption, now_ms()],
        )?;
        Ok(true)
    }

    /// Whether some file of exactly this size and mtime is known: a large file that arrives with
    /// the size and mtime of one already seen was most likely moved, not made anew.
    pub fn seen_before(&self, size: u64, mtime: i64) -> AgentResult<bool> {
        let conn = self.conn();
        let found = conn
            .query_row(
                "SELECT 1 FROM files WHERE size = ?1 AND mtime = ?2 LIMIT 1",
                params![size as i64, mtime],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// The file is gone: withdraw its record (a never-sent file is simply forgotten).
    pub fn gone(&self, path: &str) -> AgentResult<()> {
        self.mark_gone("path = ?1", path)
    }

    /// A file or a whole folder is gone: everything at or below `path`. The range on the
    /// primary key (`'0'` follows `'/'`) finds the folder's files without a scan.
    pub fn gone_under(&self, path: &str) -> AgentResult<()> {
        self.mark_gone("(path = ?1 OR (path > ?1 || '/' AND path < ?1 || '0'))", path)
    }

    fn mark_gone(&self, filter: &str, path: &str) -> AgentResult<()> {
        let conn = self.conn();
        conn.execute(&format!("DELETE FROM files WHERE {filter} AND state = 'failed'"), [path])?;
        conn.execute(
            &format!(
                "UPDATE files SET state = 'withdraw', attempts = 0, next_try = 0, error = NULL, since = ?2
                 WHERE {filter} AND state != 'withdraw'"
            ),
            params![path, now_ms()],
        )?;
        Ok(())
    }

    /// Work that is due now, oldest first.
    pub fn due(&self, limit: usize) -> AgentResult<Vec<FileRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE state IN ('send', 'withdraw') AND next_try <= ?1 ORDER BY since, path LIMIT ?2"
        ))?;
        Ok(stmt.query_map(params![now_ms(), limit as i64], row)?.collect::<Result<_, _>>()?)
    }

    /// What the heartbeat reports: how many files wait, the one waiting longest, and the files
    /// the server refused. Index walks, not a read of every row (a folder may hold 100,000).
    pub fn queue_summary(&self) -> AgentResult<(u64, Option<FileRow>, Vec<FileRow>)> {
        let conn = self.conn();
        let waiting: i64 =
            conn.query_row("SELECT count(*) FROM files WHERE state IN ('send', 'withdraw')", [], |r| {
                r.get(0)
            })?;
        let oldest = conn
            .query_row(
                &format!("{SELECT} WHERE state IN ('send', 'withdraw') ORDER BY since, path LIMIT 1"),
                [],
                row,
            )
            .optional()?;
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE state = 'failed' ORDER BY path"))?;
        let failed = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
        Ok((waiting as u64, oldest, failed))
    }

    /// The outcomes below apply only if the row is still the version that was sent: while an
    /// upload is in flight the file may change, go or come back, and that newer version must
    /// not be marked done by the older one's answer.
    fn update_sent(&self, sent: &FileRow, change: &str, extra: &[&dyn ToSql]) -> AgentResult<()> {
        let sql = format!(
            "{change} WHERE path = ?1 AND state = ?2 AND sha256 = ?3 AND mtime = ?4 AND caption IS ?5"
        );
        let version = params![sent.path, sent.state.as_str(), sent.sha256, sent.mtime, sent.caption];
        let mut args: Vec<&dyn ToSql> = version.to_vec();
        args.extend_from_slice(extra);
        self.conn().execute(&sql, args.as_slice())?;
        Ok(())
    }

    pub fn mark_synced(&self, sent: &FileRow) -> AgentResult<()> {
        self.update_sent(
            sent,
            "UPDATE files SET state = 'synced', attempts = 0, error = NULL, offline = 0",
            &[],
        )
    }

    /// The record was withdrawn on the server: the row has done its work.
    pub fn withdrawn(&self, sent: &FileRow) -> AgentResult<()> {
        self.update_sent(sent, "DELETE FROM files", &[])
    }

    /// A row whose path is not a valid relative path (written by an older version): dropped.
    pub fn forget(&self, path: &str) -> AgentResult<()> {
        self.conn().execute("DELETE FROM files WHERE path = ?1", [path])?;
        Ok(())
    }

    /// Path and hash of every file the server has acknowledged.
    pub fn synced(&self) -> AgentResult<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT path, sha256 FROM files WHERE state = 'synced'")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queues a synced file again, unless it has changed since (then it is queued already).
    pub fn resend(&self, path: &str, sha256: &str) -> AgentResult<bool> {
        let changed = self.conn().execute(
            "UPDATE files SET state = 'send', attempts = 0, next_try = 0, error = NULL, since = ?3
             WHERE path = ?1 AND sha256 = ?2 AND state = 'synced'",
            params![path, sha256, now_ms()],
        )?;
        Ok(changed > 0)
    }

    /// A failure worth retrying: back off exponentially (from the row's attempts), capped.
    /// `offline`: it failed because the server could not be reached.
    pub fn retry_later(&self, sent: &FileRow, error: &str, offline: bool) -> AgentResult<()> {
        let attempts = sent.attempts + 1;
        let next_try = now_ms() + (1000i64 << attempts.min(20)).min(MAX_BACKOFF_MS);
        self.update_sent(
            sent,
            "UPDATE files SET attempts = attempts + 1, next_try = ?6, error = ?7, offline = ?8",
            &[&next_try, &error, &offline],
        )
    }

    /// The server answered again: what backed off only because it could not be reached is due
    /// now, not at the end of its backoff. Returns how many.
    pub fn server_back(&self) -> AgentResult<usize> {
        Ok(self.conn().execute(
            "UPDATE files SET next_try = 0, attempts = 0, offline = 0
             WHERE offline = 1 AND state IN ('send', 'withdraw')",
            [],
        )?)
    }

    /// A new start: whatever an earlier run left backing off is due now.
    pub fn fresh_start(&self) -> AgentResult<()> {
        self.conn().execute(
            "UPDATE files SET next_try = 0, attempts = 0 WHERE state IN ('send', 'withdraw') AND next_try > 0",
            [],
        )?;
        Ok(())
    }

    /// Whether the state folder's disk has room again: a small file can be written there.
    pub fn has_room(&self) -> bool {
        let probe = self.folder.join("room-check.tmp");
        let written = std::fs::write(&probe, vec![0u8; ROOM_PROBE]);
        let _ = std::fs::remove_file(&probe);
        written.is_ok()
    }

    /// A refusal the clerk must fix (wrong folder, too large): kept until the file changes.
    pub fn mark_failed(&self, sent: &FileRow, error: &str) -> AgentResult<()> {
        self.update_sent(sent, "UPDATE files SET state = 'failed', error = ?6", &[&error])
    }
}

impl State {
    /// The resumable upload started for this version of the file, if any.
    pub fn upload_of(&self, path: &str, size: u64, mtime: i64) -> AgentResult<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT url FROM uploads WHERE path = ?1 AND size = ?2 AND mtime = ?3",
                params![path, size as i64, mtime],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Remembers the upload of this version of the file (replacing one of an older version).
    pub fn set_upload(&self, path: &str, size: u64, mtime: i64, url: &str) -> AgentResult<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO uploads (path, size, mtime, url) VALUES (?1, ?2, ?3, ?4)",
            params![path, size as i64, mtime, url],
        )?;
        Ok(())
    }

    pub fn clear_upload(&self, path: &str) -> AgentResult<()> {
        self.conn().execute("DELETE FROM uploads WHERE path = ?1", [path])?;
        Ok(())
    }
}

const SELECT: &str = "SELECT path, size, mtime, sha256, caption, state, attempts, error, since FROM files";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        path: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        mtime: r.get(2)?,
        sha256: r.get(3)?,
        caption: r.get(4)?,
        state: FileState::parse(r.get_ref(5)?.as_str()?),
        attempts: r.get(6)?,
        error: r.get(7)?,
        since: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_gone_withdraws_what_is_below_it_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        for path in ["08.03 x/a.pdf", "08.03 x/sub/b.pdf", "08.03 x/sub", "08.03 xy/c.pdf", "08.03 x.pdf"] {
            state.settled(path, 1, 1, "00", None).unwrap();
            state.mark_synced(&state.get(path).unwrap().unwrap()).unwrap();
        }
        state.gone_under("08.03 x").unwrap();
        let withdrawn: Vec<String> = state
            .all()
            .unwrap()
            .into_iter()
            .filter(|r| r.state == FileState::Withdraw)
            .map(|r| r.path)
            .collect();
        assert_eq!(withdrawn, ["08.03 x/a.pdf", "08.03 x/sub", "08.03 x/sub/b.pdf"]);
    }

    #[test]
    fn the_heartbeat_summary_counts_the_queue_and_lists_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let get = |p: &str| state.get(p).unwrap().unwrap();
        // a is sent, then leaves the folder: it waits to be withdrawn, longest of all.
        state.settled("08.03 x/a.pdf", 1, 1, "00", None).unwrap();
        state.mark_synced(&get("08.03 x/a.pdf")).unwrap();
        state.gone("08.03 x/a.pdf").unwrap();
        for path in ["08.03 x/b.pdf", "08.03 x/c.pdf", "08.03 x/d.pdf"] {
            state.settled(path, 1, 1, "00", None).unwrap();
        }
        state.mark_failed(&get("08.03 x/c.pdf"), "wrong folder").unwrap();
        let (waiting, oldest, failed) = state.queue_summary().unwrap();
        assert_eq!(waiting, 3);
        assert_eq!(oldest.unwrap().path, "08.03 x/a.pdf");
        let failed: Vec<_> = failed.iter().map(|r| (r.path.as_str(), r.error.as_deref())).collect();
        assert_eq!(failed, [("08.03 x/c.pdf", Some("wrong folder"))]);
    }

    #[test]
    fn the_answer_for_an_older_version_leaves_the_newer_one_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        state.settled("08.03 x/a.pdf", 1, 1, "aa", None).unwrap();
        let sent = state.get("08.03 x/a.pdf").unwrap().unwrap();
        // While it is uploading, the clerk saves a new version; then the old one's answer comes.
        state.settled("08.03 x/a.pdf", 2, 2, "bb", None).unwrap();
        state.mark_synced(&sent).unwrap();
        state.retry_later(&sent, "late", false).unwrap();
        let now = state.get("08.03 x/a.pdf").unwrap().unwrap();
        assert_eq!((now.sha256.as_str(), now.state, now.attempts), ("bb", FileState::Send, 0));
        // A withdrawal's answer does not delete a file that came back meanwhile.
        state.mark_synced(&now).unwrap();
        state.gone("08.03 x/a.pdf").unwrap();
        let withdrawing = state.get("08.03 x/a.pdf").unwrap().unwrap();
        state.settled("08.03 x/a.pdf", 2, 3, "bb", None).unwrap();
        state.withdrawn(&withdrawing).unwrap();
        assert_eq!(state.get("08.03 x/a.pdf").unwrap().unwrap().state, FileState::Send);
        // The answer for the current version applies.
        state.retry_later(&state.get("08.03 x/a.pdf").unwrap().unwrap(), "offline", true).unwrap();
        assert_eq!(state.get("08.03 x/a.pdf").unwrap().unwrap().attempts, 1);
    }

    #[test]
    fn what_waited_for_the_server_is_due_when_it_answers_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let get = |p: &str| state.get(p).unwrap().unwrap();
        state.settled("08.03 x/offline.pdf", 1, 1, "aa", None).unwrap();
        state.settled("08.03 x/busy.pdf", 1, 1, "bb", None).unwrap();
        for _ in 0..8 {
            state.retry_later(&get("08.03 x/offline.pdf"), "unreachable", true).unwrap();
        }
        state.retry_later(&get("08.03 x/busy.pdf"), "503", false).unwrap();
        assert!(state.due(10).unwrap().is_empty(), "both back off");
        assert_eq!(state.server_back().unwrap(), 1);
        let due: Vec<String> = state.due(10).unwrap().into_iter().map(|r| r.path).collect();
        assert_eq!(due, ["08.03 x/offline.pdf"]);
        // A state written before the column existed opens and gains it.
        drop(state);
        let again = State::open(dir.path()).unwrap();
        assert_eq!(again.server_back().unwrap(), 0);
    }
}
