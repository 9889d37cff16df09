//! Walking the evidence folder: which files are evidence, which are unsorted, which to ignore.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use yingjian_shared::{Catalogue, Placement, RelPath, classify, is_image_name, limits};

/// Hidden file `init` leaves in the evidence folder: its absence means the folder is not there
/// (unmounted share, unplugged disk), which must never be taken for "everything was deleted".
pub const MARKER_FILE: &str = ".yingjian-folder";

/// Longest caption read from a `.txt` beside a picture.
const MAX_CAPTION_BYTES: u64 = 4096;

/// A file that is evidence, as found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub rel: RelPath,
    pub os: PathBuf,
    pub size: u64,
    pub mtime: i64,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub evidence: Vec<Found>,
    pub unsorted: Vec<RelPath>,
}

/// Size and modification time (ns) of a regular file, following no links.
pub fn stat(path: &Path) -> Option<(u64, i64)> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
    Some((meta.len(), mtime))
}

/// The path of `os` relative to `root`, as it crosses the wire; `None` for names that are not
/// valid Unicode or not acceptable paths.
pub fn relative(root: &Path, os: &Path) -> Option<RelPath> {
    let rel = os.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    RelPath::from_components(parts?).ok()
}

/// Whether the folder is the one `init` made (and is mounted).
pub fn folder_present(root: &Path) -> bool {
    root.join(MARKER_FILE).is_file()
}

/// Whether `os` is reached through a linked folder below `root` (`os` itself included when
/// `include_self`). Walks never enter linked folders; events from inside one must not either.
fn through_linked_folder(root: &Path, os: &Path, include_self: bool) -> bool {
    let Ok(rel) = os.strip_prefix(root) else { return true };
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    let upto = if include_self { parts.len() } else { parts.len().saturating_sub(1) };
    parts[..upto].iter().any(|part| {
        at.push(part);
        fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink())
    })
}

/// Walks `dir` (the root or a folder inside it) and sorts what it finds.
pub fn scan(catalogue: &Catalogue, root: &Path, dir: &Path) -> Scan {
    let mut out = Scan::default();
    if through_linked_folder(root, dir, true) {
        return out;
    }
    let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        let entries: Vec<_> = entries.flatten().collect();
        let names: HashSet<String> =
            entries.iter().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect();
        for entry in entries {
            let os = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() {
                // A link is followed only to a file inside the evidence folder.
                let inside =
                    fs::canonicalize(&os).is_ok_and(|t| t.starts_with(&canonical_root) && t.is_file());
                if !inside {
                    continue;
                }
            } else if kind.is_dir() {
                if relative(root, &os)
                    .is_some_and(|rel| !matches!(classify(catalogue, &rel), Placement::Ignored(_)))
                {
                    stack.push(os);
                }
                continue;
            }
            consider(catalogue, root, os, &names, &mut out);
        }
    }
    out.evidence.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.unsorted.sort();
    out
}

/// One path looked at on its own (after a filesystem event).
pub enum One {
    Evidence(Found),
    Unsorted(RelPath),
    Other,
}

/// Sorts a single file, as `scan` would.
pub fn scan_one(catalogue: &Catalogue, root: &Path, os: &Path) -> One {
    let leaves = fs::symlink_metadata(os).is_ok_and(|m| m.file_type().is_symlink()) && {
        let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        !fs::canonicalize(os).is_ok_and(|t| t.starts_with(canonical_root))
    };
    if leaves || through_linked_folder(root, os, false) {
        return One::Other;
    }
    // Only a `.txt` needs its neighbours (is it a picture's caption?); listing a folder of
    // thousands for every event on it would make a first run quadratic.
    let is_txt = os.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    let siblings: HashSet<String> = os
        .parent()
        .filter(|_| is_txt)
        .and_then(|p| fs::read_dir(p).ok())
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut found = Scan::default();
    consider(catalogue, root, os.to_path_buf(), &siblings, &mut found);
    match (found.evidence.pop(), found.unsorted.pop()) {
        (Some(f), _) => One::Evidence(f),
        (None, Some(u)) => One::Unsorted(u),
        (None, None) => One::Other,
    }
}

/// Sorts one file into the scan.
fn consider(catalogue: &Catalogue, root: &Path, os: PathBuf, siblings: &HashSet<String>, out: &mut Scan) {
    let Some(rel) = relative(root, &os) else { return };
    match classify(catalogue, &rel) {
        Placement::Ignored(_) => {}
        Placement::Unsorted { .. } => out.unsorted.push(rel),
        Placement::Item { .. } | Placement::Report | Placement::Case => {
            if is_caption_file(&rel, siblings) {
                return;
            }
            if let Some((size, mtime)) = stat(&os) {
                out.evidence.push(Found { rel, os, size, mtime });
            }
        }
    }
}

/// A `.txt` with the same stem as a picture beside it is that picture's caption, not evidence.
pub fn is_caption_file(rel: &RelPath, siblings: &HashSet<String>) -> bool {
    rel.extension().as_deref() == Some("txt")
        && siblings
            .iter()
            .any(|s| is_image_name(s) && s.rsplit_once('.').is_some_and(|(stem, _)| stem == rel.file_stem()))
}

/// The caption of a picture from a same-stem `.txt` beside it, if there is one.
pub fn sidecar_caption(os: &Path) -> Option<String> {
    let mut raw = String::new();
    fs::File::open(os.with_extension("txt")).ok()?.take(MAX_CAPTION_BYTES).read_to_string(&mut raw).ok()?;
    let caption = limits::truncate(raw.trim_start_matches('\u{feff}').trim(), limits::CAPTION_CHARS);
    (!caption.is_empty()).then_some(caption)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_reached_through_a_linked_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        let catalogue = Catalogue::builtin();
        crate::init::init_folder(catalogue, catalogue.department("police").unwrap(), &root).unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("secret.pdf"), b"%PDF-1.4 secret").unwrap();
        let item = root.join("08.03 昆仑2021专项行动");
        std::os::unix::fs::symlink(&outside, item.join("linked")).unwrap();
        fs::write(item.join("own.pdf"), b"%PDF-1.4 own").unwrap();

        let whole = scan(catalogue, &root, &root);
        let names: Vec<&str> = whole.evidence.iter().map(|f| f.rel.file_name()).collect();
        assert_eq!(names, ["own.pdf"]);
        // What an event names: the linked folder, and a file inside it.
        assert!(scan(catalogue, &root, &item.join("linked")).evidence.is_empty());
        assert!(matches!(scan_one(catalogue, &root, &item.join("linked/secret.pdf")), One::Other));
        assert!(matches!(scan_one(catalogue, &root, &item.join("own.pdf")), One::Evidence(_)));
    }
}
