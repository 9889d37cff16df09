//! What a document's caption or file name says about it, for the 目录's archival columns
//! (DA/T 22-2015): its 文号, its date, its 题名 and who issued it. Heuristics over the text the
//! clerk gave; whatever is not clearly there is left empty, never guessed.

use std::sync::LazyLock;

use regex::Regex;

/// CJK ideographs (basic block and extension A), without Unicode tables in the regex crate.
const HAN: &str = r"\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}";

/// `平质强办〔2022〕1号`, also with `[]`, `［］` or `【】` around the year.
static DOC_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"([{HAN}A-Za-z]{{1,16}})\s*[〔\[［【]\s*((?:19|20)[0-9]{{2}})\s*[〕\]］】]\s*第?([0-9]{{1,5}})\s*号"
    ))
    .expect("a valid pattern")
});

/// Dates as people write them: `2021年3月5日`, `2021.03.05` (or `-`, `/`), `20210305`, `2021年3月`.
static FULL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"((?:19|20)[0-9]{2})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日").expect("a valid pattern")
});
static DOTTED_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9])((?:19|20)[0-9]{2})([.\-/．])([0-9]{1,2})([.\-/．])([0-9]{1,2})(?:[^0-9]|$)")
        .expect("a valid pattern")
});
static COMPACT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9])((?:19|20)[0-9]{2})([0-9]{2})([0-9]{2})(?:[^0-9]|$)").expect("a valid pattern")
});
static MONTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"((?:19|20)[0-9]{2})\s*年\s*([0-9]{1,2})\s*月").expect("a valid pattern"));

/// A running number in front of a file name: `01 `, `1.`, `01-`, `(1)`, `1、`, `第1`.
static NUMBER_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[0-9]{1,4}\s*[-_.、．)）\s]|[（(][0-9]{1,4}[)）]|第[0-9]{1,4}[号个份]?\s*[-_.、．\s]?)\s*",
    )
    .expect("a valid pattern")
});

/// Words that end the name of an issuing body (`平顶山市人民政府`, `…领导小组办公室`, `…局`).
const BODY_ENDINGS: [&str; 16] = [
    "政府",
    "办公室",
    "办公厅",
    "委员会",
    "小组",
    "局",
    "厅",
    "委",
    "办",
    "部",
    "院",
    "中心",
    "所",
    "站",
    "队",
    "署",
];

fn full_width_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect()
}

/// The 发文字号 the text carries, written the standard way (`平质强办〔2022〕1号`).
pub fn doc_number(text: &str) -> Option<String> {
    let text = full_width_digits(text);
    let m = DOC_NUMBER.captures(&text)?;
    let mut body = &m[1];
    // "关于印发平质强办〔2022〕1号…": the body's abbreviation follows the verb.
    for verb in ["关于印发", "印发", "转发", "关于"] {
        if let Some((_, after)) = body.rsplit_once(verb) {
            body = after;
        }
    }
    if body.is_empty() {
        return None;
    }
    let number: u32 = m[3].parse().ok()?;
    Some(format!("{body}〔{}〕{number}号", &m[2]))
}

fn valid(year: &str, month: &str, day: Option<&str>) -> Option<String> {
    let (y, m): (u32, u32) = (year.parse().ok()?, month.parse().ok()?);
    if !(1..=12).contains(&m) {
        return None;
    }
    match day {
        None => Some(format!("{y:04}{m:02}")),
        Some(day) => {
            let d: u32 = day.parse().ok()?;
            let last = jiff::civil::Date::new(y as i16, m as i8, 1).ok()?.days_in_month() as u32;
            (1..=last).contains(&d).then(|| format!("{y:04}{m:02}{d:02}"))
        }
    }
}

/// The document's date the text carries, as DA/T 22 writes it: `20210305`, or `202103` when
/// only the month is given. A 文号's year is not a date.
pub fn doc_date(text: &str) -> Option<String> {
    let text = full_width_digits(text);
    let text = DOC_NUMBER.replace_all(&text, " ");
    if let Some(date) = FULL_DATE.captures_iter(&text).find_map(|c| valid(&c[1], &c[2], Some(&c[3]))) {
        return Some(date);
    }
    if let Some(date) = DOTTED_DATE
        .captures_iter(&text)
        .filter(|c| c[2] == c[4])
        .find_map(|c| valid(&c[1], &c[3], Some(&c[5])))
    {
        return Some(date);
    }
    if let Some(date) = COMPACT_DATE.captures_iter(&text).find_map(|c| valid(&c[1], &c[2], Some(&c[3]))) {
        return Some(date);
    }
    MONTH.captures_iter(&text).find_map(|c| valid(&c[1], &c[2], None))
}

/// The 题名: the caption, else the file name without its extension; without a running number
/// in front either way (the server derives a caption from the name when none is given).
pub fn title(caption: Option<&str>, file_name: &str) -> String {
    let text = match caption.map(str::trim).filter(|c| !c.is_empty()) {
        Some(caption) => caption,
        None => file_name.rsplit_once('.').map_or(file_name, |(stem, _)| stem),
    };
    let without = NUMBER_PREFIX.replace(text, "");
    if without.trim().is_empty() { text.trim().to_string() } else { without.trim().to_string() }
}

/// The issuing body when the 题名 names one the usual way (`平顶山市人民政府关于…的通知`).
pub fn issuer(title: &str) -> Option<String> {
    let (before, _) = title.split_once("关于")?;
    let before = DOC_NUMBER.replace_all(before, "");
    let before = before.trim_matches(|c: char| c.is_whitespace() || "-_、，,（）()【】".contains(c));
    let ok = (2..=30).contains(&before.chars().count())
        && before.chars().all(|c| ('\u{3400}'..='\u{9FFF}').contains(&c) || "（）".contains(c))
        && BODY_ENDINGS.iter().any(|e| before.ends_with(e));
    ok.then(|| before.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_numbers_in_the_ways_they_are_written() {
        let cases = [
            ("平质强办〔2022〕1号 关于印发质量工作要点的通知", Some("平质强办〔2022〕1号")),
            ("关于开展质量月活动的通知（平政办[2021]12号）", Some("平政办〔2021〕12号")),
            ("豫质发【2021】3号", Some("豫质发〔2021〕3号")),
            ("豫市监［２０２１］０７号-通知", Some("豫市监〔2021〕7号")),
            ("关于印发平质强办〔2022〕1号文件的通知", Some("平质强办〔2022〕1号")),
            ("2021年质量工作总结", None),
            ("照片[1]", None),
            ("第3号令", None),
        ];
        for (text, expected) in cases {
            assert_eq!(doc_number(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn dates_in_the_ways_they_are_written() {
        let cases = [
            ("2021年3月5日质量工作会议纪要", Some("20210305")),
            ("会议纪要 2021.03.05", Some("20210305")),
            ("检查记录2021-3-15", Some("20210315")),
            ("20210305 现场照片", Some("20210305")),
            ("2021年3月质量月活动", Some("202103")),
            ("平质强办〔2022〕1号 关于印发要点的通知", None),
            ("质量工作总结", None),
            ("2021年度质量工作总结", None),
            ("20211340 编号", None),
            ("2021年2月30日", Some("202102")),
            ("扫描件123456789012", None),
        ];
        for (text, expected) in cases {
            assert_eq!(doc_date(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn titles_lose_the_running_number_and_the_extension() {
        assert_eq!(title(None, "01 关于质量工作的通知.pdf"), "关于质量工作的通知");
        assert_eq!(title(None, "1.现场照片.jpg"), "现场照片");
        assert_eq!(title(None, "(2)检查记录.pdf"), "检查记录");
        assert_eq!(title(None, "3、总结.docx"), "总结");
        assert_eq!(title(None, "2021年总结.pdf"), "2021年总结");
        assert_eq!(title(None, "12.pdf"), "12");
        assert_eq!(title(Some(" 质量月启动仪式 "), "01 a.jpg"), "质量月启动仪式");
    }

    #[test]
    fn the_issuer_when_the_title_names_one() {
        assert_eq!(issuer("平顶山市人民政府关于加强质量工作的意见").as_deref(), Some("平顶山市人民政府"));
        assert_eq!(
            issuer("平顶山市质量强市工作领导小组办公室关于印发要点的通知").as_deref(),
            Some("平顶山市质量强市工作领导小组办公室")
        );
        assert_eq!(issuer("关于加强质量工作的意见"), None);
        assert_eq!(issuer("会议上关于质量的讲话"), None);
    }
}
