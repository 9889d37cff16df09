//! What was read in each blob, the office's corrections and releases, and search, in PostgreSQL.

use std::collections::HashMap;

use jiff::Timestamp;
use yingjian_shared::FieldName;

use super::{Cached, Postgres, append_audit};
use crate::db::{AuditEntry, Correction, DbResult, OfficeMark, SearchRow, Version, codec, ms};
use crate::facts::Facts;

fn pages(p: Option<i64>) -> Option<u32> {
    p.and_then(|p| u32::try_from(p).ok())
}

impl Postgres {
    pub async fn unread_blobs(&self, version: i64, limit: u32) -> DbResult<Vec<(String, u64)>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT b.sha256, b.size FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256
                 WHERE b.refs > 0 AND (r.sha256 IS NULL OR r.version < $1) ORDER BY b.stored, b.sha256 LIMIT $2",
                &[&version, &i64::from(limit)],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i64>(1) as u64)).collect())
    }

    pub async fn set_reading(&self, sha256: String, f: Facts, text: String, version: i64) -> DbResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute_cached(
            "INSERT INTO readings (sha256, version, state, text_source, pages, doc_number, issuer, doc_date, title,
                classification, quality, signature, failure, read_at, topics)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (sha256) DO UPDATE SET version = $2, state = $3, text_source = $4, pages = $5,
                doc_number = $6, issuer = $7, doc_date = $8, title = $9, classification = $10, quality = $11,
                signature = $12, failure = $13, read_at = $14, topics = $15",
            &[
                &sha256,
                &version,
                &codec::state(f.read),
                &codec::source(f.text),
                &f.pages.map(i64::from),
                &f.doc_number,
                &f.issuer,
                &f.date,
                &f.title,
                &f.classification,
                &codec::quality(&f.quality),
                &codec::signature(&f.signature),
                &f.failure,
                &ms(Timestamp::now()),
                &codec::topics(&f.topics),
            ],
        )
        .await?;
        tx.execute_cached("DELETE FROM reading_text WHERE sha256 = $1", &[&sha256]).await?;
        if !text.is_empty() {
            tx.execute_cached("INSERT INTO reading_text (sha256, body) VALUES ($1, $2)", &[&sha256, &text])
                .await?;
        }
        Ok(tx.commit().await?)
    }

    pub async fn facts(&self) -> DbResult<HashMap<String, Facts>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT b.sha256, r.state, r.text_source, r.pages, r.doc_number, r.issuer, r.doc_date, r.title,
                        r.classification, r.quality, r.signature, r.failure, b.printed_pages, r.topics
                 FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256 WHERE b.refs > 0",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let text = |i: usize| r.get::<_, Option<String>>(i);
                (
                    r.get(0),
                    Facts {
                        read: codec::state_of(text(1).as_deref().unwrap_or("queued")),
                        text: codec::source_of(text(2).as_deref().unwrap_or("none")),
                        pages: pages(r.get(3)),
                        doc_number: text(4),
                        issuer: text(5),
                        date: text(6),
                        title: text(7),
                        classification: text(8),
                        quality: codec::quality_of(text(9).as_deref().unwrap_or("[]")),
                        signature: codec::signature_of(text(10).as_deref().unwrap_or("")),
                        failure: text(11),
                        printed: pages(r.get(12)),
                        topics: codec::topics_of(text(13).as_deref().unwrap_or("")),
                    },
                )
            })
            .collect())
    }

    pub async fn corrections(&self) -> DbResult<Vec<Correction>> {
        let c = self.client().await?;
        let rows =
            c.query_cached("SELECT department, path, sha256, field, value FROM corrections", &[]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Correction {
                    department: r.get(0),
                    path: r.get(1),
                    sha256: r.get(2),
                    field: FieldName::from_wire(r.get(3))?,
                    value: r.get(4),
                })
            })
            .collect())
    }

    pub async fn correct(&self, k: Correction, actor: AuditEntry) -> DbResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if k.value.is_empty() {
            tx.execute_cached(
                "DELETE FROM corrections WHERE department = $1 AND path = $2 AND field = $3",
                &[&k.department, &k.path, &k.field.wire()],
            )
            .await?;
        } else {
            tx.execute_cached(
                "INSERT INTO corrections (department, path, sha256, field, value, at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (department, path, field) DO UPDATE SET sha256 = $3, value = $5, at = $6",
                &[&k.department, &k.path, &k.sha256, &k.field.wire(), &k.value, &ms(actor.at)],
            )
            .await?;
        }
        append_audit(&tx, &actor).await?;
        Ok(tx.commit().await?)
    }

    pub async fn marks(&self, mark: OfficeMark) -> DbResult<Vec<(String, String, String)>> {
        let c = self.client().await?;
        let rows = c.query(&format!("SELECT department, path, sha256 FROM {}", mark.table()), &[]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    pub async fn set_mark(&self, mark: OfficeMark, of: Version, on: bool, actor: AuditEntry) -> DbResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let table = mark.table();
        if on {
            tx.execute(
                &format!(
                    "INSERT INTO {table} (department, path, sha256, at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (department, path) DO UPDATE SET sha256 = $3, at = $4"
                ),
                &[&of.department, &of.path, &of.sha256, &ms(actor.at)],
            )
            .await?;
        } else {
            tx.execute(
                &format!("DELETE FROM {table} WHERE department = $1 AND path = $2"),
                &[&of.department, &of.path],
            )
            .await?;
        }
        append_audit(&tx, &actor).await?;
        Ok(tx.commit().await?)
    }

    pub async fn search(&self, needle: String, of: Option<String>, limit: u32) -> DbResult<Vec<SearchRow>> {
        let c = self.client().await?;
        let pattern = codec::like_pattern(&needle);
        let rows = c
            .query_cached(
                "WITH hits AS (
                    SELECT sha256, substr(body, greatest(1, strpos(body, $1) - 30), 90) AS around
                    FROM reading_text WHERE body LIKE $2)
                 SELECT e.department, e.path, e.item, e.caption, r.doc_number, r.title, h.around
                 FROM evidence e
                 LEFT JOIN hits h ON h.sha256 = e.sha256
                 LEFT JOIN readings r ON r.sha256 = e.sha256
                 WHERE ($3::TEXT IS NULL OR e.department = $3)
                   AND (h.sha256 IS NOT NULL OR e.path LIKE $2 OR e.caption LIKE $2
                        OR r.doc_number LIKE $2 OR r.title LIKE $2 OR r.issuer LIKE $2)
                 ORDER BY e.department, e.path
                 LIMIT $4",
                &[&needle, &pattern, &of, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SearchRow {
                department: r.get(0),
                path: r.get(1),
                item: r.get(2),
                caption: r.get(3),
                doc_number: r.get(4),
                title: r.get(5),
                around: r.get(6),
            })
            .collect())
    }
}
