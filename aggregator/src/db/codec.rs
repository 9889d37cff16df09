//! How a reading's enums and lists are written into columns, the same on both engines.

use std::fmt::Write as _;

use yingjian_shared::{ItemCode, QualityFinding, ReadState, TextSource};

/// A JSON column as the type it holds; `None` when it holds something else (a newer client's
/// body), which is then as good as absent.
pub fn json<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

pub fn state(s: ReadState) -> &'static str {
    match s {
        ReadState::Queued => "queued",
        ReadState::Done => "done",
        ReadState::Failed => "failed",
    }
}

pub fn state_of(text: &str) -> ReadState {
    match text {
        "done" => ReadState::Done,
        "failed" => ReadState::Failed,
        _ => ReadState::Queued,
    }
}

pub fn source(s: TextSource) -> &'static str {
    match s {
        TextSource::Layer => "layer",
        TextSource::Ocr => "ocr",
        TextSource::None => "none",
    }
}

pub fn source_of(text: &str) -> TextSource {
    match text {
        "layer" => TextSource::Layer,
        "ocr" => TextSource::Ocr,
        _ => TextSource::None,
    }
}

pub fn quality(findings: &[QualityFinding]) -> String {
    serde_json::to_string(findings).expect("findings serialise")
}

/// Unreadable JSON (written by another version) reads as no findings.
pub fn quality_of(text: &str) -> Vec<QualityFinding> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A signature as hexadecimal words, 8 digits each.
pub fn signature(words: &[u32]) -> String {
    let mut out = String::with_capacity(words.len() * 8);
    for w in words {
        let _ = write!(out, "{w:08x}");
    }
    out
}

pub fn signature_of(text: &str) -> Vec<u32> {
    text.as_bytes()
        .chunks_exact(8)
        .filter_map(|c| u32::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

/// Items and their scores: 「08.03 0.82;01.02 0.55」.
pub fn topics(ranked: &[(ItemCode, f32)]) -> String {
    ranked.iter().map(|(c, s)| format!("{} {s:.2}", c.padded())).collect::<Vec<_>>().join(";")
}

/// What does not parse (written by another version) is left out.
pub fn topics_of(text: &str) -> Vec<(ItemCode, f32)> {
    text.split(';')
        .filter_map(|one| {
            let (code, score) = one.split_once(' ')?;
            Some((code.parse().ok()?, score.parse().ok()?))
        })
        .collect()
}

/// A search needle as a LIKE pattern, the same on both engines. No `ESCAPE` clause, since
/// SQLite's trigram index serves only two-argument LIKE: a wildcard the needle carries stands
/// for one character instead.
pub fn like_pattern(needle: &str) -> String {
    let inner: String = needle.chars().map(|c| if matches!(c, '%' | '_' | '\\') { '_' } else { c }).collect();
    format!("%{inner}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip() {
        let words = vec![0, 1, 0xdead_beef, u32::MAX];
        assert_eq!(signature_of(&signature(&words)), words);
        assert!(signature_of("").is_empty());
    }

    #[test]
    fn like_escapes_its_wildcards() {
        assert_eq!(like_pattern("5%_\\"), "%5___%");
        assert_eq!(like_pattern("质量"), "%质量%");
    }
}
