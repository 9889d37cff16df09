//! The aggregator's database: the only module that speaks SQL. `Db` asks its questions of one
//! of two engines: `sqlite` (the embedded default, a file in the data folder) or `postgres`
//! (`[database] url`, for several instances sharing one deployment). No engine's type leaves
//! this module.

mod codec;
mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;

use crate::facts::Facts;
use jiff::Timestamp;
use yingjian_shared::{Analysis, AuditRecord, EvidenceEntry, FieldName, HeldFile, Kind, Verdict};

use postgres::Postgres;
use sqlite::Sqlite;

/// The office's correction of one field of one version of a department's file.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub department: String,
    pub path: String,
    pub sha256: String,
    pub field: FieldName,
    /// Empty: the correction is taken back.
    pub value: String,
}

/// A record that matched a search, with the text around the first match in its read text.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    pub department: String,
    pub path: String,
    pub item: Option<String>,
    pub caption: Option<String>,
    pub doc_number: Option<String>,
    pub title: Option<String>,
    /// About 80 characters of the read text around the match, when the match is there.
    pub around: Option<String>,
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    /// `None` for the office.
    pub department: Option<String>,
    pub agent: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// An entry for the audit log, written in the transaction of the change it records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub department: Option<String>,
    pub agent: Option<String>,
    pub host: Option<String>,
    pub action: String,
    pub detail: String,
}

impl AuditEntry {
    /// Something the server did by itself (a bundle build, the nightly run), now.
    pub fn by_server(action: &str, detail: String) -> AuditEntry {
        AuditEntry {
            at: Timestamp::now(),
            department: None,
            agent: None,
            host: None,
            action: action.into(),
            detail,
        }
    }
}

/// The office's verdict on a department's file, and the version (sha256) it was given to.
#[derive(Debug, Clone, PartialEq)]
pub struct FileVerdict {
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub sha256: String,
}

/// A blob a department delivered, as a record of it is filed at a path.
#[derive(Debug)]
pub struct Holding {
    pub size: u64,
    /// The sniffed content type.
    pub magic: Option<String>,
    /// The 类别 the office gave the path, over what its folder says.
    pub kind: Option<Kind>,
}

/// Evidence counted by department, placement, item and kind: what completeness needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceGroup {
    pub department: String,
    pub placement: String,
    pub item: Option<String>,
    pub kind: Option<String>,
    pub files: u64,
    pub last_received: Timestamp,
    pub late: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProblemFile {
    pub department: String,
    pub item: Option<String>,
    pub path: String,
    pub problem: String,
}

/// The office's choice for one version of a questioned file (`send_choices`).
#[derive(Debug, Clone, PartialEq)]
pub struct SendChoiceRow {
    pub department: String,
    pub path: String,
    pub sha256: String,
    pub send: bool,
}

/// A file the office returned, as completeness reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedFile {
    pub department: String,
    pub path: String,
    /// `None` for a report or a typical case.
    pub item: Option<String>,
    pub placement: String,
    pub reason: String,
    pub at: Timestamp,
    /// No record of the version that was returned is on file any more.
    pub answered: bool,
}

/// The status document's counts, kept by triggers with every change (migrations/009_counts.sql),
/// or counted again from the records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    /// In (department, placement, item, kind) order.
    pub groups: Vec<EvidenceGroup>,
    pub reading: Analysis,
}

impl Counts {
    /// Where the counts kept (`self`) differ from those counted again, one line each.
    pub fn differences(&self, recounted: &Counts) -> Vec<String> {
        let key =
            |g: &EvidenceGroup| (g.department.clone(), g.placement.clone(), g.item.clone(), g.kind.clone());
        let kept: HashMap<_, _> = self.groups.iter().map(|g| (key(g), g)).collect();
        let counted: HashMap<_, _> = recounted.groups.iter().map(|g| (key(g), g)).collect();
        let mut out: Vec<String> = kept
            .keys()
            .chain(counted.keys().filter(|k| !kept.contains_key(*k)))
            .filter(|k| kept.get(*k) != counted.get(*k))
            .map(|k| format!("counts of {k:?}: kept {:?}, counted {:?}", kept.get(k), counted.get(k)))
            .collect();
        out.sort();
        if self.reading != recounted.reading {
            out.push(format!("reading counts: kept {:?}, counted {:?}", self.reading, recounted.reading));
        }
        out
    }
}

/// When `count_against` counts every record again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recount {
    /// Only when the deadline or the reader changed: at start.
    IfChanged,
    /// `scrub`, repairing counts it found wrong.
    Always,
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

/// Everything `completeness` reads, fetched in one transaction so it is consistent.
#[derive(Debug, Default, Clone)]
pub struct StatusData {
    pub groups: Vec<EvidenceGroup>,
    pub analysis: Analysis,
    pub problems: Vec<ProblemFile>,
    /// (department, path) of every typical-case file.
    pub case_paths: Vec<(String, String)>,
    /// (sha256, department, path) of content filed more than once, ordered by hash.
    pub duplicates: Vec<(String, String, String)>,
    /// (department, agent, at, body JSON).
    pub heartbeats: Vec<(String, String, Timestamp, String)>,
    /// (department, body JSON, updated).
    pub contacts: Vec<(String, String, Timestamp)>,
    pub returned: Vec<ReturnedFile>,
    /// (department, item, text).
    pub notes: Vec<(String, String, String)>,
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

/// A value of a table's column, as `migrate` carries it from one engine to the other.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Whether a column holds whole numbers (times, sizes, ids) or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Int,
    Text,
}

/// What the migrations make and `migrate` does not carry, as `table` or `table.column`: what the
/// target derives itself (`blobs.refs`, counted as the records arrive; the status counts,
/// counted at the end of the copy) and PostgreSQL's record of its migrations. The tests hold
/// every other column of either schema to `TABLES`.
pub const NOT_CARRIED: &[&str] =
    &["blobs.refs", "count_basis", "evidence_counts", "reading_counts", "schema_version"];

/// Every table and its columns, in an order that satisfies the foreign keys; see `NOT_CARRIED`.
pub const TABLES: &[(&str, &[(&str, Column)])] = {
    use Column::{Int, Text};
    &[
        (
            "tokens",
            &[
                ("id", Int),
                ("hash", Text),
                ("department", Text),
                ("agent", Text),
                ("created", Int),
                ("revoked", Int),
            ],
        ),
        (
            "blobs",
            &[
                ("sha256", Text),
                ("size", Int),
                ("magic", Text),
                ("stored", Int),
                ("pages", Int),
                ("doc_date", Text),
                ("examined", Int),
                ("printed_pages", Int),
            ],
        ),
        (
            "evidence",
            &[
                ("id", Int),
                ("department", Text),
                ("agent", Text),
                ("path", Text),
                ("sha256", Text),
                ("size", Int),
                ("modified", Int),
                ("caption", Text),
                ("placement", Text),
                ("item", Text),
                ("kind", Text),
                ("problem", Text),
                ("received", Int),
            ],
        ),
        (
            "audit",
            &[
                ("id", Int),
                ("at", Int),
                ("department", Text),
                ("agent", Text),
                ("host", Text),
                ("action", Text),
                ("detail", Text),
            ],
        ),
        ("heartbeats", &[("department", Text), ("agent", Text), ("at", Int), ("body", Text)]),
        ("contacts", &[("department", Text), ("body", Text), ("updated", Int)]),
        ("blob_holders", &[("department", Text), ("sha256", Text), ("since", Int)]),
        ("sessions", &[("hash", Text), ("token_id", Int), ("created", Int), ("expires", Int)]),
        (
            "reviews",
            &[
                ("department", Text),
                ("path", Text),
                ("sha256", Text),
                ("placement", Text),
                ("item", Text),
                ("verdict", Text),
                ("reason", Text),
                ("at", Int),
            ],
        ),
        ("notes", &[("department", Text), ("item", Text), ("text", Text), ("at", Int)]),
        (
            "readings",
            &[
                ("sha256", Text),
                ("version", Int),
                ("state", Text),
                ("text_source", Text),
                ("pages", Int),
                ("doc_number", Text),
                ("issuer", Text),
                ("doc_date", Text),
                ("title", Text),
                ("classification", Text),
                ("quality", Text),
                ("signature", Text),
                ("failure", Text),
                ("read_at", Int),
                ("topics", Text),
            ],
        ),
        ("reading_text", &[("sha256", Text), ("body", Text)]),
        (
            "corrections",
            &[
                ("department", Text),
                ("path", Text),
                ("sha256", Text),
                ("field", Text),
                ("value", Text),
                ("at", Int),
            ],
        ),
        ("hold_releases", &[("department", Text), ("path", Text), ("sha256", Text), ("at", Int)]),
        ("blank_drops", &[("department", Text), ("path", Text), ("sha256", Text), ("at", Int)]),
        ("kind_overrides", &[("department", Text), ("path", Text), ("kind", Text), ("at", Int)]),
        ("print_record", &[("id", Int), ("fingerprint", Text), ("at", Int)]),
        (
            "send_choices",
            &[("department", Text), ("path", Text), ("sha256", Text), ("choice", Text), ("at", Int)],
        ),
    ]
};

/// What `copy_into` did: the rows of each table, as counted in both databases afterwards.
#[derive(Debug, Clone, PartialEq)]
pub enum Copied {
    Copied(Vec<(&'static str, u64)>),
    /// The target already held exactly this state (an earlier run finished).
    AlreadyThere(Vec<(&'static str, u64)>),
}

impl Db {
    /// Copies every row of this SQLite database into an empty PostgreSQL one, in one
    /// transaction (an interrupted copy leaves nothing, and is simply run again), and checks
    /// that every table then has as many rows on both sides.
    pub async fn copy_into(&self, target: &Db) -> DbResult<Copied> {
        let (Engine::Sqlite(from), Engine::Postgres(to)) = (&self.engine, &target.engine) else {
            return Err(DbError::Engine {
                message: "migrate copies a SQLite database into a PostgreSQL one".into(),
                full: false,
            });
        };
        let counts = from.counts().await?;
        match to.counts().await? {
            there if there == counts => return Ok(Copied::AlreadyThere(counts)),
            there if there.iter().any(|(_, n)| *n > 0) => {
                return Err(DbError::Engine {
                    message: format!(
                        "the PostgreSQL database already holds another state ({there:?}): migrate only into an empty one"
                    ),
                    full: false,
                });
            }
            _ => {}
        }
        to.insert_all(from).await?;
        let copied = to.counts().await?;
        if copied != counts {
            return Err(DbError::Engine {
                message: format!(
                    "after the copy the counts differ: {counts:?} in SQLite, {copied:?} in PostgreSQL"
                ),
                full: false,
            });
        }
        Ok(Copied::Copied(copied))
    }
}

/// The office's yes-or-no decisions about a version of a department's file, each kept in a table
/// of `(department, path, sha256, at)` where a row means yes: another version at the path is a
/// new question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeMark {
    /// Released from its 密级 hold for the hand-in.
    HoldReleased,
    /// Its blank pages left out of the printout.
    BlankPagesDropped,
}

impl OfficeMark {
    fn table(self) -> &'static str {
        match self {
            OfficeMark::HoldReleased => "hold_releases",
            OfficeMark::BlankPagesDropped => "blank_drops",
        }
    }
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
    fn insert_token(&self, hash: String, department: Option<String>, agent: String) -> DbResult<i64>;
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
    fn held_for_filing(&self, department: String, sha256: String, path: String) -> DbResult<Option<Holding>>;
    /// The blob if `department` has delivered it itself: what a department may see.
    fn held_blob(&self, department: String, sha256: String) -> DbResult<Option<(u64, Option<String>)>>;
    /// Records that `actor.department` delivered a blob that is now stored under its final
    /// name; true when the content is new to the store. Audited as `upload` when it is, as
    /// `upload_existing` when only the department is new to it (it proved it holds the bytes),
    /// not at all for a re-send.
    fn insert_blob(&self, sha256: String, size: u64, magic: Option<&'static str>, actor: AuditEntry) -> DbResult<bool>;
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
    fn set_mark(&self, mark: OfficeMark, department: String, path: String, sha256: String, on: bool, actor: AuditEntry) -> DbResult<()>;
    /// Records whose name, caption or read text contains `needle` (any case), of one
    /// department or all, at most `limit`.
    fn search(&self, needle: String, department: Option<String>, limit: u32) -> DbResult<Vec<SearchRow>>;
    /// The pages each content took in the print of record, and the state it was of.
    fn set_printed_pages(&self, printed: Vec<(String, u32)>, fingerprint: String, at: Timestamp) -> DbResult<()>;
    /// The state the print of record was of, and when it was made.
    fn print_record(&self) -> DbResult<Option<(String, Timestamp)>>;

    // ── evidence ────────────────────────────────────────────────────────────
    /// Files a record; false when an identical one was already on file (a re-send).
    fn upsert_evidence(&self, row: EvidenceEntry, host: Option<String>) -> DbResult<bool>;
    /// Withdraws a record; false if there was none.
    fn withdraw_evidence(&self, department: String, agent: String, path: String, host: Option<String>) -> DbResult<bool>;
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
    fn count_against(&self, deadline: Timestamp, reader_version: i64, when: Recount) -> DbResult<bool>;
    /// The counts as kept.
    fn status_counts(&self) -> DbResult<Counts>;
    /// The counts as kept, and counted again from the records, both of one snapshot (a server
    /// may be writing meanwhile): for `scrub` and the tests.
    fn kept_and_counted(&self) -> DbResult<(Counts, Counts)>;

    // ── heartbeats, contacts, reviews, audit ────────────────────────────────
    fn put_heartbeat(&self, department: String, agent: String, body: String) -> DbResult<()>;
    fn put_contacts(&self, department: String, body: String, actor: AuditEntry) -> DbResult<()>;
    /// A department's contacts as filed (JSON), if any.
    fn contacts_of(&self, department: String) -> DbResult<Option<String>>;
    /// Records the office's verdict on the current version of a department's file (the newest
    /// record at that path, whichever PC filed it), or takes it back (`Verdict::Cleared`).
    /// False when there is nothing to review: no such record, or no verdict to take back.
    fn review(&self, department: String, path: String, verdict: Verdict, reason: Option<String>, actor: AuditEntry) -> DbResult<bool>;
    /// Gives a department's file a 类别, audited: kept for the path, and set on its records
    /// (each agent's, with the problem that kind gives it).
    fn set_kind(&self, department: String, path: String, kind: Kind, problems: Vec<(String, Option<String>)>, actor: AuditEntry) -> DbResult<()>;
    /// The office's choices for questioned files before the hand-in.
    fn send_choices(&self) -> DbResult<Vec<SendChoiceRow>>;
    /// Records (or, with `None`, takes back) the office's choice for a version of a file, audited.
    fn choose_send(&self, department: String, path: String, sha256: String, send: Option<bool>, actor: AuditEntry) -> DbResult<()>;
    /// The office's verdicts on a department's files, by path.
    fn verdicts(&self, department: String) -> DbResult<HashMap<String, FileVerdict>>;
    /// Sets (or, with an empty text, clears) the office's note on a department's item.
    fn note(&self, department: String, item: String, text: String, actor: AuditEntry) -> DbResult<()>;
    /// Logs something that changed nothing else in the database (a bundle built or failed).
    fn log(&self, entry: AuditEntry) -> DbResult<()>;
    /// Audit entries, newest first.
    fn audit(&self, limit: u32, before_id: Option<i64>) -> DbResult<Vec<AuditRecord>>;
    /// The newest `limit` audit entries of one `action` (e.g. `bundle`, as `Bundles::build`
    /// logs it: `name (trigger) complete=x/y`): when, and the detail.
    fn audit_of(&self, action: &'static str, limit: u32) -> DbResult<Vec<(Timestamp, String)>>;
}
