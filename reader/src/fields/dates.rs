//! The 成文日期: a line that is a date alone (Arabic, dotted or Chinese numerals), preferring the
//! one under the signature.

use std::sync::LazyLock;

use regex::Regex;

use super::Norm;
use super::doc_number::fix_digits;
use super::issuer::org_like;

static ARABIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<y>[0-9]{4})年(?P<m>[0-9]{1,2})月(?:(?P<d>[0-9]{1,2})日?)?$").expect("a valid pattern")
});

static DOTTED_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<y>[0-9]{4})[.\-/](?P<m>[0-9]{1,2})[.\-/](?P<d>[0-9]{1,2})$").expect("a valid pattern")
});

static CHINESE_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<y>[〇零○一二三四五六七八九0O]{4})年(?P<m>[一二三四五六七八九十]{1,3})月(?:(?P<d>[一二三四五六七八九十廿]{1,3})日)?$")
        .expect("a valid pattern")
});

/// A line that is a date alone (in brackets at most) → `YYYY-MM-DD` or `YYYY-MM`.
pub(super) fn date_alone(compact: &str) -> Option<String> {
    if compact.contains("印发") {
        return None;
    }
    let inner = compact.trim_start_matches(['(', '（', '[']).trim_end_matches([')', '）', ']', '。', '.']);
    let fixed = fix_digits(inner);
    let (year, month, day) =
        if let Some(c) = ARABIC_DATE.captures(&fixed).or_else(|| DOTTED_DATE.captures(&fixed)) {
            let day = match c.name("d") {
                Some(d) => Some(d.as_str().parse().ok()?),
                None => None,
            };
            (c["y"].parse().ok()?, c["m"].parse().ok()?, day)
        } else {
            let c = CHINESE_DATE.captures(inner)?;
            let year = c["y"].chars().try_fold(0u32, |acc, ch| Some(acc * 10 + chinese_digit(ch)?))?;
            let day = match c.name("d") {
                Some(d) => Some(chinese_number(d.as_str())?),
                None => None,
            };
            (year, chinese_number(&c["m"])?, day)
        };
    if !(1949..=2100).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    match day {
        Some(day) if day >= 1 && day <= days_in(year, month) => {
            Some(format!("{year:04}-{month:02}-{day:02}"))
        }
        Some(_) => None,
        None => Some(format!("{year:04}-{month:02}")),
    }
}

/// A date (`YYYY-MM-DD` or `YYYY-MM`) in a year still to come: a misread digit (2027 for 2022),
/// never a document's date. Its line still marks where the signature block is.
pub(super) fn to_come(date: &str) -> bool {
    date.get(..4).and_then(|y| y.parse::<u32>().ok()).is_some_and(|year| year > this_year())
}

/// The current year, by the clock (to within hours of New Year: enough to refuse a year to come).
fn this_year() -> u32 {
    const YEAR_SECS: u64 = 31_556_952; // 365.2425 days
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    1970 + u32::try_from(now / YEAR_SECS).unwrap_or(0)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' | '○' | '0' | 'O' => 0,
        '一' => 1,
        '二' => 2,
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

/// 一 … 三十一 (十二, 二十, 廿一).
fn chinese_number(s: &str) -> Option<u32> {
    let s = s.replace('廿', "二十");
    match s.split_once('十') {
        None => {
            let mut chars = s.chars();
            let d = chinese_digit(chars.next()?)?;
            chars.next().is_none().then_some(d)
        }
        Some((tens, units)) => {
            let tens = if tens.is_empty() { 1 } else { chinese_number(tens)? };
            let units = if units.is_empty() { 0 } else { chinese_number(units)? };
            (tens <= 3 && units <= 9).then_some(tens * 10 + units)
        }
    }
}

/// The 成文日期: the last line that is a date alone, preferring one right under a signature
/// (an organisation's name), so a date-only row of an attachment after the signature does not
/// win. A date inside a sentence (「于2021年3月1日召开」) is never one.
pub(super) fn date(lines: &[Norm<'_>]) -> Option<(String, usize)> {
    let dated: Vec<(usize, String)> =
        lines.iter().enumerate().filter_map(|(i, l)| Some((i, date_alone(&l.compact)?))).collect();
    let signed = dated
        .iter()
        .rev()
        .find(|(i, _)| (1..=2).any(|back| i.checked_sub(back).is_some_and(|j| org_like(&lines[j].compact))));
    signed.or(dated.last()).map(|(i, value)| (value.clone(), *i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fold;

    #[test]
    fn dates_in_every_form() {
        for (line, want) in [
            ("2021年3月5日", Some("2021-03-05")),
            ("二〇二一年三月五日", Some("2021-03-05")),
            ("二○二一年十二月二十八日", Some("2021-12-28")),
            ("二O二一年十一月三十日", Some("2021-11-30")),
            ("二零二二年一月十二日", Some("2022-01-12")),
            ("2021年12月", Some("2021-12")),
            ("2021 年 12 月 28 日", Some("2021-12-28")),
            ("（2022年1月12日）", Some("2022-01-12")),
            ("2O21年l2月28日", Some("2021-12-28")),
            ("２０２１年３月５日", Some("2021-03-05")),
            ("2021.03.05", Some("2021-03-05")),
            ("2021年2月30日", None),
            ("2021年13月1日", None),
            ("2021年3月5日印发", None),
            ("于2021年3月1日召开", None),
            ("二〇二一年三月", Some("2021-03")),
        ] {
            assert_eq!(date_alone(&fold(line)).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn a_year_to_come_is_a_misread() {
        let year = this_year();
        assert!(to_come(&format!("{}-01-22", year + 1)));
        assert!(to_come("2127-01"));
        assert!(!to_come(&format!("{year}-01-22")));
        assert!(!to_come("2021-03-05"));
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(chinese_number("十"), Some(10));
        assert_eq!(chinese_number("十二"), Some(12));
        assert_eq!(chinese_number("二十"), Some(20));
        assert_eq!(chinese_number("三十一"), Some(31));
        assert_eq!(chinese_number("廿一"), Some(21));
        assert_eq!(chinese_number("五"), Some(5));
        assert_eq!(chinese_number("五五"), None);
        assert_eq!(chinese_number("十十"), None);
    }
}
