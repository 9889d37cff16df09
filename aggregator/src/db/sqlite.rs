//! The database in SQLite, in the data folder: the embedded default.
//!
//! One connection behind a mutex, used from `spawn_blocking`: SQLite wants one writer, and the
//! async wrappers of rusqlite all pin older versions.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use yingjian_shared::{EvidenceEntry, Filed, ItemCode, Kind, RelPath, Sha256Hex};

use super::rules::{self, OnFile};
use super::{
    AuditEntry, Cell, Column, DbError, DbResult, FiledContacts, FiledHeartbeat, Holding, KEPT_GROUPS,
    KEPT_READING, NewBlob, ProblemFile, RecordAt, ReturnedFile, StatusData, TABLES, TokenRow, Version, codec,
    ms, ts,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/001_init.sql"),
    include_str!("../../migrations/002_status_index.sql"),
    include_str!("../../migrations/003_blob_refs.sql"),
    include_str!("../../migrations/004_holders_sessions.sql"),
    include_str!("../../migrations/005_reviews_notes.sql"),
    include_str!("../../migrations/006_blob_facts.sql"),
    include_str!("../../migrations/007_printed_pages.sql"),
    include_str!("../../migrations/008_readings.sql"),
    include_str!("../../migrations/009_counts.sql"),
    include_str!("../../migrations/010_kind_overrides.sql"),
    include_str!("../../migrations/011_hand_in.sql"),
    include_str!("../../migrations/012_blank_drops.sql"),
    include_str!("../../migrations/013_reading_topics.sql"),
];

mod counts;
mod office;
mod reading;

/// The statements of a connection, each parsed once: parsing a statement costs more than running
/// most of them (a session's lookup for every page a tab fetches).
trait Cached {
    fn query_row_cached<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn query_row_cached<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, row)
    }

    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let full =
            matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull);
        DbError::Engine { message: e.to_string(), full }
    }
}

#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Opens (or creates) the database and applies pending migrations.
    pub fn open(path: &Path) -> DbResult<Sqlite> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Status reads the whole evidence index: keep it in memory rather than re-reading pages
        // through the kernel on every request (a 32 MiB page cache, reads through mmap).
        conn.pragma_update(None, "cache_size", -32_768)?;
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Room for every statement written out here (`Cached`).
        conn.set_prepared_statement_cache_capacity(64);
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(DbError::NewerSchema { path: path.display().to_string(), version });
        }
        for (i, sql) in (1i64..).zip(MIGRATIONS).skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i)?;
            tx.commit()?;
        }
        Ok(Sqlite { conn: Arc::new(Mutex::new(conn)) })
    }

    /// The rows of every table (`super::TABLES`), for `migrate`.
    pub async fn counts(&self) -> DbResult<Vec<(&'static str, u64)>> {
        self.call(|c| {
            TABLES
                .iter()
                .map(|(table, _)| {
                    let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
                    Ok((*table, n as u64))
                })
                .collect()
        })
        .await
    }

    /// Reads a table's rows on a blocking thread and sends them in batches, a few batches ahead
    /// of the receiver at most, for `migrate`.
    pub fn stream_rows(
        &self,
        table: &'static str,
        columns: &'static [(&'static str, Column)],
        out: tokio::sync::mpsc::Sender<Vec<Vec<Cell>>>,
    ) -> tokio::task::JoinHandle<DbResult<()>> {
        const BATCH: usize = 1000;
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let mut stmt = c.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
            let mut rows = stmt.query([])?;
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(row) = rows.next()? {
                let cells = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| {
                        Ok(match kind {
                            Column::Int => Cell::Int(row.get(i)?),
                            Column::Text => Cell::Text(row.get(i)?),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Cell>>>()?;
                batch.push(cells);
                // A receiver gone has failed: it says why.
                if batch.len() == BATCH && out.blocking_send(std::mem::take(&mut batch)).is_err() {
                    return Ok(());
                }
            }
            if !batch.is_empty() {
                let _ = out.blocking_send(batch);
            }
            Ok(())
        })
    }

    /// Runs `f` on the connection on a blocking thread.
    async fn call<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
        .map_err(DbError::from)
    }

    // ── tokens ──────────────────────────────────────────────────────────────

    pub async fn insert_token(&self, hash: String, of: Option<String>, agent: String) -> DbResult<i64> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute_cached(
                "INSERT INTO tokens (hash, department, agent, created) VALUES (?1, ?2, ?3, ?4)",
                params![hash, of, agent, ms(Timestamp::now())],
            )?;
            let id = tx.last_insert_rowid();
            append_audit(
                &tx,
                &AuditEntry {
                    at: Timestamp::now(),
                    department: of.clone(),
                    agent: Some(agent.clone()),
                    host: None,
                    action: "token_create".into(),
                    detail: format!("token #{id}"),
                },
            )?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// The live (not revoked) token with this hash.
    pub async fn find_token(&self, hash: String) -> DbResult<Option<TokenRow>> {
        self.call(move |c| {
            c.query_row_cached(
                "SELECT id, department, agent, created, revoked FROM tokens WHERE hash = ?1 AND revoked IS NULL",
                [hash],
                token_row,
            )
            .optional()
        })
        .await
    }

    pub async fn list_tokens(&self) -> DbResult<Vec<TokenRow>> {
        self.call(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id, department, agent, created, revoked FROM tokens ORDER BY id")?;
            stmt.query_map([], token_row)?.collect()
        })
        .await
    }

    pub async fn revoked_tokens(&self) -> DbResult<Vec<i64>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM tokens WHERE revoked IS NOT NULL")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })
        .await
    }

    /// Opens a dashboard session for a token; `hash` is the SHA-256 of the cookie's session id.
    pub async fn create_session(&self, hash: String, token_id: i64, expires: Timestamp) -> DbResult<()> {
        self.call(move |c| {
            let now = ms(Timestamp::now());
            // Expired sessions go when new ones come: the table stays as small as its use.
            c.execute_cached("DELETE FROM sessions WHERE expires <= ?1", [now])?;
            c.execute_cached(
                "INSERT INTO sessions (hash, token_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![hash, token_id, now, ms(expires)],
            )?;
            Ok(())
        })
        .await
    }

    /// The live token behind an unexpired session.
    pub async fn find_session(&self, hash: String) -> DbResult<Option<TokenRow>> {
        // A subquery, not a join: SQLite prepares this join again at every run (measured with
        // `StatementStatus::RePrepare`), and a session is looked up for every page a tab fetches.
        self.call(move |c| {
            c.query_row_cached(
                "SELECT id, department, agent, created, revoked FROM tokens WHERE revoked IS NULL
                 AND id = (SELECT token_id FROM sessions WHERE hash = ?1 AND expires > ?2)",
                params![hash, ms(Timestamp::now())],
                token_row,
            )
            .optional()
        })
        .await
    }

    /// Ends a session (logout); false if there was none.
    pub async fn delete_session(&self, hash: String) -> DbResult<bool> {
        self.call(move |c| Ok(c.execute_cached("DELETE FROM sessions WHERE hash = ?1", [hash])? > 0)).await
    }

    /// Revokes a token and ends its sessions; false if there was no live token with that id.
    pub async fn revoke_token(&self, id: i64) -> DbResult<bool> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute_cached(
                "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                params![id, ms(Timestamp::now())],
            )?;
            if n > 0 {
                tx.execute_cached("DELETE FROM sessions WHERE token_id = ?1", [id])?;
                let department: Option<String> =
                    tx.query_row_cached("SELECT department FROM tokens WHERE id = ?1", [id], |r| r.get(0))?;
                append_audit(
                    &tx,
                    &AuditEntry {
                        at: Timestamp::now(),
                        department,
                        agent: None,
                        host: None,
                        action: "token_revoke".into(),
                        detail: format!("token #{id}"),
                    },
                )?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    // ── blobs ───────────────────────────────────────────────────────────────

    /// Size of a stored blob and its sniffed content type.
    pub async fn blob(&self, sha256: String) -> DbResult<Option<(u64, Option<String>)>> {
        self.call(move |c| {
            c.query_row_cached("SELECT size, magic FROM blobs WHERE sha256 = ?1", [sha256], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .optional()
        })
        .await
    }

    /// The blob if `department` has delivered it itself: what a department may see.
    pub async fn held_for_filing(&self, version: Version) -> DbResult<Option<Holding>> {
        let Version { department, path, sha256 } = version;
        self.call(move |c| {
            c.query_row_cached(
                "SELECT b.size, b.magic, (SELECT kind FROM kind_overrides o WHERE o.department = ?1 AND o.path = ?3)
                 FROM blob_holders h JOIN blobs b ON b.sha256 = h.sha256 WHERE h.department = ?1 AND h.sha256 = ?2",
                [department, sha256, path],
                |r| {
                    Ok(Holding {
                        size: r.get::<_, i64>(0)? as u64,
                        magic: r.get(1)?,
                        kind: r.get::<_, Option<String>>(2)?.as_deref().and_then(Kind::from_wire),
                    })
                },
            )
            .optional()
        })
        .await
    }

    pub async fn held_blob(
        &self,
        department: String,
        sha256: String,
    ) -> DbResult<Option<(u64, Option<String>)>> {
        self.call(move |c| {
            c.query_row_cached(
                "SELECT b.size, b.magic FROM blob_holders h JOIN blobs b ON b.sha256 = h.sha256
                 WHERE h.department = ?1 AND h.sha256 = ?2",
                [department, sha256],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
        })
        .await
    }

    pub async fn insert_blob(&self, blob: NewBlob, actor: AuditEntry) -> DbResult<bool> {
        let NewBlob { sha256, size, magic } = blob;
        self.call(move |c| {
            let tx = c.transaction()?;
            let now = ms(Timestamp::now());
            let created = tx.execute_cached(
                "INSERT OR IGNORE INTO blobs (sha256, size, magic, stored) VALUES (?1, ?2, ?3, ?4)",
                params![sha256, size as i64, magic, now],
            )? > 0;
            let new_holder = tx.execute_cached(
                "INSERT OR IGNORE INTO blob_holders (department, sha256, since) VALUES (?1, ?2, ?3)",
                params![actor.department, sha256, now],
            )? > 0;
            if let Some(entry) = rules::delivered(created, new_holder, actor) {
                append_audit(&tx, &entry)?;
            }
            tx.commit()?;
            Ok(created)
        })
        .await
    }

    /// Every blob the database knows, for `scrub`.
    pub async fn all_blobs(&self) -> DbResult<Vec<(String, u64)>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT sha256, size FROM blobs ORDER BY sha256")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?.collect()
        })
        .await
    }

    // ── evidence ────────────────────────────────────────────────────────────

    /// Files a record; false when an identical one was already on file (a re-send).
    pub async fn upsert_evidence(&self, row: EvidenceEntry, host: Option<String>) -> DbResult<bool> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let on_file: Option<OnFile> = tx
                .query_row_cached(
                    "SELECT sha256, modified, caption FROM evidence WHERE department = ?1 AND agent = ?2 AND path = ?3",
                    params![row.department, row.agent, row.path.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if rules::is_resend(on_file.as_ref(), &row) {
                return Ok(false);
            }
            tx.execute_cached(
                "INSERT INTO evidence (department, agent, path, sha256, size, modified, caption, placement, item, kind, problem, received)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (department, agent, path) DO UPDATE SET
                   sha256 = excluded.sha256, size = excluded.size, modified = excluded.modified,
                   caption = excluded.caption, placement = excluded.placement, item = excluded.item,
                   kind = excluded.kind, problem = excluded.problem, received = excluded.received",
                params![
                    row.department, row.agent, row.path.as_str(), row.sha256.as_str(), row.size as i64,
                    ms(row.modified), row.caption, row.placement.wire(), row.item.map(|c| c.to_string()),
                    row.kind.map(Kind::wire), row.problem, ms(row.received)
                ],
            )?;
            append_audit(&tx, &rules::filed(&row, host, on_file.is_some()))?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn withdraw_evidence(&self, record: RecordAt, host: Option<String>) -> DbResult<bool> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let sha: Option<String> = tx
                .query_row_cached(
                    "DELETE FROM evidence WHERE department = ?1 AND agent = ?2 AND path = ?3 RETURNING sha256",
                    params![record.department, record.agent, record.path],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(sha) = &sha {
                append_audit(&tx, &rules::withdrawn(record, sha, host))?;
            }
            tx.commit()?;
            Ok(sha.is_some())
        })
        .await
    }

    /// Current evidence, optionally of one department, in path order.
    pub async fn evidence(&self, department: Option<String>) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("?1 IS NULL OR department = ?1", vec![department]).await
    }

    /// One department's records for one item (the item page).
    pub async fn evidence_of_item(&self, department: String, item: String) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("department = ?1 AND item = ?2", vec![Some(department), Some(item)]).await
    }

    /// The records that point at one blob.
    pub async fn records_of_blob(&self, sha256: String) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("sha256 = ?1", vec![Some(sha256)]).await
    }

    async fn select_evidence(
        &self,
        filter: &'static str,
        args: Vec<Option<String>>,
    ) -> DbResult<Vec<EvidenceEntry>> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT department, agent, path, sha256, size, modified, caption, placement, item, kind, problem, received
                 FROM evidence WHERE {filter} ORDER BY department, path, agent"
            ))?;
            stmt.query_map(rusqlite::params_from_iter(args), |r| {
                Ok(EvidenceEntry {
                    department: r.get(0)?,
                    agent: r.get(1)?,
                    path: parsed(r, 2, |t| RelPath::parse(t).ok())?,
                    sha256: parsed(r, 3, |t| Sha256Hex::parse(t).ok())?,
                    size: r.get::<_, i64>(4)? as u64,
                    modified: ts(r.get(5)?),
                    caption: r.get(6)?,
                    placement: parsed(r, 7, Filed::from_wire)?,
                    item: r.get::<_, Option<String>>(8)?.and_then(|c| c.parse::<ItemCode>().ok()),
                    kind: r.get::<_, Option<String>>(9)?.as_deref().and_then(Kind::from_wire),
                    problem: r.get(10)?,
                    received: ts(r.get(11)?),
                })
            })?
            .collect()
        })
        .await
    }

    /// What completeness needs, read in one transaction.
    pub async fn status_data(&self) -> DbResult<StatusData> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut data = StatusData::default();
            {
                let kept = counts::counts(&tx, KEPT_GROUPS, KEPT_READING)?;
                (data.groups, data.analysis) = (kept.groups, kept.reading);
                let mut stmt = tx.prepare_cached(
                    "SELECT department, item, path, problem FROM evidence WHERE problem IS NOT NULL ORDER BY department, path",
                )?;
                data.problems = stmt
                    .query_map([], |r| {
                        Ok(ProblemFile { department: r.get(0)?, item: r.get(1)?, path: r.get(2)?, problem: r.get(3)? })
                    })?
                    .collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached("SELECT department, path FROM evidence WHERE placement = 'case'")?;
                data.case_paths = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached(
                    // The shared blobs first (CROSS JOIN keeps that order), then their records.
                    "SELECT e.sha256, e.department, e.path FROM blobs b INDEXED BY blobs_shared
                     CROSS JOIN evidence e WHERE e.sha256 = b.sha256
                     AND b.refs > 1 ORDER BY e.sha256, e.department, e.path",
                )?;
                data.duplicates =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached("SELECT department, agent, at, body FROM heartbeats")?;
                data.heartbeats = stmt
                    .query_map([], |r| {
                        let (department, agent, at) = (r.get(0)?, r.get(1)?, ts(r.get(2)?));
                        Ok(FiledHeartbeat { department, agent, at, heartbeat: codec::json(&r.get::<_, String>(3)?) })
                    })?
                    .collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached("SELECT department, body, updated FROM contacts")?;
                data.contacts = stmt
                    .query_map([], |r| {
                        let (department, updated) = (r.get(0)?, ts(r.get(2)?));
                        Ok(FiledContacts { department, contacts: codec::json(&r.get::<_, String>(1)?), updated })
                    })?
                    .collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached(
                    // Answered: the returned version is gone from the path, or since the return a
                    // newer version was filed at the path (from any PC of the department, or the
                    // browser) or a caption given to it (a picture returned for lacking one).
                    "SELECT r.department, r.path, r.item, r.placement, r.reason, r.at,
                       NOT EXISTS (SELECT 1 FROM evidence e INDEXED BY evidence_path
                                   WHERE e.department = r.department AND e.path = r.path AND e.sha256 = r.sha256)
                       OR EXISTS (SELECT 1 FROM evidence e INDEXED BY evidence_path
                                  WHERE e.department = r.department AND e.path = r.path
                                    AND (e.sha256 != r.sha256 OR e.caption IS NOT NULL) AND e.received > r.at)
                     FROM reviews r WHERE r.verdict = 'returned' ORDER BY r.department, r.path",
                )?;
                data.returned = stmt
                    .query_map([], |r| {
                        Ok(ReturnedFile {
                            department: r.get(0)?,
                            path: r.get(1)?,
                            item: r.get(2)?,
                            placement: parsed(r, 3, Filed::from_wire)?,
                            reason: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                            at: ts(r.get(5)?),
                            answered: r.get(6)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                let mut stmt = tx.prepare_cached("SELECT department, item, text FROM notes")?;
                data.notes =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            }
            tx.commit()?;
            Ok(data)
        })
        .await
    }
}

/// A column that holds what the server wrote itself, read back as its type.
fn parsed<T>(r: &rusqlite::Row<'_>, i: usize, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text = r.get_ref(i)?.as_str()?;
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, format!("{text:?}").into())
    })
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        department: r.get(1)?,
        agent: r.get(2)?,
        created: ts(r.get(3)?),
        revoked: r.get::<_, Option<i64>>(4)?.map(ts),
    })
}

fn append_audit(c: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    c.execute_cached(
        "INSERT INTO audit (at, department, agent, host, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ms(e.at), e.department, e.agent, e.host, e.action, e.detail],
    )?;
    Ok(())
}
