//! Walking the evidence folder: which files are evidence, which are unsorted, which to ignore.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use yingjian_shared::{
    Catalogue, PathError, Placement, RelPath, SkipReason, SkippedFile, WatchMode, classify, is_image_name,
    limits,
};

/// Hidden file `init` leaves in the evidence folder: its absence means the folder is not there
/// (unmounted share, unplugged disk), which must never be taken for "everything was deleted".
pub const MARKER_FILE: &str = ".yingjian-folder";

/// Longest caption read from a `.txt` beside a picture.
const MAX_CAPTION_BYTES: u64 = 4096;

/// A file that is evidence, as found on disk. `os` is its real path, which differs from the
/// wire path where the name on disk is not NFC (copied from a Mac).
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
    /// What is left out, and why: nothing in an item folder is dropped without a trace.
    pub skipped: Vec<SkippedFile>,
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

/// The path of `os` relative to `root`, as it crosses the wire, or why it cannot.
pub fn wire_path(root: &Path, os: &Path) -> Result<RelPath, SkipReason> {
    let rel = os.strip_prefix(root).map_err(|_| SkipReason::BadName)?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    RelPath::from_components(parts.ok_or(SkipReason::BadName)?).map_err(|e| match e {
        PathError::TooLong(_) | PathError::ComponentTooLong(_) => SkipReason::LongName,
        _ => SkipReason::BadName,
    })
}

/// The wire path of `os`, if it has one.
pub fn relative(root: &Path, os: &Path) -> Option<RelPath> {
    wire_path(root, os).ok()
}

/// How a path is shown to a person: relative to `root`, `/`-separated, decoded lossily, with
/// control characters (a newline in a name) shown as U+FFFD.
pub fn shown(root: &Path, os: &Path) -> String {
    let rel = os.strip_prefix(root).unwrap_or(os);
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .chars()
                .map(|ch| if ch.is_control() { '\u{FFFD}' } else { ch })
                .collect()
        })
        .collect();
    limits::truncate(&parts.join("/"), limits::NAME_CHARS)
}

/// Whether the folder is the one `init` made (and is mounted).
pub fn folder_present(root: &Path) -> bool {
    root.join(MARKER_FILE).is_file()
}

/// Why the agent must pause, if it must: the folder is not there (or an empty mount point), or
/// it holds the clerk's folders but its marker was deleted.
pub fn absence(root: &Path) -> Option<WatchMode> {
    if folder_present(root) {
        return None;
    }
    let has_content = fs::read_dir(root).is_ok_and(|mut d| d.next().is_some());
    Some(if has_content { WatchMode::NoMarker } else { WatchMode::Paused })
}

/// Whether `os` is reached through a linked folder below `root` (`os` itself included when
/// `include_self`). Walks never enter linked folders; events from inside one must not either.
pub fn through_linked_folder(root: &Path, os: &Path, include_self: bool) -> bool {
    let Ok(rel) = os.strip_prefix(root) else { return true };
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    let upto = if include_self { parts.len() } else { parts.len().saturating_sub(1) };
    parts[..upto].iter().any(|part| {
        at.push(part);
        fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink())
    })
}

/// Whether a name the wire cannot carry would be ignored anyway (a hidden or temporary file):
/// judged on its lossy form.
fn ignored_anyway(catalogue: &Catalogue, shown: &str) -> bool {
    RelPath::parse(&shown.replace('\u{FFFD}', "_"))
        .is_ok_and(|rel| matches!(classify(catalogue, &rel), Placement::Ignored(_)))
}

/// Whether `name` is the NFC form of itself.
fn is_nfc(name: &str) -> bool {
    RelPath::parse(name).is_ok_and(|r| r.as_str() == name)
}

/// Names in a folder that are another name of it in a different Unicode form: those not in
/// NFC are left out, since both would cross the wire as the same path.
fn clashing(names: &[&str]) -> HashSet<String> {
    let mut forms: HashMap<String, Vec<&str>> = HashMap::new();
    for name in names {
        if let Ok(nfc) = RelPath::parse(name) {
            forms.entry(nfc.as_str().to_string()).or_default().push(name);
        }
    }
    forms
        .into_iter()
        .filter(|(_, same)| same.len() > 1)
        .flat_map(|(nfc, same)| same.into_iter().filter(move |n| **n != nfc).map(str::to_string))
        .collect()
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
        let clashes = clashing(&names.iter().map(String::as_str).collect::<Vec<_>>());
        for entry in entries {
            let os = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if entry.file_name().to_str().is_some_and(|n| clashes.contains(n)) {
                skip(catalogue, root, &os, SkipReason::NameClash, &mut out);
                continue;
            }
            let rel = match wire_path(root, &os) {
                Ok(rel) => rel,
                Err(reason) => {
                    skip(catalogue, root, &os, reason, &mut out);
                    continue;
                }
            };
            if kind.is_symlink() {
                // A link is followed only to a file inside the evidence folder.
                let inside =
                    fs::canonicalize(&os).is_ok_and(|t| t.starts_with(&canonical_root) && t.is_file());
                if !inside {
                    skip(catalogue, root, &os, SkipReason::Link, &mut out);
                    continue;
                }
            } else if kind.is_dir() {
                if !matches!(classify(catalogue, &rel), Placement::Ignored(_)) {
                    stack.push(os);
                }
                continue;
            }
            consider(catalogue, root, rel, os, &names, &mut out);
        }
    }
    out.evidence.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.unsorted.sort();
    out.skipped.sort();
    out
}

/// Lists `os` as left out, unless it would be ignored anyway.
fn skip(catalogue: &Catalogue, root: &Path, os: &Path, reason: SkipReason, out: &mut Scan) {
    let name = shown(root, os);
    if !ignored_anyway(catalogue, &name) {
        out.skipped.push(SkippedFile::new(name, reason));
    }
}

/// One path looked at on its own (after a filesystem event).
pub enum One {
    Evidence(Found),
    Unsorted(RelPath),
    /// Left out; `Some` with the file when it is an empty file (a version sent before must be
    /// withdrawn).
    Skipped(SkippedFile, Option<Found>),
    Other,
}

/// Sorts a single file, as `scan` would.
pub fn scan_one(catalogue: &Catalogue, root: &Path, os: &Path) -> One {
    if through_linked_folder(root, os, false) {
        return One::Other;
    }
    let mut found = Scan::default();
    // A name the wire cannot carry: the first folder on the way that has one, else the file.
    if let Err(reason) = wire_path(root, os) {
        let bad = os
            .ancestors()
            .take_while(|a| a.starts_with(root) && *a != root)
            .filter(|a| {
                a.file_name()
                    .is_some_and(|n| RelPath::parse(&n.to_string_lossy()).is_err() || n.to_str().is_none())
            })
            .last()
            .unwrap_or(os);
        skip(catalogue, root, bad, reason, &mut found);
        return found.skipped.pop().map_or(One::Other, |s| One::Skipped(s, None));
    }
    let Some(rel) = relative(root, os) else { return One::Other };
    if fs::symlink_metadata(os).is_ok_and(|m| m.file_type().is_symlink()) {
        let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        if !fs::canonicalize(os).is_ok_and(|t| t.starts_with(canonical_root) && t.is_file()) {
            skip(catalogue, root, os, SkipReason::Link, &mut found);
            return found.skipped.pop().map_or(One::Other, |s| One::Skipped(s, None));
        }
    }
    // Only a `.txt` (is it a picture's caption?) and a name not in NFC (does it clash?) need
    // their neighbours; listing a folder of thousands for every event would make a first run
    // quadratic.
    let name = os.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let needs_siblings = rel.extension().as_deref() == Some("txt") || !is_nfc(name);
    let siblings: HashSet<String> = os
        .parent()
        .filter(|_| needs_siblings)
        .and_then(|p| fs::read_dir(p).ok())
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if clashing(&siblings.iter().map(String::as_str).collect::<Vec<_>>()).contains(name) {
        skip(catalogue, root, os, SkipReason::NameClash, &mut found);
        return found.skipped.pop().map_or(One::Other, |s| One::Skipped(s, None));
    }
    let empty = stat(os).is_some_and(|(size, _)| size == 0);
    consider(catalogue, root, rel.clone(), os.to_path_buf(), &siblings, &mut found);
    match (found.evidence.pop(), found.unsorted.pop(), found.skipped.pop()) {
        (Some(f), _, _) => One::Evidence(f),
        (None, Some(u), _) => One::Unsorted(u),
        (None, None, Some(s)) => {
            let file = empty.then(|| Found { rel, os: os.to_path_buf(), size: 0, mtime: 0 });
            One::Skipped(s, file)
        }
        (None, None, None) => One::Other,
    }
}

/// Sorts one file into the scan.
fn consider(
    catalogue: &Catalogue,
    root: &Path,
    rel: RelPath,
    os: PathBuf,
    siblings: &HashSet<String>,
    out: &mut Scan,
) {
    match classify(catalogue, &rel) {
        Placement::Ignored(_) => {}
        Placement::Unsorted { .. } => out.unsorted.push(rel),
        Placement::Item { .. } | Placement::Report | Placement::Case => {
            if is_caption_file(&rel, siblings) {
                return;
            }
            match stat(&os) {
                Some((0, _)) => {
                    out.skipped.push(SkippedFile::new(shown(root, &os), SkipReason::Empty));
                }
                Some((size, mtime)) => out.evidence.push(Found { rel, os, size, mtime }),
                None => {}
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

/// The caption of a picture from a same-stem `.txt` beside it, if there is one that the link
/// rules let the agent read (`open_inside`).
pub fn sidecar_caption(root: &Path, os: &Path) -> Option<String> {
    let mut raw = String::new();
    open_inside(root, &os.with_extension("txt"))?.take(MAX_CAPTION_BYTES).read_to_string(&mut raw).ok()?;
    let caption = limits::truncate(raw.trim_start_matches('\u{feff}').trim(), limits::CAPTION_CHARS);
    (!caption.is_empty()).then_some(caption)
}

/// Opens a file in the evidence folder for reading by the rules evidence is read by: never
/// reached through a linked folder, and a link only to a plain file inside the folder. Anything
/// else is not opened at all: a caption linked to a file elsewhere would otherwise upload that
/// file's first lines, read with the agent's rights.
pub fn open_inside(root: &Path, os: &Path) -> Option<fs::File> {
    if through_linked_folder(root, os, false) {
        return None;
    }
    let meta = fs::symlink_metadata(os).ok()?;
    if meta.file_type().is_symlink() {
        let target = fs::canonicalize(os).ok()?;
        let canonical_root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        if !target.starts_with(&canonical_root) || !target.is_file() {
            return None;
        }
        return fs::File::open(target).ok();
    }
    if !meta.is_file() {
        return None;
    }
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Swapped for a link since it was looked at: not opened.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
    }
    options.open(os).ok()
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

    #[test]
    fn a_caption_linked_out_of_the_folder_is_not_read_and_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("evidence");
        let catalogue = Catalogue::builtin();
        crate::init::init_folder(catalogue, catalogue.department("police").unwrap(), &root).unwrap();
        let secret = dir.path().join("secret.txt");
        fs::write(&secret, "机密").unwrap();
        let item = root.join("08.03 昆仑2021专项行动");
        fs::write(item.join("现场.jpg"), b"jpeg").unwrap();
        std::os::unix::fs::symlink(&secret, item.join("现场.txt")).unwrap();
        // A caption linked to a file inside the folder follows the rules of evidence: read.
        fs::write(item.join("会场.jpg"), b"jpeg").unwrap();
        fs::write(item.join("说明原文.md"), "会场布置").unwrap();
        std::os::unix::fs::symlink(item.join("说明原文.md"), item.join("会场.txt")).unwrap();

        assert_eq!(sidecar_caption(&root, &item.join("现场.jpg")), None);
        assert_eq!(sidecar_caption(&root, &item.join("会场.jpg")).as_deref(), Some("会场布置"));
        let found = scan(catalogue, &root, &root);
        let listed: Vec<(&str, SkipReason)> =
            found.skipped.iter().map(|s| (s.name.as_str(), s.reason)).collect();
        assert_eq!(listed, [("08.03 昆仑2021专项行动/现场.txt", SkipReason::Link)]);
        // Through a linked folder, not even a plain caption is read.
        let linked = root.join("08.03 昆仑2021专项行动/linked");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::write(elsewhere.join("p.jpg"), b"jpeg").unwrap();
        fs::write(elsewhere.join("p.txt"), "elsewhere").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
        assert_eq!(sidecar_caption(&root, &linked.join("p.jpg")), None);
    }
}
