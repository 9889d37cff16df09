//! Groups of contents whose read text is near-identical: the same paper scanned twice. Candidate
//! pairs come from locality-sensitive hashing of the MinHash signatures (bands of four slots),
//! so a city of many files is not compared pair by pair; each candidate is then checked.

use std::collections::HashMap;

use yingjian_reader::similar::{SAME_PAPER, similarity};

/// Slots per band: with 128 slots, 32 bands catch pairs above about 0.45 similarity.
const ROWS: usize = 4;

/// What two near-identical files are to the office: two scans of one paper when they were read
/// by OCR, else two files of one text (a Word file and its PDF, a .doc and a .docx).
pub fn same_paper(scanned: bool) -> &'static str {
    if scanned { "为同一份材料的不同扫描件" } else { "内容几乎相同，为同一份材料" }
}

/// Groups (of two or more hashes) of near-identical contents, each sorted, in a stable order.
pub fn groups(signatures: &[(&str, &[u32])]) -> Vec<Vec<String>> {
    let mut buckets: HashMap<(usize, &[u32]), Vec<usize>> = HashMap::new();
    for (i, (_, sig)) in signatures.iter().enumerate() {
        for (band, rows) in sig.chunks_exact(ROWS).enumerate() {
            buckets.entry((band, rows)).or_default().push(i);
        }
    }
    let mut parent: Vec<usize> = (0..signatures.len()).collect();
    let mut checked = std::collections::HashSet::new();
    for members in buckets.values().filter(|m| m.len() > 1) {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                if !checked.insert((a, b)) {
                    continue;
                }
                let (sa, sb) = (signatures[a].1.to_vec(), signatures[b].1.to_vec());
                if similarity(&sa, &sb) >= SAME_PAPER {
                    let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                    parent[ra] = rb;
                }
            }
        }
    }
    let mut by_root: HashMap<usize, Vec<String>> = HashMap::new();
    for (i, (sha, _)) in signatures.iter().enumerate() {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push((*sha).to_string());
    }
    let mut out: Vec<Vec<String>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut out {
        g.sort();
    }
    out.sort();
    out
}

/// The root of `i`'s set (union-find with path halving).
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}
