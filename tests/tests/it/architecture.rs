//! Architecture invariants the compiler does not check (ARCHITECTURE.md, *Invariants*): read
//! from the sources, so that a change that breaks one fails here rather than in review.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file below `crate_dir/src`, relative to it, with its text.
fn sources(crate_dir: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path: PathBuf = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    assert!(!out.is_empty(), "no sources under {}", root.display());
    out
}

fn files_containing(crate_dir: &str, needle: &str) -> Vec<String> {
    let mut found: Vec<String> =
        sources(crate_dir).into_iter().filter(|(_, text)| text.contains(needle)).map(|(f, _)| f).collect();
    found.sort();
    found
}

#[test]
fn only_the_database_modules_speak_sql() {
    // An engine's module and the submodules beside it (`db/sqlite/reading.rs`).
    for (crate_name, engine) in [("rusqlite", "db/sqlite"), ("tokio_postgres", "db/postgres")] {
        let found = files_containing("aggregator", crate_name);
        assert!(found.contains(&format!("{engine}.rs")), "{found:?}");
        assert!(
            found.iter().all(|f| f == &format!("{engine}.rs") || f.starts_with(&format!("{engine}/"))),
            "{found:?}"
        );
    }
    // The agent's error type names the state database's errors.
    assert_eq!(files_containing("agent", "rusqlite"), ["error.rs", "state.rs"]);
}

#[test]
fn only_the_blob_store_touches_the_blob_folder() {
    // (`db/carry.rs` names the `blobs` table among those `migrate` copies.)
    assert_eq!(files_containing("aggregator", "\"blobs\""), ["blobs/local.rs", "blobs/s3.rs", "db/carry.rs"]);
    // `tmp/` is the blob store's, but for `tmp/uploads/`, the partial resumable uploads, and
    // `tmp/worker/`, the workers' job folders.
    assert_eq!(
        files_containing("aggregator", "\"tmp\""),
        ["blobs/local.rs", "blobs/s3.rs", "uploads/folder.rs", "worker/mod.rs"]
    );
}

#[test]
fn shared_knows_no_io_and_no_runtime() {
    for needle in ["std::fs", "std::net", "tokio", "axum", "rusqlite", "reqwest"] {
        assert!(files_containing("shared", needle).is_empty(), "shared uses {needle}");
    }
}

#[test]
fn only_the_bundle_shelf_names_the_bundles_folder() {
    assert_eq!(files_containing("aggregator", "join(\"bundles\")"), ["state.rs"], "where Bundles is made");
}

/// The aggregator's top-level modules and, for each, those it names (`crate::x`, or `x` inside
/// `use crate::{…}`), comments and unit tests left out.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources("aggregator");
    let top = |file: &str| file.split('/').next().unwrap().trim_end_matches(".rs").to_string();
    let modules: BTreeSet<String> =
        files.iter().map(|(f, _)| top(f)).filter(|m| m != "lib" && m != "main").collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (file, text) in &files {
        let from = top(file);
        let Some(uses) = graph.get_mut(&from) else { continue };
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let code: String = code.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
        let mut named = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                named.extend(group.split(',').map(|p| p.trim().split("::").next().unwrap().to_string()));
            } else {
                named.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
            }
        }
        uses.extend(named.into_iter().filter(|m| m != &from && modules.contains(m)));
    }
    graph
}

#[test]
fn no_two_modules_of_the_aggregator_need_each_other() {
    let graph = module_graph();
    // A module on a loop reaches itself: walk from each.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut path: Vec<(String, Vec<String>)> =
            vec![(start.clone(), graph[start].iter().cloned().collect())];
        while let Some((_, next)) = path.last_mut() {
            let Some(m) = next.pop() else {
                path.pop();
                continue;
            };
            let walked: Vec<&str> = path.iter().map(|(n, _)| n.as_str()).collect();
            assert!(m != *start, "a loop: {} → {start}", walked.join(" → "));
            if seen.insert(m.clone()) {
                path.push((m.clone(), graph[&m].iter().cloned().collect()));
            }
        }
    }
    // The graph is read as meant: the server's layers are in it.
    assert!(graph["state"].contains("services") && graph["bundle"].contains("layout"), "{graph:?}");
}
