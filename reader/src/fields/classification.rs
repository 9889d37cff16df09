//! The 密级 mark printed top left (「秘密★1年」, 「内部资料」), and the other marks of a header
//! (份号, 紧急程度) that are not its text.

use std::sync::LazyLock;

use regex::Regex;

use super::doc_number::fix_digits;

static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<level>绝密|机密|秘密)(?:[★☆✩✭*＊](?P<term>[0-9]{1,2}年|[0-9]{1,2}个月|长期|启用前)?|(?P<bare>[0-9]{1,2}年|[0-9]{1,2}个月|长期))?$")
        .expect("a valid pattern")
});

static INTERNAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:内部资料(?:[,，]?注意保[存管密])?|注意保密|内部文件)$").expect("a valid pattern")
});

/// 份号 (a six-digit copy number) and 紧急程度 (特急/加急, with ★ and a term).
pub(super) static COPY_OR_URGENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[0-9]{1,8}|(?:特急|加急|平急|急件)[★*]?.{0,4})$").expect("a valid pattern")
});

/// The 密级 mark on a short line: 「秘密★1年」 (★ restored where OCR lost it or read it as *),
/// 「机密」, 「内部资料」, 「注意保密」.
pub(super) fn classification(compact: &str) -> Option<String> {
    if compact.chars().count() > 12 {
        return None;
    }
    let fixed = fix_digits(compact);
    if let Some(caps) = SECRET.captures(&fixed) {
        let level = &caps["level"];
        return Some(match caps.name("term").or_else(|| caps.name("bare")) {
            Some(term) => format!("{level}★{}", term.as_str()),
            None => level.to_owned(),
        });
    }
    INTERNAL.is_match(compact).then(|| compact.replace([',', '，'], ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fold;

    #[test]
    fn classification_marks_and_misreadings() {
        for (line, want) in [
            ("秘密★1年", Some("秘密★1年")),
            ("秘密*1年", Some("秘密★1年")),
            ("秘密 1年", Some("秘密★1年")),
            ("机密★10年", Some("机密★10年")),
            ("绝密", Some("绝密")),
            ("机密", Some("机密")),
            ("内部资料", Some("内部资料")),
            ("内部资料 注意保存", Some("内部资料注意保存")),
            ("注意保密", Some("注意保密")),
            ("本材料不涉及秘密", None),
            ("内容应不涉密", None),
            ("秘密文件管理办法", None),
            ("严守工作秘密", None),
        ] {
            assert_eq!(classification(&fold(line)).as_deref(), want, "{line}");
        }
    }
}
