//! The status document's counts (migrations/postgres/003_counts.sql) and the files held for a
//! 密级 mark, in PostgreSQL.

use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use yingjian_shared::{HeldFile, RelPath};

use super::{Cached, Postgres, filed, written_by_us};
use crate::db::{
    Counts, DbResult, EvidenceGroup, KEPT_GROUPS, KEPT_READING, Recount, analysis_of, ms, ts, unkeyed,
};

/// The groups counted from the records, against the deadline in `count_basis`; the same
/// columns as `evidence_counts`.
const GROUPS_COUNTED: &str = "
    SELECT department, placement, COALESCE(item, ''), COALESCE(kind, ''), COUNT(*),
           COUNT(*) FILTER (WHERE received > (SELECT deadline FROM count_basis)), MAX(received)
    FROM evidence GROUP BY 1, 2, 3, 4";

/// The blobs some record points at, by reading class (against `count_basis`).
const READING_COUNTED: &str = "
    SELECT reading_class(r.version, r.state), COUNT(*) FROM blobs b LEFT JOIN readings r ON r.sha256 = b.sha256
    WHERE b.refs > 0 GROUP BY 1";

impl Postgres {
    pub async fn count_against(&self, deadline: Timestamp, reader: i64, when: Recount) -> DbResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Instances starting together count once: the second waits here, then finds it done.
        let basis =
            tx.query_one_cached("SELECT deadline, reader_version FROM count_basis FOR UPDATE", &[]).await?;
        if when == Recount::IfChanged
            && (basis.get::<_, i64>(0), basis.get::<_, i64>(1)) == (ms(deadline), reader)
        {
            return Ok(false);
        }
        tx.execute_cached(
            "UPDATE count_basis SET deadline = $1, reader_version = $2",
            &[&ms(deadline), &reader],
        )
        .await?;
        count_all(&tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn status_counts(&self) -> DbResult<Counts> {
        counts(&self.client().await?, KEPT_GROUPS, KEPT_READING).await
    }

    pub async fn kept_and_counted(&self) -> DbResult<(Counts, Counts)> {
        let mut c = self.client().await?;
        // One snapshot for both: REPEATABLE READ sees the database as of the first query.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let kept = counts(&tx, KEPT_GROUPS, KEPT_READING).await?;
        let counted = counts(&tx, GROUPS_COUNTED, READING_COUNTED).await?;
        tx.commit().await?;
        Ok((kept, counted))
    }

    pub async fn held(&self, department: Option<String>) -> DbResult<Vec<HeldFile>> {
        let c = self.client().await?;
        let rows = c
            .query_cached(
                "SELECT e.department, e.path, r.classification
                 FROM readings r JOIN evidence e ON e.sha256 = r.sha256
                 WHERE r.classification IS NOT NULL AND ($1::TEXT IS NULL OR e.department = $1)
                   AND NOT EXISTS (SELECT 1 FROM hold_releases h
                                   WHERE h.department = e.department AND h.path = e.path AND h.sha256 = e.sha256)
                 ORDER BY e.department, e.path, e.agent",
                &[&department],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let path: String = r.get(1);
                Ok(HeldFile {
                    department: r.get(0),
                    path: RelPath::parse(&path).map_err(|_| written_by_us("evidence.path", &path))?,
                    classification: r.get(2),
                })
            })
            .collect()
    }
}

/// Replaces the kept counts with a count of the records, within the caller's transaction.
pub(super) async fn count_all(tx: &impl GenericClient) -> DbResult<()> {
    tx.batch_execute(&format!(
        "DELETE FROM evidence_counts; INSERT INTO evidence_counts {GROUPS_COUNTED};
         DELETE FROM reading_counts; INSERT INTO reading_counts {READING_COUNTED};"
    ))
    .await?;
    Ok(())
}

/// The groups and reading classes that `groups` and `reading` select, in key order.
pub(super) async fn counts(c: &impl GenericClient, groups: &str, reading: &str) -> DbResult<Counts> {
    let groups = c
        .query(&format!("SELECT * FROM ({groups}) g ORDER BY 1, 2, 3, 4"), &[])
        .await?
        .iter()
        .map(|r| {
            Ok(EvidenceGroup {
                department: r.get(0),
                placement: filed(r, 1)?,
                item: unkeyed(r.get(2)),
                kind: unkeyed(r.get(3)),
                files: r.get::<_, i64>(4) as u64,
                late: r.get::<_, i64>(5) as u64,
                last_received: ts(r.get(6)),
            })
        })
        .collect::<DbResult<_>>()?;
    let rows = c.query(reading, &[]).await?;
    Ok(Counts { groups, reading: analysis_of(rows.iter().map(|r| (r.get(0), r.get(1)))) })
}
