//! What `migrate` carries (`db::TABLES`) against the schema SQLite's migrations make: a column
//! added to a migration and not to `TABLES` would be left behind by every move, unnoticed.

use std::collections::BTreeSet;

use yingjian_aggregator::db::{NOT_CARRIED, TABLES};

use crate::TestServer;

/// `table.column` of every column `TABLES` carries.
fn carried() -> BTreeSet<String> {
    TABLES
        .iter()
        .flat_map(|(table, columns)| columns.iter().map(move |(c, _)| format!("{table}.{c}")))
        .collect()
}

/// Leaves out what `NOT_CARRIED` names, a whole table or one column.
fn to_carry(schema: BTreeSet<String>) -> BTreeSet<String> {
    schema
        .into_iter()
        .filter(|c| !NOT_CARRIED.iter().any(|n| c == n || c.split('.').next() == Some(n)))
        .collect()
}

#[tokio::test]
async fn migrate_carries_every_column_of_the_sqlite_schema() {
    let s = TestServer::start().await;
    let conn = rusqlite::Connection::open(s.dir.path().join("data/yingjian.sqlite3")).unwrap();
    // The full-text index's own tables (`reading_text_data`, …) are SQLite's, rebuilt by it.
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'reading_text_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut schema = BTreeSet::new();
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')")).unwrap();
        for column in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            schema.insert(format!("{table}.{}", column.unwrap()));
        }
    }
    assert!(schema.contains("evidence_counts.files") && schema.contains("blobs.refs"), "{schema:?}");
    assert_eq!(to_carry(schema), carried());
}
