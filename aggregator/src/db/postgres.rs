//! The database on PostgreSQL, for several aggregator instances sharing one deployment: the same
//! questions as `sqlite`, in PostgreSQL's SQL, over a small pool of connections
//! (deadpool-postgres). Its own migrations (`migrations/postgres/`), applied under an advisory
//! lock so that instances starting together apply them once.

use std::path::Path;
use std::sync::Arc;

use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;
use yingjian_shared::{EvidenceEntry, Filed, ItemCode, Kind, RelPath, Sha256Hex};

use super::rules::{self, OnFile};
use super::sqlite::Sqlite;
use super::{
    AuditEntry, Cell, DbError, DbResult, FiledContacts, FiledHeartbeat, Holding, NewBlob, ProblemFile,
    RecordAt, ReturnedFile, StatusData, TABLES, TokenRow, Version, codec, ms, ts,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/001_init.sql"),
    include_str!("../../migrations/postgres/002_readings.sql"),
    include_str!("../../migrations/postgres/003_counts.sql"),
    include_str!("../../migrations/postgres/004_kind_overrides.sql"),
    include_str!("../../migrations/postgres/005_hand_in.sql"),
    include_str!("../../migrations/postgres/006_blank_drops.sql"),
    include_str!("../../migrations/postgres/007_reading_topics.sql"),
];

mod counts;
mod office;
mod reading;

type Params<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// Statements prepared once per pooled connection (deadpool keeps them): a query is then one
/// round trip, not a Parse and Describe before its Bind and Execute.
trait Cached {
    async fn query_cached(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error>;
    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error>;
    async fn query_one_cached(&self, sql: &str, params: &Params<'_>) -> Result<Row, tokio_postgres::Error>;
    async fn execute_cached(&self, sql: &str, params: &Params<'_>) -> Result<u64, tokio_postgres::Error>;
}

impl<C: GenericClient + Sync> Cached for C {
    async fn query_cached(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.query(&self.prepare_cached(sql).await?, params).await
    }

    async fn query_opt_cached(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        self.query_opt(&self.prepare_cached(sql).await?, params).await
    }

    async fn query_one_cached(&self, sql: &str, params: &Params<'_>) -> Result<Row, tokio_postgres::Error> {
        self.query_one(&self.prepare_cached(sql).await?, params).await
    }

    async fn execute_cached(&self, sql: &str, params: &Params<'_>) -> Result<u64, tokio_postgres::Error> {
        self.execute(&self.prepare_cached(sql).await?, params).await
    }
}
/// The advisory lock key under which the schema is changed.
const MIGRATION_LOCK: i64 = 0x7969_6e67_6a69_616e; // "yingjian"

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        // 53100 disk_full, 53200 out_of_memory is not the disk's.
        let full = e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL);
        // The error's own text is only its kind ("db error"): the server's message, or the
        // chain of causes (a refused certificate, a closed port), says what is wrong.
        let message = if let Some(db) = e.as_db_error() {
            db.to_string()
        } else {
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                message = format!("{message}: {c}");
                cause = c.source();
            }
            message
        };
        DbError::Engine { message, full }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => DbError::Engine { message: other.to_string(), full: false },
        }
    }
}

#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    /// For the `LISTEN` connection, which stays out of the pool.
    target: Arc<Target>,
}

/// Where PostgreSQL is and how to speak to it: TLS when the URL says `sslmode=require`, the
/// server's certificate checked against the CA file named or else the system's roots; otherwise
/// plain TCP (`prefer` is taken as `disable`: a check that may silently fall back is none).
#[derive(Clone)]
struct Target {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// The URL without its password, for messages.
    shown: String,
}

/// A connection of its own, TLS or not.
type Connection = tokio_postgres::Connection<
    tokio_postgres::Socket,
    <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
>;

impl Target {
    fn new(url: &str, ca: Option<&Path>) -> DbResult<Target> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| DbError::Setup(format!("[database] url is not a PostgreSQL URL: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DbError::Setup(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        if config.get_ssl_mode() == SslMode::Require {
            let certs = match ca {
                Some(ca) => crate::tls::certificates(ca, "[database] ca")
                    .map_err(|e| DbError::Setup(e.to_string()))?,
                None => rustls_native_certs::load_native_certs().certs,
            };
            roots.add_parsable_certificates(certs);
        } else {
            config.ssl_mode(SslMode::Disable);
        }
        let tls = MakeRustlsConnect::new(builder.with_root_certificates(roots).with_no_client_auth());
        Ok(Target { config, tls, shown: redacted(url) })
    }

    async fn connect(&self) -> DbResult<(tokio_postgres::Client, Connection)> {
        Ok(self.config.connect(self.tls.clone()).await?)
    }
}

impl Postgres {
    /// Connects and applies pending migrations. Runs on a thread of its own (a runtime of its
    /// own), so it may be called from anywhere, as opening SQLite may.
    pub fn open(url: &str, ca: Option<&Path>) -> DbResult<Postgres> {
        let target = Target::new(url, ca)?;
        let owned = target.clone();
        std::thread::spawn(move || -> DbResult<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| DbError::Task(e.to_string()))?;
            runtime.block_on(migrate(&owned))
        })
        .join()
        .map_err(|_| DbError::Task("the migration thread panicked".into()))??;
        let manager = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Engine { message: e.to_string(), full: false })?;
        Ok(Postgres { pool, target: Arc::new(target) })
    }

    /// The rows of every table (`super::TABLES`), for `migrate`.
    pub async fn counts(&self) -> DbResult<Vec<(&'static str, u64)>> {
        let c = self.client().await?;
        let mut out = Vec::new();
        for (table, _) in TABLES {
            let n: i64 = c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).await?.get(0);
            out.push((*table, n as u64));
        }
        Ok(out)
    }

    /// Copies every table of `from`, ids included, in one transaction.
    pub async fn insert_all(&self, from: &Sqlite) -> DbResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Row by row, the status counts would be updated once a row, in one transaction: they
        // are counted once, at the end (migrations/postgres/003_counts.sql).
        tx.batch_execute("SET LOCAL yingjian.counting = 'off'").await?;
        for (table, columns) in TABLES {
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let identity = names.contains(&"id");
            let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
            let stmt = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) {} VALUES ({})",
                    names.join(", "),
                    if identity { "OVERRIDING SYSTEM VALUE" } else { "" },
                    placeholders.join(", ")
                ))
                .await?;
            let (sender, mut batches) = tokio::sync::mpsc::channel(4);
            let reading = from.stream_rows(table, columns, sender);
            while let Some(batch) = batches.recv().await {
                for row in batch {
                    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = row
                        .iter()
                        .map(|cell| match cell {
                            Cell::Int(v) => v as &(dyn tokio_postgres::types::ToSql + Sync),
                            Cell::Text(v) => v,
                        })
                        .collect();
                    tx.execute(&stmt, &params).await?;
                }
            }
            reading.await.map_err(|e| DbError::Task(e.to_string()))??;
            if identity {
                // New rows continue after the copied ids.
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                    ),
                    &[],
                )
                .await?;
            }
        }
        counts::count_all(&tx).await?;
        Ok(tx.commit().await?)
    }

    /// Waits for the advisory lock `key` and holds it on a connection of its own until the
    /// answer is dropped; the connection then closes, which releases the lock, also when this
    /// instance dies holding it.
    pub async fn exclusive(&self, key: i64) -> DbResult<Held> {
        let c = self.client().await?;
        c.execute_cached("SELECT pg_advisory_lock($1)", &[&key]).await?;
        Ok(Held { _connection: deadpool_postgres::Object::take(c) })
    }

    /// Announces a change to every instance (this one too) on the `yingjian` channel.
    pub async fn announce(&self, payload: String) -> DbResult<()> {
        let c = self.client().await?;
        c.execute_cached("SELECT pg_notify('yingjian', $1)", &[&payload]).await?;
        Ok(())
    }

    /// Hears every instance's announcements until `stop`: `heard` gets each payload, and `None`
    /// whenever the connection was (re)opened, since announcements may have been missed.
    pub async fn listen(&self, stop: CancellationToken, mut heard: impl FnMut(Option<String>) + Send) {
        loop {
            if let Err(e) = self.listen_once(&stop, &mut heard).await {
                tracing::warn!(error = %e, "the LISTEN connection to PostgreSQL broke; opening it again");
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    async fn listen_once(
        &self,
        stop: &CancellationToken,
        heard: &mut impl FnMut(Option<String>),
    ) -> DbResult<()> {
        let (client, mut connection) = self.target.connect().await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<String, tokio_postgres::Error>>(256);
        // The connection is driven here; its notifications are passed on.
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                let passed = match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => Ok(n.payload().to_string()),
                    Ok(_) => continue,
                    Err(e) => Err(e),
                };
                let broke = passed.is_err();
                if tx.send(passed).await.is_err() || broke {
                    return;
                }
            }
        });
        let _stops_the_driver = DropGuard(driver);
        client.batch_execute("LISTEN yingjian").await?;
        heard(None);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(Ok(payload)) => heard(Some(payload)),
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(DbError::Engine { message: "the LISTEN connection closed".into(), full: false }),
                },
                () = stop.cancelled() => return Ok(()),
            }
        }
    }

    async fn client(&self) -> DbResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    // ── tokens ──────────────────────────────────────────────────────────────

    pub async fn insert_token(&self, hash: String, of: Option<String>, agent: String) -> DbResult<i64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_one_cached(
                "INSERT INTO tokens (hash, department, agent, created) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&hash, &of, &agent, &ms(Timestamp::now())],
            )
            .await?;
        let id: i64 = row.get(0);
        append_audit(
            &tx,
            &AuditEntry {
                at: Timestamp::now(),
                department: of,
                agent: Some(agent),
                host: None,
                action: "token_create".into(),
                detail: format!("token #{id}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn find_token(&self, hash: String) -> DbResult<Option<TokenRow>> {
        let c = self.client().await?;
        let row = c
            .query_opt_cached(
                "SELECT id, department, agent, created, revoked FROM tokens WHERE hash = $1 AND revoked IS NULL",
                &[&hash],
            )
            .await?;
        Ok(row.as_ref().map(token_row))
    }

    pub async fn list_tokens(&self) -> DbResult<Vec<TokenRow>> {
        let c = self.client().await?;
        let rows = c
            .query_cached("SELECT id, department, agent, created, revoked FROM tokens ORDER BY id", &[])
            .await?;
        Ok(rows.iter().map(token_row).collect())
    }

    pub async fn revoked_tokens(&self) -> DbResult<Vec<i64>> {
        let c = self.client().await?;
        Ok(c.query_cached("SELECT id FROM tokens WHERE revoked IS NOT NULL", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    pub async fn create_session(&self, hash: String, token_id: i64, expires: Timestamp) -> DbResult<()> {
        let c = self.client().await?;
        let now = ms(Timestamp::now());
        c.execute_cached("DELETE FROM sessions WHERE expires <= $1", &[&now]).await?;
        c.execute_cached(
            "INSERT INTO sessions (hash, token_id, created, expires) VALUES ($1, $2, $3, $4)",
            &[&hash, &token_id, &now, &ms(expires)],
        )
        .await?;
        Ok(())
    }

    pub async fn find_session(&self, hash: String) -> DbResult<Option<TokenRow>> {
        let c = self.client().await?;
        let row = c
            .query_opt_cached(
                "SELECT t.id, t.department, t.agent, t.created, t.revoked FROM sessions s
                 JOIN tokens t ON t.id = s.token_id
                 WHERE s.hash = $1 AND s.expires > $2 AND t.revoked IS NULL",
                &[&hash, &ms(Timestamp::now())],
            )
            .await?;
        Ok(row.as_ref().map(token_row))
    }

    pub async fn delete_session(&self, hash: String) -> DbResult<bool> {
        let c = self.client().await?;
        Ok(c.execute_cached("DELETE FROM sessions WHERE hash = $1", &[&hash]).await? > 0)
    }

    pub async fn revoke_token(&self, id: i64) -> DbResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let revoked = tx
            .query_opt_cached(
                "UPDATE tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL RETURNING department",
                &[&id, &ms(Timestamp::now())],
            )
            .await?;
        let Some(row) = revoked else { return Ok(false) };
        tx.execute_cached("DELETE FROM sessions WHERE token_id = $1", &[&id]).await?;
        append_audit(
            &tx,
            &AuditEntry {
                at: Timestamp::now(),
                department: row.get(0),
                agent: None,
                host: None,
                action: "token_revoke".into(),
                detail: format!("token #{id}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    // ── blobs ───────────────────────────────────────────────────────────────

    pub async fn blob(&self, sha256: String) -> DbResult<Option<(u64, Option<String>)>> {
        let c = self.client().await?;
        let row = c.query_opt_cached("SELECT size, magic FROM blobs WHERE sha256 = $1", &[&sha256]).await?;
        Ok(row.map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
    }

    pub async fn held_for_filing(&self, version: Version) -> DbResult<Option<Holding>> {
        let c = self.client().await?;
        let row = c
            .query_opt_cached(
                "SELECT b.size, b.magic, (SELECT kind FROM kind_overrides o WHERE o.department = $1 AND o.path = $3)
                 FROM blob_holders h JOIN blobs b ON b.sha256 = h.sha256 WHERE h.department = $1 AND h.sha256 = $2",
                &[&version.department, &version.sha256, &version.path],
            )
            .await?;
        Ok(row.map(|r| Holding {
            size: r.get::<_, i64>(0) as u64,
            magic: r.get(1),
            kind: r.get::<_, Option<String>>(2).as_deref().and_then(Kind::from_wire),
        }))
    }

    pub async fn held_blob(
        &self,
        department: String,
        sha256: String,
    ) -> DbResult<Option<(u64, Option<String>)>> {
        let c = self.client().await?;
        let row = c
            .query_opt_cached(
                "SELECT b.size, b.magic FROM blob_holders h JOIN blobs b ON b.sha256 = h.sha256
                 WHERE h.department = $1 AND h.sha256 = $2",
                &[&department, &sha256],
            )
            .await?;
        Ok(row.map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
    }

    pub async fn insert_blob(&self, blob: NewBlob, actor: AuditEntry) -> DbResult<bool> {
        let NewBlob { sha256, size, magic } = blob;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let now = ms(Timestamp::now());
        let created = tx
            .execute_cached(
                "INSERT INTO blobs (sha256, size, magic, stored) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&sha256, &(size as i64), &magic, &now],
            )
            .await?
            > 0;
        let new_holder = tx
            .execute_cached(
                "INSERT INTO blob_holders (department, sha256, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&actor.department, &sha256, &now],
            )
            .await?
            > 0;
        if let Some(entry) = rules::delivered(created, new_holder, actor) {
            append_audit(&tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    pub async fn all_blobs(&self) -> DbResult<Vec<(String, u64)>> {
        let c = self.client().await?;
        let rows = c.query_cached("SELECT sha256, size FROM blobs ORDER BY sha256", &[]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i64>(1) as u64)).collect())
    }

    // ── evidence ────────────────────────────────────────────────────────────

    pub async fn upsert_evidence(&self, row: EvidenceEntry, host: Option<String>) -> DbResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let on_file: Option<OnFile> = tx
            .query_opt_cached(
                "SELECT sha256, modified, caption FROM evidence WHERE department = $1 AND agent = $2 AND path = $3
                 FOR UPDATE",
                &[&row.department, &row.agent, &row.path.as_str()],
            )
            .await?
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1), r.get::<_, Option<String>>(2)));
        if rules::is_resend(on_file.as_ref(), &row) {
            return Ok(false);
        }
        tx.execute_cached(
            "INSERT INTO evidence (department, agent, path, sha256, size, modified, caption, placement, item, kind, problem, received)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (department, agent, path) DO UPDATE SET
               sha256 = excluded.sha256, size = excluded.size, modified = excluded.modified,
               caption = excluded.caption, placement = excluded.placement, item = excluded.item,
               kind = excluded.kind, problem = excluded.problem, received = excluded.received",
            &[
                &row.department,
                &row.agent,
                &row.path.as_str(),
                &row.sha256.as_str(),
                &(row.size as i64),
                &ms(row.modified),
                &row.caption,
                &row.placement.wire(),
                &row.item.map(|c| c.to_string()),
                &row.kind.map(Kind::wire),
                &row.problem,
                &ms(row.received),
            ],
        )
        .await?;
        append_audit(&tx, &rules::filed(&row, host, on_file.is_some())).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn withdraw_evidence(&self, record: RecordAt, host: Option<String>) -> DbResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let gone = tx
            .query_opt_cached(
                "DELETE FROM evidence WHERE department = $1 AND agent = $2 AND path = $3 RETURNING sha256",
                &[&record.department, &record.agent, &record.path],
            )
            .await?;
        let Some(gone) = gone else { return Ok(false) };
        let sha: String = gone.get(0);
        append_audit(&tx, &rules::withdrawn(record, &sha, host)).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn evidence(&self, department: Option<String>) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("$1::TEXT IS NULL OR department = $1", &[&department]).await
    }

    pub async fn evidence_of_item(&self, department: String, item: String) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("department = $1 AND item = $2", &[&department, &item]).await
    }

    pub async fn records_of_blob(&self, sha256: String) -> DbResult<Vec<EvidenceEntry>> {
        self.select_evidence("sha256 = $1", &[&sha256]).await
    }

    async fn select_evidence(
        &self,
        filter: &'static str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> DbResult<Vec<EvidenceEntry>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT department, agent, path, sha256, size, modified, caption, placement, item, kind, problem, received
                     FROM evidence WHERE {filter} ORDER BY department, path, agent"
                ),
                args,
            )
            .await?;
        rows.iter().map(evidence_row).collect()
    }

    pub async fn status_data(&self) -> DbResult<StatusData> {
        let mut c = self.client().await?;
        // One snapshot for every query, as SQLite's transaction gives.
        let tx = c
            .build_transaction()
            .read_only(true)
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .start()
            .await?;
        let kept = counts::counts(&tx, super::KEPT_GROUPS, super::KEPT_READING).await?;
        let problems = tx
            .query_cached(
                "SELECT department, item, path, problem FROM evidence WHERE problem IS NOT NULL ORDER BY department, path",
                &[],
            )
            .await?
            .iter()
            .map(|r| ProblemFile { department: r.get(0), item: r.get(1), path: r.get(2), problem: r.get(3) })
            .collect();
        let case_paths = tx
            .query_cached("SELECT department, path FROM evidence WHERE placement = 'case'", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let duplicates = tx
            .query_cached(
                "SELECT e.sha256, e.department, e.path FROM blobs b JOIN evidence e ON e.sha256 = b.sha256
                 WHERE b.refs > 1 ORDER BY e.sha256, e.department, e.path",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let heartbeats = tx
            .query_cached("SELECT department, agent, at, body FROM heartbeats", &[])
            .await?
            .iter()
            .map(|r| FiledHeartbeat {
                department: r.get(0),
                agent: r.get(1),
                at: ts(r.get(2)),
                heartbeat: codec::json(r.get::<_, &str>(3)),
            })
            .collect();
        let contacts = tx
            .query_cached("SELECT department, body, updated FROM contacts", &[])
            .await?
            .iter()
            .map(|r| FiledContacts {
                department: r.get(0),
                contacts: codec::json(r.get::<_, &str>(1)),
                updated: ts(r.get(2)),
            })
            .collect();
        let returned = tx
            .query_cached(
                "SELECT r.department, r.path, r.item, r.placement, r.reason, r.at,
                   NOT EXISTS (SELECT 1 FROM evidence e
                               WHERE e.department = r.department AND e.path = r.path AND e.sha256 = r.sha256)
                   OR EXISTS (SELECT 1 FROM evidence e
                              WHERE e.department = r.department AND e.path = r.path
                                AND (e.sha256 != r.sha256 OR e.caption IS NOT NULL) AND e.received > r.at)
                 FROM reviews r WHERE r.verdict = 'returned' ORDER BY r.department, r.path",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ReturnedFile {
                    department: r.get(0),
                    path: r.get(1),
                    item: r.get(2),
                    placement: filed(r, 3)?,
                    reason: r.get::<_, Option<String>>(4).unwrap_or_default(),
                    at: ts(r.get(5)),
                    answered: r.get(6),
                })
            })
            .collect::<DbResult<_>>()?;
        let notes = tx
            .query_cached("SELECT department, item, text FROM notes", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        tx.commit().await?;
        Ok(StatusData {
            groups: kept.groups,
            analysis: kept.reading,
            problems,
            case_paths,
            duplicates,
            heartbeats,
            contacts,
            returned,
            notes,
        })
    }
}

/// A connection holding an advisory lock, closed when dropped.
pub struct Held {
    _connection: deadpool_postgres::ClientWrapper,
}

/// Aborts a task when dropped.
struct DropGuard(tokio::task::JoinHandle<()>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Applies pending migrations, one instance at a time.
async fn migrate(target: &Target) -> DbResult<()> {
    let (mut client, connection) = target.connect().await?;
    let connection = tokio::spawn(connection);
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").await?;
    let found = tx.query_opt("SELECT version FROM schema_version", &[]).await?;
    let version: i64 = if let Some(row) = found {
        row.get(0)
    } else {
        tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[]).await?;
        0
    };
    if version > MIGRATIONS.len() as i64 {
        return Err(DbError::NewerSchema { path: target.shown.clone(), version });
    }
    for (i, sql) in (1i64..).zip(MIGRATIONS).skip(version as usize) {
        tx.batch_execute(sql).await?;
        tx.execute("UPDATE schema_version SET version = $1", &[&i]).await?;
    }
    tx.commit().await?;
    drop(client);
    let _ = connection.await;
    Ok(())
}

/// A connection string without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_string(),
    }
}

async fn append_audit(c: &impl GenericClient, e: &AuditEntry) -> DbResult<()> {
    c.execute_cached(
        "INSERT INTO audit (at, department, agent, host, action, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&ms(e.at), &e.department, &e.agent, &e.host, &e.action, &e.detail],
    )
    .await?;
    Ok(())
}

fn token_row(r: &Row) -> TokenRow {
    TokenRow {
        id: r.get(0),
        department: r.get(1),
        agent: r.get(2),
        created: ts(r.get(3)),
        revoked: r.get::<_, Option<i64>>(4).map(ts),
    }
}

/// Where a record is filed, from a `placement` column.
fn filed(r: &Row, i: usize) -> DbResult<Filed> {
    let text: &str = r.get(i);
    Filed::from_wire(text).ok_or_else(|| written_by_us("placement", text))
}

fn written_by_us(column: &str, value: &str) -> DbError {
    DbError::Engine {
        message: format!("{column} holds {value:?}, which this server does not write"),
        full: false,
    }
}

fn evidence_row(r: &Row) -> DbResult<EvidenceEntry> {
    let text = |i: usize| -> String { r.get(i) };
    let path = text(2);
    let sha = text(3);
    Ok(EvidenceEntry {
        department: r.get(0),
        agent: r.get(1),
        path: RelPath::parse(&path).map_err(|_| written_by_us("evidence.path", &path))?,
        sha256: Sha256Hex::parse(&sha).map_err(|_| written_by_us("evidence.sha256", &sha))?,
        size: r.get::<_, i64>(4) as u64,
        modified: ts(r.get(5)),
        caption: r.get(6),
        placement: filed(r, 7)?,
        item: r.get::<_, Option<String>>(8).and_then(|c| c.parse::<ItemCode>().ok()),
        kind: r.get::<_, Option<String>>(9).as_deref().and_then(Kind::from_wire),
        problem: r.get(10),
        received: ts(r.get(11)),
    })
}
