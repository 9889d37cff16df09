//! Heartbeats, contacts, the office's reviews, 类别 and notes, and the audit log, in SQLite.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use yingjian_shared::{AuditRecord, KindChange, Note, Review, Verdict};

use super::{Cached, Sqlite, append_audit, parsed};
use crate::db::{AuditEntry, DbResult, FileVerdict, Problems, SendChoiceRow, Version, ms, ts};

impl Sqlite {
    pub async fn put_heartbeat(
        &self,
        department: String,
        agent: String,
        body: String,
    ) -> DbResult<Option<(Timestamp, String)>> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let last = tx
                .query_row_cached(
                    "SELECT at, body FROM heartbeats WHERE department = ?1 AND agent = ?2",
                    params![department, agent],
                    |r| Ok((ts(r.get(0)?), r.get(1)?)),
                )
                .optional()?;
            tx.execute_cached(
                "INSERT INTO heartbeats (department, agent, at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (department, agent) DO UPDATE SET at = excluded.at, body = excluded.body",
                params![department, agent, ms(Timestamp::now()), body],
            )?;
            tx.commit()?;
            Ok(last)
        })
        .await
    }

    pub async fn put_contacts(&self, department: String, body: String, actor: AuditEntry) -> DbResult<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute_cached(
                "INSERT INTO contacts (department, body, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (department) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                params![department, body, ms(actor.at)],
            )?;
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    /// A department's contacts as filed (JSON), if any.
    pub async fn contacts_of(&self, department: String) -> DbResult<Option<String>> {
        self.call(move |c| {
            c.query_row_cached("SELECT body FROM contacts WHERE department = ?1", [department], |r| r.get(0))
                .optional()
        })
        .await
    }

    pub async fn review(&self, review: Review, actor: AuditEntry) -> DbResult<bool> {
        let Review { department, path, verdict, reason } = review;
        let path = path.to_string();
        self.call(move |c| {
            let tx = c.transaction()?;
            let changed = match verdict {
                Verdict::Cleared => tx.execute_cached(
                    "DELETE FROM reviews WHERE department = ?1 AND path = ?2",
                    params![department, path],
                )?,
                verdict => tx.execute_cached(
                    "INSERT INTO reviews (department, path, sha256, placement, item, verdict, reason, at)
                     SELECT department, path, sha256, placement, item, ?3, ?4, ?5 FROM evidence
                     WHERE department = ?1 AND path = ?2 ORDER BY received DESC LIMIT 1
                     ON CONFLICT (department, path) DO UPDATE SET sha256 = excluded.sha256,
                       placement = excluded.placement, item = excluded.item, verdict = excluded.verdict,
                       reason = excluded.reason, at = excluded.at",
                    params![department, path, verdict.wire(), reason, ms(actor.at)],
                )?,
            };
            if changed == 0 {
                return Ok(false);
            }
            append_audit(&tx, &actor)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn set_kind(&self, change: KindChange, problems: Problems, actor: AuditEntry) -> DbResult<()> {
        let KindChange { department, path, kind } = change;
        let path = path.to_string();
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute_cached(
                "INSERT INTO kind_overrides (department, path, kind, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (department, path) DO UPDATE SET kind = excluded.kind, at = excluded.at",
                params![department, path, kind.wire(), ms(actor.at)],
            )?;
            for (agent, problem) in problems {
                tx.execute_cached(
                    "UPDATE evidence SET kind = ?4, problem = ?5 WHERE department = ?1 AND path = ?2 AND agent = ?3",
                    params![department, path, agent, kind.wire(), problem],
                )?;
            }
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    pub async fn send_choices(&self) -> DbResult<Vec<SendChoiceRow>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT department, path, sha256, choice FROM send_choices")?;
            stmt.query_map([], |r| {
                Ok(SendChoiceRow {
                    department: r.get(0)?,
                    path: r.get(1)?,
                    sha256: r.get(2)?,
                    send: r.get::<_, String>(3)? == "send",
                })
            })?
            .collect()
        })
        .await
    }

    pub async fn choose_send(&self, of: Version, send: Option<bool>, actor: AuditEntry) -> DbResult<()> {
        let Version { department, path, sha256 } = of;
        self.call(move |c| {
            let tx = c.transaction()?;
            match send {
                Some(send) => tx.execute_cached(
                    "INSERT INTO send_choices (department, path, sha256, choice, at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (department, path) DO UPDATE
                     SET sha256 = excluded.sha256, choice = excluded.choice, at = excluded.at",
                    params![department, path, sha256, if send { "send" } else { "leave_out" }, ms(actor.at)],
                )?,
                None => tx.execute_cached(
                    "DELETE FROM send_choices WHERE department = ?1 AND path = ?2",
                    params![department, path],
                )?,
            };
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    /// The office's verdicts on a department's files, by path.
    pub async fn verdicts(
        &self,
        department: String,
    ) -> DbResult<std::collections::HashMap<String, FileVerdict>> {
        self.call(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT path, verdict, reason, sha256 FROM reviews WHERE department = ?1")?;
            stmt.query_map([department], |r| {
                let verdict = parsed(r, 1, Verdict::from_wire)?;
                Ok((r.get(0)?, FileVerdict { verdict, reason: r.get(2)?, sha256: r.get(3)? }))
            })?
            .collect()
        })
        .await
    }

    pub async fn note(&self, note: Note, actor: AuditEntry) -> DbResult<()> {
        let Note { department, item, text } = note;
        let item = item.to_string();
        self.call(move |c| {
            let tx = c.transaction()?;
            if text.is_empty() {
                tx.execute_cached(
                    "DELETE FROM notes WHERE department = ?1 AND item = ?2",
                    params![department, item],
                )?;
            } else {
                tx.execute_cached(
                    "INSERT INTO notes (department, item, text, at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (department, item) DO UPDATE SET text = excluded.text, at = excluded.at",
                    params![department, item, text, ms(actor.at)],
                )?;
            }
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    /// Logs something that changed nothing else in the database (a bundle built or failed).
    pub async fn log(&self, entry: AuditEntry) -> DbResult<()> {
        self.call(move |c| append_audit(c, &entry)).await
    }

    /// Audit entries, newest first.
    pub async fn audit(&self, limit: u32, before_id: Option<i64>) -> DbResult<Vec<AuditRecord>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, at, department, agent, host, action, detail FROM audit
                 WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            stmt.query_map(params![before_id, limit], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at: ts(r.get(1)?),
                    department: r.get(2)?,
                    agent: r.get(3)?,
                    host: r.get(4)?,
                    action: r.get(5)?,
                    detail: r.get(6)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// The newest `limit` audit entries of one `action` (e.g. `bundle`, as `Bundles::build`
    /// logs it: `name (trigger) complete=x/y`): when, and the detail.
    pub async fn audit_of(&self, action: &'static str, limit: u32) -> DbResult<Vec<(Timestamp, String)>> {
        self.call(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT at, detail FROM audit WHERE action = ?1 ORDER BY id DESC LIMIT ?2")?;
            stmt.query_map(params![action, limit], |r| Ok((ts(r.get(0)?), r.get(1)?)))?.collect()
        })
        .await
    }

    pub async fn set_printed_pages(&self, printed: Vec<(String, u32)>, fingerprint: String) -> DbResult<()> {
        let at = Timestamp::now();
        self.call(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached("UPDATE blobs SET printed_pages = ?2 WHERE sha256 = ?1")?;
                for (sha, pages) in printed {
                    stmt.execute(params![sha, pages])?;
                }
            }
            tx.execute_cached(
                "INSERT INTO print_record (id, fingerprint, at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, at = excluded.at",
                params![fingerprint, ms(at)],
            )?;
            tx.commit()
        })
        .await
    }

    pub async fn print_record(&self) -> DbResult<Option<(String, Timestamp)>> {
        self.call(|c| {
            c.query_row_cached("SELECT fingerprint, at FROM print_record WHERE id = 1", [], |r| {
                Ok((r.get(0)?, ts(r.get(1)?)))
            })
            .optional()
        })
        .await
    }
}
