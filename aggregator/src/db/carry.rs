//! What `migrate` carries from SQLite into PostgreSQL: every table and column, and the copy.

use super::{Db, DbError, DbResult, Engine};

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
