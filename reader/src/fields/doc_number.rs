//! The 发文字号 (文号): a line that is one alone, its brackets normalised, and OCR's misread digits
//! put back.

use std::sync::LazyLock;

use regex::Regex;

const HAN: &str = r"\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}";

static DOC_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?P<prefix>[{HAN}]{{2,10}}?)[〔【\[［(（「〖{{｛〈《<]?(?P<year>(?:19|20)[0-9]{{2}})[〕】\]］)）」〗}}｝〉》>]?第?(?P<number>[0-9]{{1,4}})号(?:签发人[:：].{{0,12}})?$"
    ))
    .expect("a valid pattern")
});

/// A line that is a 文号 alone → the 文号 with 〔〕 brackets.
pub(super) fn doc_number(compact: &str) -> Option<String> {
    // OCR reads 0 as O or o and 1 as l or I inside numbers; fold those only between digits and
    // 号 so a prefix keeps its letters.
    let fixed = fix_digits(compact);
    let caps = DOC_NUMBER.captures(&fixed)?;
    let prefix = &caps["prefix"];
    if prefix.ends_with("签发人") {
        return None;
    }
    Some(format!("{prefix}〔{}〕{}号", &caps["year"], &caps["number"]))
}

/// O/o/○/〇 → 0 and l/I/| → 1 where they sit among digits (OCR's misreadings in 文号 and dates).
pub(super) fn fix_digits(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let digitish = |c: char| c.is_ascii_digit() || matches!(c, 'O' | 'o' | '○' | '〇' | 'l' | 'I' | '|');
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let near_digit =
            chars[i.saturating_sub(1)..(i + 2).min(chars.len())].iter().any(char::is_ascii_digit);
        let run_is_digits = near_digit && digitish(c);
        out.push(match c {
            'O' | 'o' | '○' | '〇' if run_is_digits => '0',
            'l' | 'I' | '|' if run_is_digits => '1',
            _ => c,
        });
    }
    out
}
