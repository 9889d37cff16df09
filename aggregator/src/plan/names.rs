//! Names inside the bundle: safe on Windows, unique as Windows compares them, and short enough
//! to unpack on a desktop.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use unicode_normalization::UnicodeNormalization;

/// Longest path inside the zip, in characters: unpacked under `C:\Users\<name>\Desktop\`
/// (about 40 characters) it stays under Windows' 260-character limit.
pub const MAX_PATH_CHARS: usize = 200;

/// Replaces what Windows forbids in a name with the full-width look-alike a Chinese user reads
/// the same way, drops control characters, trims trailing dots and spaces, and defuses reserved
/// device names such as `CON` or `lpt1.txt`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' => '＜',
            '>' => '＞',
            ':' => '：',
            '"' => '＂',
            '/' => '／',
            '\\' => '＼',
            '|' => '｜',
            '?' => '？',
            '*' => '＊',
            // bagit-python decodes %0A and %0D in manifests: a name must not hold them.
            '%' => '％',
            c => c,
        })
        .collect();
    // Windows drops trailing dots and spaces; BagIt manifests lose any trailing whitespace.
    while out.ends_with(|c: char| c == '.' || c.is_whitespace()) {
        out.pop();
    }
    let out = out.trim_start().to_string();
    match out {
        o if o.is_empty() => "_".to_string(),
        o if is_reserved(&o) => format!("_{o}"),
        o => o,
    }
}

/// Whether Windows takes the name for a device, whatever follows the first dot: `CON`, `nul.txt`,
/// `COM1`…`COM9`, `COM0`, the superscript spellings `COM¹` `LPT²` `COM³`, `CONIN$`, `CONOUT$`.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end().to_uppercase();
    let numbered = |prefix: &str| {
        stem.strip_prefix(prefix).is_some_and(|rest| {
            let mut chars = rest.chars();
            matches!((chars.next(), chars.next()), (Some('0'..='9' | '¹' | '²' | '³'), None))
        })
    };
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$")
        || numbered("COM")
        || numbered("LPT")
}

/// How Windows compares names: case-insensitively, and (for what we write) in NFC.
fn windows_key(path: &str) -> String {
    path.nfc().collect::<String>().to_lowercase()
}

/// What a path in the bundle is.
enum Taken {
    /// A folder, under the spelling it was first given.
    Folder(String),
    File,
}

/// Gives every entry of the bundle a path no other entry has as Windows compares them: a file
/// whose name is taken gets ` (2)`, ` (3)`, … before its extension; a folder asked for twice (in
/// any case) is the same folder. Paths are relative to the bundle's root, `/`-separated.
#[derive(Default)]
pub struct Namer {
    taken: HashMap<String, Taken>,
}

impl Namer {
    /// The folder `name` (already sanitised) inside `parent` (`""` for the root).
    pub fn folder(&mut self, parent: &str, name: &str) -> String {
        for n in 1.. {
            // A folder has no extension: its number goes at the end.
            let candidate = if n == 1 { join(parent, name) } else { join(parent, &format!("{name} ({n})")) };
            match self.taken.entry(windows_key(&candidate)) {
                Entry::Vacant(slot) => {
                    slot.insert(Taken::Folder(candidate.clone()));
                    return candidate;
                }
                Entry::Occupied(taken) => {
                    if let Taken::Folder(spelled) = taken.get() {
                        return spelled.clone();
                    }
                }
            }
        }
        unreachable!("some number is free")
    }

    /// A file `name` (already sanitised) inside `parent`, at most `max` characters long.
    pub fn file(&mut self, parent: &str, name: &str, max: usize) -> String {
        for n in 1.. {
            let candidate = join(parent, &numbered(name, n, max));
            if let Entry::Vacant(slot) = self.taken.entry(windows_key(&candidate)) {
                slot.insert(Taken::File);
                return candidate;
            }
        }
        unreachable!("some number is free")
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

/// `name` shortened to `max` characters, with ` (n)` before the extension from the second on.
fn numbered(name: &str, n: usize, max: usize) -> String {
    if n == 1 {
        return shorten(name, max);
    }
    let (stem, ext) = split_extension(name);
    let suffix = format!(" ({n}){ext}");
    let stem = shorten(stem, max.saturating_sub(suffix.chars().count()).max(1));
    format!("{stem}{suffix}")
}

/// `("报告", ".pdf")`; a name without a short extension keeps it all in the stem.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && name[i + 1..].chars().count() <= 10 => name.split_at(i),
        _ => (name, ""),
    }
}

/// Shortens a file name to at most `max` characters, keeping its extension.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    let keep = max.saturating_sub(ext.chars().count() + 1).max(1);
    let mut short: String = stem.chars().take(keep).collect();
    short = short.trim_end_matches(['.', ' ']).to_string();
    format!("{short}…{ext}")
}

/// `options` for an entry named `entry`, with the Info-ZIP Unicode Path extra field (0x7075:
/// version 1, the CRC-32 of the name as stored, the name in UTF-8) when the name is beyond
/// ASCII. The UTF-8 flag alone is not read by some unpackers (the one built into older Windows
/// among them); this field is.
pub fn unicode_named(
    mut options: zip::write::FullFileOptions<'static, 'static>,
    entry: &str,
) -> zip::result::ZipResult<zip::write::FullFileOptions<'static, 'static>> {
    if !entry.is_ascii() {
        let mut field = vec![1];
        field.extend_from_slice(&crc32fast::hash(entry.as_bytes()).to_le_bytes());
        field.extend_from_slice(entry.as_bytes());
        options.add_extra_field(0x7075, field, false)?;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn windows_names() {
        assert_eq!(sanitize("报告: 第一稿?.pdf"), "报告： 第一稿？.pdf");
        assert_eq!(sanitize("CON"), "_CON");
        assert_eq!(sanitize("lpt1.txt"), "_lpt1.txt");
        assert_eq!(sanitize("com10.txt"), "com10.txt");
        assert_eq!(sanitize("结尾. . "), "结尾");
        assert_eq!(sanitize("a\u{7}b"), "ab");
        assert_eq!(sanitize("..."), "_");
        assert_eq!(sanitize("进度%0A汇总　"), "进度％0A汇总");
        assert_eq!(shorten("很长的名字很长的名字.pdf", 8), "很长的….pdf");
        assert_eq!(shorten("short.pdf", 20), "short.pdf");
        for reserved in ["COM¹", "lpt².txt", "COM0", "conin$", "CONOUT$.log", "nul .txt", "Aux.tar.gz"] {
            assert_eq!(sanitize(reserved), format!("_{reserved}").trim_end_matches(['.', ' ']), "{reserved}");
        }
        assert_eq!(sanitize("COM¹²"), "COM¹²");
    }

    #[test]
    fn names_are_unique_as_windows_compares_them() {
        let mut n = Namer::default();
        let dir = n.folder("", "00 自评报告");
        assert_eq!(n.folder("", "00 自评报告"), dir, "the same folder again");
        assert_eq!(n.file(&dir, &sanitize("方案:定稿.pdf"), 50), "00 自评报告/方案：定稿.pdf");
        assert_eq!(n.file(&dir, &sanitize("方案：定稿.pdf"), 50), "00 自评报告/方案：定稿 (2).pdf");
        assert_eq!(n.file(&dir, &sanitize("汇报.pdf."), 50), "00 自评报告/汇报.pdf");
        assert_eq!(n.file(&dir, &sanitize("汇报.pdf"), 50), "00 自评报告/汇报 (2).pdf");
        assert_eq!(n.file(&dir, "Report.PDF", 50), "00 自评报告/Report.PDF");
        assert_eq!(n.file(&dir, "report.pdf", 50), "00 自评报告/report (2).pdf");
        // NFD and NFC spell one name.
        assert_eq!(n.file(&dir, "re\u{301}sume\u{301}.pdf", 50), "00 自评报告/re\u{301}sume\u{301}.pdf");
        assert_eq!(n.file(&dir, "résumé.pdf", 50), "00 自评报告/résumé (2).pdf");
        // A folder may not take a file's name, nor a file a folder's.
        assert_eq!(n.folder(&dir, "汇报.pdf"), "00 自评报告/汇报.pdf (2)");
        assert_eq!(n.file("", "00 自评报告", 50), "00 自评报告 (2)");
        // The number fits in the budget.
        let long = "很长的名字".repeat(10) + ".pdf";
        let first = n.file(&dir, &long, 20);
        let second = n.file(&dir, &long, 20);
        assert!(
            first.chars().count() - dir.chars().count() - 1 <= 20 && second.ends_with(" (2).pdf"),
            "{second}"
        );
        assert!(second.chars().count() - dir.chars().count() - 1 <= 20, "{second}");
    }

    proptest! {
        #[test]
        fn sanitized_names_are_safe(name in "\\PC{0,60}") {
            let s = sanitize(&name);
            prop_assert!(!s.is_empty());
            prop_assert!(!s.chars().any(|c| "<>:\"/\\|?*".contains(c) || c.is_control()));
            prop_assert!(!s.ends_with('.') && !s.ends_with(' '));
            prop_assert_eq!(sanitize(&s), s.clone(), "stable");
        }

        #[test]
        fn shortened_names_fit(name in "[a-z中文 ]{1,80}(\\.[a-z]{1,4})?", max in 10usize..40) {
            let short = shorten(&name, max);
            prop_assert!(short.chars().count() <= max);
            if let Some((_, ext)) = name.rsplit_once('.') {
                prop_assert!(short.ends_with(ext));
            }
        }
    }
}
