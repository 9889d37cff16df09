//! The status document's counts (migrations/009_counts.sql) and the files held for a 密级 mark,
//! in SQLite.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use yingjian_shared::{Filed, HeldFile, RelPath};

use super::{Cached, Sqlite, parsed};
use crate::db::{
    Counts, DbResult, EvidenceGroup, KEPT_GROUPS, KEPT_READING, Recount, analysis_of, ms, ts, unkeyed,
};

/// The groups counted from the records, against the deadline in `count_basis`; the same
/// columns as `evidence_counts`.
const GROUPS_COUNTED: &str = "
    SELECT department, placement, COALESCE(item, '') AS item, COALESCE(kind, '') AS kind, COUNT(*),
           SUM(received > (SELECT deadline FROM count_basis)), MAX(received)
    FROM evidence INDEXED BY evidence_groups GROUP BY department, placement, item, kind";

/// The blobs some record points at, by reading class (against `count_basis`).
const READING_COUNTED: &str = "
    SELECT c.class, COUNT(*) FROM blobs b JOIN reading_class c ON c.sha256 = b.sha256
    WHERE b.refs > 0 GROUP BY c.class";

impl Sqlite {
    pub async fn count_against(&self, deadline: Timestamp, reader: i64, when: Recount) -> DbResult<bool> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let basis: (i64, i64) =
                tx.query_row_cached("SELECT deadline, reader_version FROM count_basis", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            if when == Recount::IfChanged && basis == (ms(deadline), reader) {
                return Ok(false);
            }
            tx.execute_cached(
                "UPDATE count_basis SET deadline = ?1, reader_version = ?2",
                params![ms(deadline), reader],
            )?;
            tx.execute_batch(&format!(
                "DELETE FROM evidence_counts; INSERT INTO evidence_counts {GROUPS_COUNTED};
                 DELETE FROM reading_counts; INSERT INTO reading_counts {READING_COUNTED};"
            ))?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    pub async fn status_counts(&self) -> DbResult<Counts> {
        self.call(|c| counts(c, KEPT_GROUPS, KEPT_READING)).await
    }

    pub async fn kept_and_counted(&self) -> DbResult<(Counts, Counts)> {
        self.call(|c| {
            // One read transaction: one snapshot of the database for both.
            let tx = c.transaction()?;
            let both =
                (counts(&tx, KEPT_GROUPS, KEPT_READING)?, counts(&tx, GROUPS_COUNTED, READING_COUNTED)?);
            tx.commit()?;
            Ok(both)
        })
        .await
    }

    pub async fn held(&self, department: Option<String>) -> DbResult<Vec<HeldFile>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                // CROSS JOIN fixes the order: the few marked readings first, each one's records
                // by hash; without statistics SQLite would rather scan every record.
                "SELECT e.department, e.path, r.classification
                 FROM readings r INDEXED BY readings_marked CROSS JOIN evidence e
                 WHERE e.sha256 = r.sha256 AND r.classification IS NOT NULL AND (?1 IS NULL OR e.department = ?1)
                   AND NOT EXISTS (SELECT 1 FROM hold_releases h
                                   WHERE h.department = e.department AND h.path = e.path AND h.sha256 = e.sha256)
                 ORDER BY e.department, e.path, e.agent",
            )?;
            stmt.query_map([department], |r| {
                Ok(HeldFile {
                    department: r.get(0)?,
                    path: parsed(r, 1, |t| RelPath::parse(t).ok())?,
                    classification: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }
}

/// The groups and reading classes that `groups` and `reading` select, in key order.
pub(super) fn counts(c: &Connection, groups: &str, reading: &str) -> rusqlite::Result<Counts> {
    let mut stmt = c.prepare_cached(&format!("SELECT * FROM ({groups}) ORDER BY 1, 2, 3, 4"))?;
    let groups = stmt
        .query_map([], |r| {
            Ok(EvidenceGroup {
                department: r.get(0)?,
                placement: parsed(r, 1, Filed::from_wire)?,
                item: unkeyed(r.get(2)?),
                kind: unkeyed(r.get(3)?),
                files: r.get::<_, i64>(4)? as u64,
                late: r.get::<_, i64>(5)? as u64,
                last_received: ts(r.get(6)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(reading)?;
    let reading =
        analysis_of(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?);
    Ok(Counts { groups, reading })
}
