//! What was read in each blob, the office's corrections and releases, and search, in SQLite.

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::params;
use yingjian_shared::FieldName;

use super::{Cached, Sqlite, append_audit};
use crate::db::{AuditEntry, Correction, DbResult, OfficeMark, SearchRow, Version, codec, ms};
use crate::facts::Facts;

impl Sqlite {
    pub async fn unread_blobs(&self, version: i64, limit: u32) -> DbResult<Vec<(String, u64)>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.sha256, b.size FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256
                 WHERE b.refs > 0 AND (r.sha256 IS NULL OR r.version < ?1) ORDER BY b.stored, b.sha256 LIMIT ?2",
            )?;
            stmt.query_map(params![version, limit], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?.collect()
        })
        .await
    }

    pub async fn set_reading(&self, sha256: String, f: Facts, text: String, version: i64) -> DbResult<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                // An upsert, not INSERT OR REPLACE: a replacing delete fires no trigger, and the
                // reading counts follow the row's updates (migrations/009_counts.sql).
                "INSERT INTO readings (sha256, version, state, text_source, pages, doc_number, issuer,
                    doc_date, title, classification, quality, signature, failure, read_at, topics)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (sha256) DO UPDATE SET version = ?2, state = ?3, text_source = ?4, pages = ?5,
                    doc_number = ?6, issuer = ?7, doc_date = ?8, title = ?9, classification = ?10,
                    quality = ?11, signature = ?12, failure = ?13, read_at = ?14, topics = ?15",
                params![
                    sha256,
                    version,
                    codec::state(f.read),
                    codec::source(f.text),
                    f.pages,
                    f.doc_number,
                    f.issuer,
                    f.date,
                    f.title,
                    f.classification,
                    codec::quality(&f.quality),
                    codec::signature(&f.signature),
                    f.failure,
                    ms(Timestamp::now()),
                    codec::topics(&f.topics),
                ],
            )?;
            tx.execute_cached("DELETE FROM reading_text WHERE sha256 = ?1", [&sha256])?;
            if !text.is_empty() {
                tx.execute_cached(
                    "INSERT INTO reading_text (sha256, body) VALUES (?1, ?2)",
                    params![sha256, text],
                )?;
            }
            tx.commit()
        })
        .await
    }

    pub async fn facts(&self) -> DbResult<HashMap<String, Facts>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.sha256, r.state, r.text_source, r.pages, r.doc_number, r.issuer, r.doc_date, r.title,
                        r.classification, r.quality, r.signature, r.failure, b.printed_pages, r.topics
                 FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256 WHERE b.refs > 0",
            )?;
            stmt.query_map([], |r| {
                let state: Option<String> = r.get(1)?;
                Ok((
                    r.get(0)?,
                    Facts {
                        read: codec::state_of(state.as_deref().unwrap_or("queued")),
                        text: codec::source_of(r.get::<_, Option<String>>(2)?.as_deref().unwrap_or("none")),
                        pages: r.get(3)?,
                        doc_number: r.get(4)?,
                        issuer: r.get(5)?,
                        date: r.get(6)?,
                        title: r.get(7)?,
                        classification: r.get(8)?,
                        quality: codec::quality_of(r.get::<_, Option<String>>(9)?.as_deref().unwrap_or("[]")),
                        signature: codec::signature_of(r.get::<_, Option<String>>(10)?.as_deref().unwrap_or("")),
                        failure: r.get(11)?,
                        printed: r.get(12)?,
                        topics: codec::topics_of(r.get::<_, Option<String>>(13)?.as_deref().unwrap_or("")),
                    },
                ))
            })?
            .collect()
        })
        .await
    }

    pub async fn corrections(&self) -> DbResult<Vec<Correction>> {
        self.call(|c| {
            let mut stmt =
                c.prepare_cached("SELECT department, path, sha256, field, value FROM corrections")?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((department, path, sha256, field, value)) => FieldName::from_wire(&field)
                    .map(|field| Ok(Correction { department, path, sha256, field, value })),
                Err(e) => Some(Err(e)),
            })
            .collect()
        })
        .await
    }

    pub async fn correct(&self, k: Correction, actor: AuditEntry) -> DbResult<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            if k.value.is_empty() {
                tx.execute_cached(
                    "DELETE FROM corrections WHERE department = ?1 AND path = ?2 AND field = ?3",
                    params![k.department, k.path, k.field.wire()],
                )?;
            } else {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO corrections (department, path, sha256, field, value, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![k.department, k.path, k.sha256, k.field.wire(), k.value, ms(actor.at)],
                )?;
            }
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    pub async fn marks(&self, mark: OfficeMark) -> DbResult<Vec<(String, String, String)>> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!("SELECT department, path, sha256 FROM {}", mark.table()))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
        })
        .await
    }

    pub async fn set_mark(&self, mark: OfficeMark, of: Version, on: bool, actor: AuditEntry) -> DbResult<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let table = mark.table();
            if on {
                tx.execute(
                    &format!("INSERT OR REPLACE INTO {table} (department, path, sha256, at) VALUES (?1, ?2, ?3, ?4)"),
                    params![of.department, of.path, of.sha256, ms(actor.at)],
                )?;
            } else {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE department = ?1 AND path = ?2"),
                    params![of.department, of.path],
                )?;
            }
            append_audit(&tx, &actor)?;
            tx.commit()
        })
        .await
    }

    pub async fn search(&self, needle: String, of: Option<String>, limit: u32) -> DbResult<Vec<SearchRow>> {
        self.call(move |c| {
            let pattern = codec::like_pattern(&needle);
            // The text's LIKE runs on the trigram index (no ESCAPE clause: see `like_pattern`).
            let mut stmt = c.prepare_cached(
                "WITH hits AS (
                    SELECT sha256, substr(body, max(1, instr(body, ?1) - 30), 90) AS around
                    FROM reading_text WHERE body LIKE ?2)
                 SELECT e.department, e.path, e.item, e.caption, r.doc_number, r.title, h.around
                 FROM evidence e
                 LEFT JOIN hits h ON h.sha256 = e.sha256
                 LEFT JOIN readings r ON r.sha256 = e.sha256
                 WHERE (?3 IS NULL OR e.department = ?3)
                   AND (h.sha256 IS NOT NULL OR e.path LIKE ?2 OR e.caption LIKE ?2
                        OR r.doc_number LIKE ?2 OR r.title LIKE ?2 OR r.issuer LIKE ?2)
                 ORDER BY e.department, e.path
                 LIMIT ?4",
            )?;
            stmt.query_map(params![needle, pattern, of, limit], |r| {
                Ok(SearchRow {
                    department: r.get(0)?,
                    path: r.get(1)?,
                    item: r.get(2)?,
                    caption: r.get(3)?,
                    doc_number: r.get(4)?,
                    title: r.get(5)?,
                    around: r.get(6)?,
                })
            })?
            .collect()
        })
        .await
    }
}
