//! Names sorted as people number them: 案例二 before 案例十一, `2` before `11`. Runs of Arabic
//! digits and of Chinese numerals (一 … 九十九, 百, 零/〇, 两) compare as numbers.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(u64),
    Text(String),
}

fn chinese_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn is_chinese_numeral(c: char) -> bool {
    chinese_digit(c).is_some() || matches!(c, '十' | '百')
}

/// The value of a run of Chinese numerals: 十一 = 11, 二十 = 20, 一百零五 = 105.
fn chinese_value(run: &str) -> u64 {
    let (mut total, mut current) = (0, 0);
    for c in run.chars() {
        match c {
            '十' => {
                total += current.max(1) * 10;
                current = 0;
            }
            '百' => {
                total += current.max(1) * 100;
                current = 0;
            }
            c => current = current * 10 + chinese_digit(c).unwrap_or(0),
        }
    }
    total + current
}

fn parts(name: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out.push(Part::Number(run.parse().unwrap_or(u64::MAX)));
        } else if is_chinese_numeral(chars[i]) {
            while i < chars.len() && is_chinese_numeral(chars[i]) {
                i += 1;
            }
            out.push(Part::Number(chinese_value(&chars[start..i].iter().collect::<String>())));
        } else {
            while i < chars.len() && !chars[i].is_ascii_digit() && !is_chinese_numeral(chars[i]) {
                i += 1;
            }
            out.push(Part::Text(chars[start..i].iter().collect()));
        }
    }
    out
}

/// Compares two names as people number them; equal numbers fall back to the names themselves.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_come_in_the_order_they_are_numbered() {
        let mut names = vec![
            "案例十一 假冒伪劣.pdf",
            "案例二 商标.pdf",
            "案例十 专利.pdf",
            "案例一 质量.pdf",
            "案例三.pdf",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["案例一 质量.pdf", "案例二 商标.pdf", "案例三.pdf", "案例十 专利.pdf", "案例十一 假冒伪劣.pdf"]
        );
        let mut arabic = vec!["案例10.pdf", "案例2.pdf", "案例1.pdf"];
        arabic.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(arabic, ["案例1.pdf", "案例2.pdf", "案例10.pdf"]);
        assert_eq!(chinese_value("一百零五"), 105);
        assert_eq!(chinese_value("二十一"), 21);
    }
}
