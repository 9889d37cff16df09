//! Names inside the bundle: safe on Windows, and short enough to unpack on a desktop.

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
            c => c,
        })
        .collect();
    while out.ends_with(['.', ' ']) {
        out.pop();
    }
    let out = out.trim_start().to_string();
    let stem = out.split('.').next().unwrap_or("").trim_end().to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    match out {
        o if o.is_empty() => "_".to_string(),
        o if reserved => format!("_{o}"),
        o => o,
    }
}

/// Shortens a file name to at most `max` characters, keeping its extension.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= 10 => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let keep = max.saturating_sub(ext.chars().count() + 1).max(1);
    let mut short: String = stem.chars().take(keep).collect();
    short = short.trim_end_matches(['.', ' ']).to_string();
    format!("{short}…{ext}")
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
        assert_eq!(shorten("很长的名字很长的名字.pdf", 8), "很长的….pdf");
        assert_eq!(shorten("short.pdf", 20), "short.pdf");
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
