//! Heartbeats, contacts, the office's reviews, 类别 and notes, and the audit log, in PostgreSQL.

use std::collections::HashMap;

use jiff::Timestamp;
use yingjian_shared::{AuditRecord, KindChange, Note, Review, Verdict};

use super::{Cached, Postgres, append_audit, written_by_us};
use crate::db::{AuditEntry, DbResult, FileVerdict, Problems, SendChoiceRow, Version, ms, ts};

impl Postgres {
    pub async fn put_heartbeat(
        &self,
        department: String,
        agent: String,
        body: String,
    ) -> DbResult<Option<(Timestamp, String)>> {
        let c = self.client().await?;
        // Every part of the statement sees the table as it was before it: `last` is the heartbeat
        // this one replaces.
        let row = c
            .query_one_cached(
                "WITH last AS (SELECT at, body FROM heartbeats WHERE department = $1 AND agent = $2)
                 INSERT INTO heartbeats (department, agent, at, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (department, agent) DO UPDATE SET at = excluded.at, body = excluded.body
                 RETURNING (SELECT at FROM last), (SELECT body FROM last)",
                &[&department, &agent, &ms(Timestamp::now()), &body],
            )
            .await?;
        let (at, body): (Option<i64>, Option<String>) = (row.get(0), row.get(1));
        Ok(at.zip(body).map(|(at, body)| (ts(at), body)))
    }

    pub async fn put_contacts(&self, department: String, body: String, actor: AuditEntry) -> DbResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute_cached(
            "INSERT INTO contacts (department, body, updated) VALUES ($1, $2, $3)
             ON CONFLICT (department) DO UPDATE SET body = excluded.body, updated = excluded.updated",
            &[&department, &body, &ms(actor.at)],
        )
        .await?;
        append_audit(&tx, &actor).await?;
        Ok(tx.commit().await?)
    }

    pub async fn contacts_of(&self, department: String) -> DbResult<Option<String>> {
        let c = self.client().await?;
        Ok(c.query_opt_cached("SELECT body FROM contacts WHERE department = $1", &[&department])
            .await?
            .map(|r| r.get(0)))
    }

    pub async fn review(&self, review: Review, actor: AuditEntry) -> DbResult<bool> {
        let Review { department, path, verdict, reason } = review;
        let path = path.to_string();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let changed = match verdict {
            Verdict::Cleared => {
                tx.execute_cached(
                    "DELETE FROM reviews WHERE department = $1 AND path = $2",
                    &[&department, &path],
                )
                .await?
            }
            verdict => {
                tx.execute_cached(
                    "INSERT INTO reviews (department, path, sha256, placement, item, verdict, reason, at)
                     SELECT department, path, sha256, placement, item, $3, $4, $5 FROM evidence
                     WHERE department = $1 AND path = $2 ORDER BY received DESC LIMIT 1
                     ON CONFLICT (department, path) DO UPDATE SET sha256 = excluded.sha256,
                       placement = excluded.placement, item = excluded.item, verdict = excluded.verdict,
                       reason = excluded.reason, at = excluded.at",
                    &[&department, &path, &verdict.wire(), &reason, &ms(actor.at)],
                )
                .await?
            }
        };
        if changed == 0 {
            return Ok(false);
        }
        append_audit(&tx, &actor).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_kind(&self, change: KindChange, problems: Problems, actor: AuditEntry) -> DbResult<()> {
        let KindChange { department, path, kind } = change;
        let path = path.to_string();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute_cached(
            "INSERT INTO kind_overrides (department, path, kind, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (department, path) DO UPDATE SET kind = excluded.kind, at = excluded.at",
            &[&department, &path, &kind.wire(), &ms(actor.at)],
        )
        .await?;
        for (agent, problem) in problems {
            tx.execute_cached(
                "UPDATE evidence SET kind = $4, problem = $5 WHERE department = $1 AND path = $2 AND agent = $3",
                &[&department, &path, &agent, &kind.wire(), &problem],
            )
            .await?;
        }
        append_audit(&tx, &actor).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn send_choices(&self) -> DbResult<Vec<SendChoiceRow>> {
        let c = self.client().await?;
        let rows = c.query_cached("SELECT department, path, sha256, choice FROM send_choices", &[]).await?;
        Ok(rows
            .iter()
            .map(|r| SendChoiceRow {
                department: r.get(0),
                path: r.get(1),
                sha256: r.get(2),
                send: r.get::<_, &str>(3) == "send",
            })
            .collect())
    }

    pub async fn choose_send(&self, of: Version, send: Option<bool>, actor: AuditEntry) -> DbResult<()> {
        let Version { department, path, sha256 } = of;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        match send {
            Some(send) => {
                let choice = if send { "send" } else { "leave_out" };
                tx.execute_cached(
                    "INSERT INTO send_choices (department, path, sha256, choice, at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (department, path) DO UPDATE
                     SET sha256 = excluded.sha256, choice = excluded.choice, at = excluded.at",
                    &[&department, &path, &sha256, &choice, &ms(actor.at)],
                )
                .await?
            }
            None => {
                tx.execute_cached(
                    "DELETE FROM send_choices WHERE department = $1 AND path = $2",
                    &[&department, &path],
                )
                .await?
            }
        };
        append_audit(&tx, &actor).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn verdicts(&self, department: String) -> DbResult<HashMap<String, FileVerdict>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT path, verdict, reason, sha256 FROM reviews WHERE department = $1",
                &[&department],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let wire: String = r.get(1);
                let verdict =
                    Verdict::from_wire(&wire).ok_or_else(|| written_by_us("reviews.verdict", &wire))?;
                Ok((r.get(0), FileVerdict { verdict, reason: r.get(2), sha256: r.get(3) }))
            })
            .collect()
    }

    pub async fn note(&self, note: Note, actor: AuditEntry) -> DbResult<()> {
        let Note { department, item, text } = note;
        let item = item.to_string();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if text.is_empty() {
            tx.execute_cached("DELETE FROM notes WHERE department = $1 AND item = $2", &[&department, &item])
                .await?;
        } else {
            tx.execute_cached(
                "INSERT INTO notes (department, item, text, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (department, item) DO UPDATE SET text = excluded.text, at = excluded.at",
                &[&department, &item, &text, &ms(actor.at)],
            )
            .await?;
        }
        append_audit(&tx, &actor).await?;
        Ok(tx.commit().await?)
    }

    pub async fn log(&self, entry: AuditEntry) -> DbResult<()> {
        let c = self.client().await?;
        append_audit(&c, &entry).await
    }

    pub async fn audit(&self, limit: u32, before_id: Option<i64>) -> DbResult<Vec<AuditRecord>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT id, at, department, agent, host, action, detail FROM audit
                 WHERE $1::BIGINT IS NULL OR id < $1 ORDER BY id DESC LIMIT $2",
                &[&before_id, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditRecord {
                id: r.get(0),
                at: ts(r.get(1)),
                department: r.get(2),
                agent: r.get(3),
                host: r.get(4),
                action: r.get(5),
                detail: r.get(6),
            })
            .collect())
    }

    pub async fn audit_of(&self, action: &'static str, limit: u32) -> DbResult<Vec<(Timestamp, String)>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT at, detail FROM audit WHERE action = $1 ORDER BY id DESC LIMIT $2",
                &[&action, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| (ts(r.get(0)), r.get(1))).collect())
    }

    pub async fn set_printed_pages(&self, printed: Vec<(String, u32)>, fingerprint: String) -> DbResult<()> {
        let at = Timestamp::now();
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let stmt = tx.prepare("UPDATE blobs SET printed_pages = $2 WHERE sha256 = $1").await?;
        for (sha, pages) in printed {
            tx.execute(&stmt, &[&sha, &i64::from(pages)]).await?;
        }
        tx.execute_cached(
            "INSERT INTO print_record (id, fingerprint, at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, at = excluded.at",
            &[&fingerprint, &ms(at)],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    pub async fn print_record(&self) -> DbResult<Option<(String, Timestamp)>> {
        let c = self.client().await?;
        let row = c.query_opt_cached("SELECT fingerprint, at FROM print_record WHERE id = 1", &[]).await?;
        Ok(row.map(|r| (r.get(0), ts(r.get(1)))))
    }
}
