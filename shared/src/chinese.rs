//! Messages as people read them: the Chinese alone.

/// Whether `text` holds any Chinese.
pub fn has_chinese(text: &str) -> bool {
    text.chars().any(is_cjk)
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Drops every bracketed part, `（…）` or `(…)`, that is English (starts with a letter) or holds
/// no Chinese: the server adds the English of a message in brackets for its logs and API
/// clients; a person reads the Chinese.
pub fn without_english(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['（', '(']) {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let width = after.chars().next().map_or(1, char::len_utf8);
        // The matching close, counting nested brackets of either form.
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '（' | '(' => depth += 1,
                '）' | ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i + c.len_utf8());
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            out.push_str(after);
            return out;
        };
        let inner = &after[width..end - after[..end].chars().next_back().map_or(1, char::len_utf8)];
        // English starts with a letter (and may quote a Chinese name the caller gave).
        let english = inner.trim_start().starts_with(|c: char| c.is_ascii_alphabetic());
        if inner.chars().any(is_cjk) && !english {
            out.push_str(&after[..end]);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_halves_go_chinese_and_nested_brackets_stay() {
        assert_eq!(without_english("没有这个单位（no department \"x\": use its id）"), "没有这个单位");
        assert_eq!(without_english("请上传（PDF）或（扫描件）"), "请上传或（扫描件）");
        assert_eq!(without_english("保留（其中 (a) 项）"), "保留（其中 (a) 项）");
        assert_eq!(without_english("unclosed（"), "unclosed（");
        assert_eq!(without_english("没有“甲”（no department \"甲\"）"), "没有“甲”");
        assert_eq!(without_english("截止（2021年12月）"), "截止（2021年12月）");
        assert!(has_chinese("公安局") && !has_chinese("police"));
    }
}
