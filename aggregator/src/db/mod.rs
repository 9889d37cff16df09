//! The aggregator's database: the only module that speaks SQL. `Db` asks its questions of one
//! of two engines: `sqlite` (the embedded default, a file in the data folder) or `postgres`
//! (`[database] url`, for several instances sharing one deployment). No engine's type leaves
//! this module: it answers with plain rows and is asked plain changes (`rows`), and what an
//! answer means — a re-send, the audit entry a change writes — is decided once (`rules`).

mod carry;
mod codec;
mod postgres;
mod rows;
mod rules;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;

use crate::facts::Facts;
use jiff::Timestamp;
use yingjian_shared::{Analysis, AuditRecord, EvidenceEntry, HeldFile, KindChange, Note, Review};

pub use carry::{Cell, Column, Copied, NOT_CARRIED, TABLES};
pub use rows::{
    AuditEntry, Correction, Counts, EvidenceGroup, FileVerdict, FiledContacts, FiledHeartbeat, Holding,
    NewBlob, OfficeMark, ProblemFile, Problems, RecordAt, Recount, ReturnedFile, SearchRow, SendChoiceRow,
    StatusData, TokenRow, Version,
};

use postgres::Postgres;
use sqlite::Sqlite;

/// What can go wrong with the database. No engine's own type leaves this module: callers ask
/// `is_full` rather than read SQLite codes, so another engine can stand behind `Db`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{}", engine_message(*.full, .message))]
    Engine { message: String, full: bool },
    #[error(
        "the database {path} is from a newer version of yingjian-aggregator (schema {version}): upgrade the aggregator"
    )]
    NewerSchema { path: String, version: i64 },
    #[error("a database task stopped: {0}")]
    Task(String),
    /// The settings do not make a connection (a bad URL, an unreadable CA file).
    #[error("{0}")]
    Setup(String),
}

impl DbError {
    /// The disk under the database is full: the one database failure the office can fix.
    pub fn is_full(&self) -> bool {
        matches!(self, DbError::Engine { full: true, .. })
    }
}

fn engine_message(full: bool, message: &str) -> String {
    if full {
        "the server's disk is full: the office must free space; agents retry by themselves".into()
    } else {
        format!("database: {message}")
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// The database, whichever engine holds it.
#[derive(Clone)]
pub struct Db {
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

/// The counts as the triggers keep them, the same SQL on both engines: the columns in the order
/// the engines' `counts` read them.
const KEPT_GROUPS: &str =
    "SELECT department, placement, item, kind, files, late, last_received FROM evidence_counts";
const KEPT_READING: &str = "SELECT class, blobs FROM reading_counts";

/// Reading progress from the rows of `reading_counts` (class, blobs).
fn analysis_of(rows: impl IntoIterator<Item = (String, i64)>) -> Analysis {
    let mut a = Analysis::default();
    for (class, blobs) in rows {
        let n = blobs.max(0) as u64;
        match class.as_str() {
            "queued" => a.queued += n,
            "done" => a.done += n,
            "failed" => a.failed += n,
            _ => {}
        }
    }
    a
}

/// A key column of `evidence_counts`: '' stands for none.
fn unkeyed(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn ts(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Db {
    /// Opens (or creates) the SQLite database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> DbResult<Db> {
        Ok(Db { engine: Engine::Sqlite(Sqlite::open(path)?) })
    }

    /// Connects to PostgreSQL (`postgres://user:password@host/db`, TLS with `?sslmode=require`,
    /// checked against the CA file `ca` or the system's roots) and applies pending migrations.
    pub fn open_postgres(url: &str, ca: Option<&Path>) -> DbResult<Db> {
        Ok(Db { engine: Engine::Postgres(Postgres::open(url, ca)?) })
    }
}

impl Db {
    /// Whether changes are announced through the database (PostgreSQL's `NOTIFY`), for other
    /// instances to hear, rather than within this process alone.
    pub fn announces(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// Announces a change to every instance; nothing to do on SQLite.
    pub async fn announce(&self, payload: String) -> DbResult<()> {
        match &self.engine {
            Engine::Sqlite(_) => Ok(()),
            Engine::Postgres(pg) => pg.announce(payload).await,
        }
    }

    /// Waits until no other instance holds `lock` and holds it until the answer is dropped
    /// (PostgreSQL's advisory locks); on SQLite, with one instance, at once.
    pub async fn exclusive(&self, lock: Lock) -> DbResult<Exclusive> {
        match &self.engine {
            Engine::Sqlite(_) => Ok(Exclusive { _held: None }),
            Engine::Postgres(pg) => Ok(Exclusive { _held: Some(pg.exclusive(lock as i64).await?) }),
        }
    }

    /// Hears every instance's announcements until `stop` (`None`: some may have been missed);
    /// returns at once on SQLite, which has none.
    pub async fn listen(
        &self,
        stop: tokio_util::sync::CancellationToken,
        heard: impl FnMut(Option<String>) + Send,
    ) {
        if let Engine::Postgres(pg) = &self.engine {
            pg.listen(stop, heard).await;
        }
    }
}

/// What only one instance at a time may do.
#[derive(Debug, Clone, Copy)]
pub enum Lock {
    /// Building a bundle (the API, the 打包 page, the nightly job on every instance).
    Bundle = 0x7969_0001,
}

/// Held until dropped.
pub struct Exclusive {
    _held: Option<postgres::Held>,
}

/// Every question `Db` answers, each asked of the engine behind it.
macro_rules! questions {
    ($( $(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        impl Db {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.engine {
                        Engine::Sqlite(e) => e.$name($($arg),*).await,
                        Engine::Postgres(e) => e.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

questions! {
    // ── tokens and sessions ─────────────────────────────────────────────────
    /// Stores a new token's hash, audited; its id.
    fn insert_token(&self, hash: String, of: Option<String>, agent: String) -> DbResult<i64>;
    /// The live (not revoked) token with this hash.
    fn find_token(&self, hash: String) -> DbResult<Option<TokenRow>>;
    fn list_tokens(&self) -> DbResult<Vec<TokenRow>>;
    /// The ids of every revoked token: open event streams ask now and then (`AppState::revoked`).
    fn revoked_tokens(&self) -> DbResult<Vec<i64>>;
    /// Opens a dashboard session for a token; `hash` is the SHA-256 of the cookie's session id.
    fn create_session(&self, hash: String, token_id: i64, expires: Timestamp) -> DbResult<()>;
    /// The live token behind an unexpired session.
    fn find_session(&self, hash: String) -> DbResult<Option<TokenRow>>;
    /// Ends a session (logout); false if there was none.
    fn delete_session(&self, hash: String) -> DbResult<bool>;
    /// Revokes a token and ends its sessions; false if there was no live token with that id.
    fn revoke_token(&self, id: i64) -> DbResult<bool>;

    // ── blobs ───────────────────────────────────────────────────────────────
    /// Size of a stored blob and its sniffed content type.
    fn blob(&self, sha256: String) -> DbResult<Option<(u64, Option<String>)>>;
    /// What filing a record of `department` at `path` for a blob needs, in one question: the
    /// blob if the department delivered it itself, and the 类别 the office gave the path.
    fn held_for_filing(&self, version: Version) -> DbResult<Option<Holding>>;
    /// The blob if `department` has delivered it itself: what a department may see.
    fn held_blob(&self, department: String, sha256: String) -> DbResult<Option<(u64, Option<String>)>>;
    /// Records that `actor.department` delivered a blob that is now stored under its final
    /// name; true when the content is new to the store. Audited as `upload` when it is, as
    /// `upload_existing` when only the department is new to it (it proved it holds the bytes),
    /// not at all for a re-send.
    fn insert_blob(&self, blob: NewBlob, actor: AuditEntry) -> DbResult<bool>;
    /// Every blob the database knows, for `scrub`.
    fn all_blobs(&self) -> DbResult<Vec<(String, u64)>>;
    /// Up to `limit` blobs that some record points at and that this `version` of the reader
    /// has not read yet, oldest first.
    fn unread_blobs(&self, version: i64, limit: u32) -> DbResult<Vec<(String, u64)>>;
    /// Keeps what was read in a blob, and its text for search.
    fn set_reading(&self, sha256: String, facts: Facts, text: String, version: i64) -> DbResult<()>;
    /// What was read in every blob some record points at (queued ones are absent).
    fn facts(&self) -> DbResult<HashMap<String, Facts>>;
    /// The records held back for a 密级 mark the office has not released, of one department
    /// or all, in path order.
    fn held(&self, department: Option<String>) -> DbResult<Vec<HeldFile>>;
    /// The office's corrections of fields.
    fn corrections(&self) -> DbResult<Vec<Correction>>;
    /// Records (or, with an empty value, drops) a correction, audited.
    fn correct(&self, correction: Correction, actor: AuditEntry) -> DbResult<()>;
    /// (department, path, sha256) of every file the office gave this mark.
    fn marks(&self, mark: OfficeMark) -> DbResult<Vec<(String, String, String)>>;
    /// Gives (or takes back) the mark on a version of a department's file, audited.
    fn set_mark(&self, mark: OfficeMark, of: Version, on: bool, actor: AuditEntry) -> DbResult<()>;
    /// Records whose name, caption or read text contains `needle` (any case), of one
    /// department or all, at most `limit`.
    fn search(&self, needle: String, of: Option<String>, limit: u32) -> DbResult<Vec<SearchRow>>;
    /// The pages each content took in the print of record made now, and the state it was of.
    fn set_printed_pages(&self, printed: Vec<(String, u32)>, fingerprint: String) -> DbResult<()>;
    /// The state the print of record was of, and when it was made.
    fn print_record(&self) -> DbResult<Option<(String, Timestamp)>>;

    // ── evidence ────────────────────────────────────────────────────────────
    /// Files a record; false when an identical one was already on file (a re-send).
    fn upsert_evidence(&self, row: EvidenceEntry, host: Option<String>) -> DbResult<bool>;
    /// Withdraws a record; false if there was none.
    fn withdraw_evidence(&self, record: RecordAt, host: Option<String>) -> DbResult<bool>;
    /// Current evidence, optionally of one department, in path order.
    fn evidence(&self, department: Option<String>) -> DbResult<Vec<EvidenceEntry>>;
    /// One department's records for one item (the item page).
    fn evidence_of_item(&self, department: String, item: String) -> DbResult<Vec<EvidenceEntry>>;
    /// The records that point at one blob.
    fn records_of_blob(&self, sha256: String) -> DbResult<Vec<EvidenceEntry>>;
    /// What completeness needs, read in one transaction.
    fn status_data(&self) -> DbResult<StatusData>;
    /// Makes the kept counts those against this evidence deadline and reader version, counting
    /// every record again when either changed (or `Recount::Always`); true when it did.
    fn count_against(&self, deadline: Timestamp, reader: i64, when: Recount) -> DbResult<bool>;
    /// The counts as kept.
    fn status_counts(&self) -> DbResult<Counts>;
    /// The counts as kept, and counted again from the records, both of one snapshot (a server
    /// may be writing meanwhile): for `scrub` and the tests.
    fn kept_and_counted(&self) -> DbResult<(Counts, Counts)>;

    // ── heartbeats, contacts, reviews, audit ────────────────────────────────
    /// Files a PC's heartbeat; answers the one it replaces (when it came, its body as filed).
    fn put_heartbeat(&self, department: String, agent: String, body: String)
    -> DbResult<Option<(Timestamp, String)>>;
    fn put_contacts(&self, department: String, body: String, actor: AuditEntry) -> DbResult<()>;
    /// A department's contacts as filed (JSON), if any.
    fn contacts_of(&self, department: String) -> DbResult<Option<String>>;
    /// Records the office's verdict on the current version of a department's file (the newest
    /// record at that path, whichever PC filed it), or takes it back (`Verdict::Cleared`); the
    /// review names the department by its id, and its reason is kept as it is.
    /// False when there is nothing to review: no such record, or no verdict to take back.
    fn review(&self, review: Review, actor: AuditEntry) -> DbResult<bool>;
    /// Gives a department's file a 类别, audited: kept for the path, and set on its records
    /// (each agent's, with the problem that kind gives it).
    fn set_kind(&self, change: KindChange, problems: Problems, actor: AuditEntry) -> DbResult<()>;
    /// The office's choices for questioned files before the hand-in.
    fn send_choices(&self) -> DbResult<Vec<SendChoiceRow>>;
    /// Records (or, with `None`, takes back) the office's choice for a version of a file, audited.
    fn choose_send(&self, of: Version, send: Option<bool>, actor: AuditEntry) -> DbResult<()>;
    /// The office's verdicts on a department's files, by path.
    fn verdicts(&self, department: String) -> DbResult<HashMap<String, FileVerdict>>;
    /// Sets (or, with an empty text, clears) the office's note on a department's item (by its id).
    fn note(&self, note: Note, actor: AuditEntry) -> DbResult<()>;
    /// Logs something that changed nothing else in the database (a bundle built or failed).
    fn log(&self, entry: AuditEntry) -> DbResult<()>;
    /// Audit entries, newest first.
    fn audit(&self, limit: u32, before_id: Option<i64>) -> DbResult<Vec<AuditRecord>>;
    /// The newest `limit` audit entries of one `action` (e.g. `bundle`, as `Bundles::build`
    /// logs it: `name (trigger) complete=x/y`): when, and the detail.
    fn audit_of(&self, action: &'static str, limit: u32) -> DbResult<Vec<(Timestamp, String)>>;
}
