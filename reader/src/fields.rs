//! The archival fields of a document (DA/T 22-2015 目录 columns) found in its text: 文号,
//! 责任者 (发文机关), 成文日期, 题名, and the 密级 mark. A field below its confidence bar is `None`:
//! blank rather than wrong. Nothing here ever looks at a file's own dates.
//!
//! The rules follow GB/T 9704 (红头文件): the 发文机关标志 on top, the 发文字号 alone on its line
//! under it, the title, the addressee ending in 「：」, the body, the signature block with the
//! 成文日期; the 密级 top left. Plain reports (自评报告, 工作总结, 方案) have a heading line or two, and a
//! signature block. They read text layers and OCR alike, so they tolerate OCR's misreadings
//! (〔〕 as 【】 [] () ［］ （） 「」, a lost 〕, 〇 as O/0/○, ★ lost or read as *).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One line of a document's text, in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    /// 1-based page number.
    pub page: u32,
    /// OCR confidence (0..1); 1.0 for a text layer or an Office file's text.
    pub confidence: f32,
}

/// A value and how sure the reader is of it (the lowest confidence of the lines it came from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub value: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    /// 文号, normalised to 〔〕 brackets: 「平市监〔2021〕12号」.
    pub doc_number: Option<Field>,
    /// 发文机关 in full (joint issuers joined with 「、」).
    pub issuer: Option<Field>,
    /// 成文日期: `YYYY-MM-DD` (or `YYYY-MM` when the day is not printed).
    pub date: Option<Field>,
    /// 题名, without 文号, date or file extension.
    pub title: Option<Field>,
    /// 密级 mark as printed: 「秘密★1年」, 「机密」, 「内部资料」, 「注意保密」.
    pub classification: Option<Field>,
}

/// A field whose lines were read with less confidence than this is left blank.
pub const MIN_CONFIDENCE: f32 = 0.5;

/// Lines of page 1 searched for the 文号 and a report's heading.
const HEAD_LINES: usize = 30;
/// Lines of page 1 searched for the 密级 mark (it is printed top left, above everything).
const MARK_LINES: usize = 6;
/// Title lines after the 文号 at most (a GB/T 9704 title is one to three lines).
const TITLE_LINES: usize = 4;
/// A title line at 二号 size holds at most about 20 characters; a body line at 三号 about 28.
const TITLE_LINE_CHARS: usize = 26;

const HAN: &str = r"\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}";

static DOC_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?P<prefix>[{HAN}]{{2,10}}?)[〔【\[［(（「〖{{｛〈《<]?(?P<year>(?:19|20)[0-9]{{2}})[〕】\]］)）」〗}}｝〉》>]?第?(?P<number>[0-9]{{1,4}})号(?:签发人[:：].{{0,12}})?$"
    ))
    .expect("a valid pattern")
});

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

static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<level>绝密|机密|秘密)(?:[★☆✩✭*＊](?P<term>[0-9]{1,2}年|[0-9]{1,2}个月|长期|启用前)?|(?P<bare>[0-9]{1,2}年|[0-9]{1,2}个月|长期))?$")
        .expect("a valid pattern")
});

static INTERNAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:内部资料(?:[,，]?注意保[存管密])?|注意保密|内部文件)$").expect("a valid pattern")
});

/// 份号 (a six-digit copy number) and 紧急程度 (特急/加急, with ★ and a term).
static COPY_OR_URGENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[0-9]{1,8}|(?:特急|加急|平急|急件)[★*]?.{0,4})$").expect("a valid pattern")
});

/// Words a document title ends with.
const TITLE_ENDINGS: &[&str] = &[
    "报告",
    "总结",
    "方案",
    "通知",
    "意见",
    "办法",
    "计划",
    "规划",
    "制度",
    "细则",
    "要点",
    "决定",
    "通报",
    "纪要",
    "说明",
    "请示",
    "批复",
    "函",
    "规定",
    "标准",
    "公告",
    "通告",
    "决议",
    "章程",
    "汇报",
    "情况",
    "清单",
    "目录",
    "名单",
    "简报",
    "材料",
    "台账",
    "记录",
    "一览表",
    "表",
    "书",
    "协议",
    "措施",
    "机制",
    "安排",
    "提纲",
    "指南",
    "守则",
    "预案",
    "公示",
    "通讯",
    "答复",
];

/// Words an organisation's name ends with.
const ORG_ENDINGS: &[&str] = &[
    "局",
    "委员会",
    "委",
    "办公室",
    "办",
    "政府",
    "厅",
    "院",
    "部",
    "会",
    "中心",
    "公司",
    "处",
    "所",
    "站",
    "队",
    "社",
    "府",
    "联",
    "馆",
    "集团",
    "小组",
    "学校",
    "大学",
    "科",
    "室",
    "署",
    "行",
    "团",
    "组",
];

/// The fields in a document's lines (all pages, in reading order).
pub fn extract(lines: &[Line]) -> Fields {
    let lines: Vec<Norm<'_>> = lines
        .iter()
        .map(|l| Norm { compact: fold(&l.text), line: l })
        .filter(|n| !n.compact.is_empty())
        .collect();
    let first_page = lines.first().map_or(1, |l| l.line.page);
    let head: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].line.page == first_page).take(HEAD_LINES).collect();

    let number_at = head.iter().copied().find(|&i| doc_number(&lines[i].compact).is_some());
    let doc_number_field =
        number_at.and_then(|i| doc_number(&lines[i].compact).and_then(|value| field(value, &[&lines[i]])));

    let title_lines = match number_at {
        Some(i) => title_after_number(&lines, i),
        None => heading(&lines, &head),
    };
    let title = (!title_lines.is_empty()).then(|| {
        let text: String = title_lines.iter().map(|&i| lines[i].compact.as_str()).collect();
        trim_title(&text)
    });
    let title_field = title.as_ref().and_then(|t| {
        let used: Vec<&Norm<'_>> = title_lines.iter().map(|&i| &lines[i]).collect();
        field(t.clone(), &used)
    });

    let (date_field, date_at) = match date(&lines) {
        Some((value, i)) => (field(value, &[&lines[i]]), Some(i)),
        None => (None, None),
    };

    let issuer_field = issuer(&lines, &head, number_at, title.as_deref(), &title_lines, date_at);
    let classification = head
        .iter()
        .take(MARK_LINES)
        .find_map(|&i| classification(&lines[i].compact).and_then(|value| field(value, &[&lines[i]])));

    Fields {
        doc_number: doc_number_field,
        issuer: issuer_field,
        date: date_field,
        title: title_field,
        classification,
    }
}

/// A line with its folded text: no white space, full-width digits and letters as ASCII.
struct Norm<'a> {
    compact: String,
    line: &'a Line,
}

fn field(value: String, from: &[&Norm<'_>]) -> Option<Field> {
    let confidence = from.iter().map(|n| n.line.confidence).fold(1.0f32, f32::min);
    (confidence >= MIN_CONFIDENCE && !value.is_empty()).then_some(Field { value, confidence })
}

/// White space removed, full-width ASCII folded to ASCII (「２０２１」 → 「2021」), except the
/// full-width punctuation Chinese text uses itself (：，（）；！？).
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '：' | '，' | '（' | '）' | '；' | '！' | '？' | '［' | '］' | '｛' | '｝' | '＊' => {
                c
            }
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A line that is a 文号 alone → the 文号 with 〔〕 brackets.
fn doc_number(compact: &str) -> Option<String> {
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
fn fix_digits(s: &str) -> String {
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

/// The 密级 mark on a short line: 「秘密★1年」 (★ restored where OCR lost it or read it as *),
/// 「机密」, 「内部资料」, 「注意保密」.
fn classification(compact: &str) -> Option<String> {
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

/// A line that is a date alone (in brackets at most) → `YYYY-MM-DD` or `YYYY-MM`.
fn date_alone(compact: &str) -> Option<String> {
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
fn date(lines: &[Norm<'_>]) -> Option<(String, usize)> {
    let dated: Vec<(usize, String)> =
        lines.iter().enumerate().filter_map(|(i, l)| Some((i, date_alone(&l.compact)?))).collect();
    let signed = dated
        .iter()
        .rev()
        .find(|(i, _)| (1..=2).any(|back| i.checked_sub(back).is_some_and(|j| org_like(&lines[j].compact))));
    signed.or(dated.last()).map(|(i, value)| (value.clone(), *i))
}

fn org_like(s: &str) -> bool {
    let n = s.chars().count();
    (3..=40).contains(&n)
        && ORG_ENDINGS.iter().any(|e| s.ends_with(e))
        && !s.contains('，')
        && !s.contains('。')
}

fn is_title_end(s: &str) -> bool {
    TITLE_ENDINGS.iter().any(|e| s.ends_with(e))
}

/// A line that is only a rule (OCR reads the red line as dashes or 一一一).
fn is_rule(s: &str) -> bool {
    s.chars().all(|c| matches!(c, '-' | '—' | '–' | '_' | '一' | '=' | '─' | '━' | '.' | '…' | '·'))
}

fn ends_sentence(s: &str) -> bool {
    s.ends_with(['。', '；', ';', '，', ',', '！', '？'])
}

fn ends_addressee(s: &str) -> bool {
    s.ends_with(['：', ':'])
}

/// The title lines after the 文号: up to the addressee (the line ending in 「：」), stopping at
/// anything that reads as body text.
fn title_after_number(lines: &[Norm<'_>], at: usize) -> Vec<usize> {
    let page = lines[at].line.page;
    let mut out = Vec::new();
    for i in at + 1..lines.len() {
        let s = &lines[i].compact;
        if lines[i].line.page != page || out.len() >= TITLE_LINES {
            break;
        }
        if is_rule(s) {
            continue;
        }
        // A long line is body text, unless it is a whole title as an Office paragraph is.
        let long = s.chars().count() > TITLE_LINE_CHARS && !is_title_end(s);
        if ends_addressee(s) || ends_sentence(s) || long {
            break;
        }
        out.push(i);
        if is_title_end(s) && lines.get(i + 1).is_some_and(|n| ends_addressee(&n.compact)) {
            break;
        }
    }
    out
}

/// A report's heading: the first line of page 1 that reads as a title (after the marks, a copy
/// number and an issuer header), with the lines it wraps onto.
fn heading(lines: &[Norm<'_>], head: &[usize]) -> Vec<usize> {
    let mut k = 0;
    while k < head.len() {
        let s = &lines[head[k]].compact;
        let skip = classification(s).is_some()
            || COPY_OR_URGENCY.is_match(s)
            || is_rule(s)
            || s.starts_with("附件")
            || date_alone(s).is_some()
            || cjk_count(s) < 4
            || header_only(s);
        if !skip {
            break;
        }
        k += 1;
    }
    let Some(&first) = head.get(k) else { return Vec::new() };
    let s = &lines[first].compact;
    let long = s.chars().count() > TITLE_LINE_CHARS && !is_title_end(s);
    if ends_addressee(s) || ends_sentence(s) || long || s.chars().count() > 80 || starts_section(s) {
        return Vec::new();
    }
    let mut out = vec![first];
    let mut text = s.clone();
    for &i in head.iter().skip(k + 1).take(2) {
        let next = &lines[i].compact;
        if is_title_end(&text)
            || ends_addressee(next)
            || ends_sentence(next)
            || starts_section(next)
            || date_alone(next).is_some()
            || next.chars().count() > TITLE_LINE_CHARS
        {
            break;
        }
        text.push_str(next);
        out.push(i);
    }
    // A heading that never reaches a title word and spans lines is more likely body text.
    if out.len() > 1 && !is_title_end(&text) {
        out.truncate(1);
    }
    out
}

/// A header line made only of an issuer's name with 「文件」, which heads a 红头 without a 文号.
fn header_only(s: &str) -> bool {
    s.ends_with("文件") && org_like(s.trim_end_matches("文件"))
}

/// 「一、」「（一）」「1.」「第一章」: a section heading of the body.
fn starts_section(s: &str) -> bool {
    let mut chars = s.chars();
    let first = chars.next();
    let second = chars.next();
    matches!(
        (first, second),
        (Some('一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'), Some('、'))
    ) || s.starts_with('（') && s.chars().nth(2) == Some('）')
        || s.starts_with('第') && s.chars().nth(2).is_some_and(|c| matches!(c, '章' | '条' | '节'))
        || first.is_some_and(|c| c.is_ascii_digit()) && matches!(second, Some('.' | '、' | '．'))
}

fn cjk_count(s: &str) -> usize {
    s.chars().filter(|c| matches!(u32::from(*c), 0x3400..=0x4dbf | 0x4e00..=0x9fff)).count()
}

/// A title without trailing punctuation or a file extension.
fn trim_title(s: &str) -> String {
    let mut t = s.trim_end_matches(['。', '.', '，', ',', '：', ':', '；']).to_owned();
    for ext in [".pdf", ".docx", ".doc", ".ofd", ".wps", ".jpg", ".png"] {
        if t.to_lowercase().ends_with(ext) {
            t.truncate(t.len() - ext.len());
        }
    }
    t
}

/// The 发文机关: the header lines above the 文号 (「文件」 dropped, a wrapped 「局」 put back, joint
/// issuers joined with 「、」), checked against the title's own prefix before 「关于」; without a
/// header, that prefix or the signature above the 成文日期.
fn issuer(
    lines: &[Norm<'_>],
    head: &[usize],
    number_at: Option<usize>,
    title: Option<&str>,
    title_lines: &[usize],
    date_at: Option<usize>,
) -> Option<Field> {
    let from_title = title.and_then(title_issuer);

    if let Some(at) = number_at {
        let above: Vec<usize> = head.iter().copied().take_while(|&i| i < at).collect();
        let mut names: Vec<(String, Vec<usize>)> = Vec::new();
        for i in above {
            let s = &lines[i].compact;
            if classification(s).is_some()
                || COPY_OR_URGENCY.is_match(s)
                || is_rule(s)
                || s.contains("签发人")
            {
                continue;
            }
            let name = s.trim_end_matches("文件").trim_end_matches(['（', '(', ')', '）']);
            if name.is_empty() || cjk_count(name) == 0 {
                continue;
            }
            match names.last_mut() {
                // A wrapped tail (「局」 alone) or a name cut before its ending goes with the line above.
                Some((last, used)) if !org_like(last) || name.chars().count() <= 2 => {
                    last.push_str(name);
                    used.push(i);
                }
                _ => names.push((name.to_owned(), vec![i])),
            }
        }
        // A header wrapped inside 「文件」 (「…管理局文」 over 「件」) is trimmed once put together.
        for (name, _) in &mut names {
            let trimmed = name.trim_end_matches("文件").len();
            name.truncate(trimmed);
        }
        names.retain(|(n, _)| !n.is_empty());
        if !names.is_empty() {
            let joined: String = names.iter().map(|(n, _)| n.as_str()).collect();
            let used: Vec<&Norm<'_>> = names.iter().flat_map(|(_, u)| u.iter().map(|&i| &lines[i])).collect();
            // The black title is read more surely than the red header: a header within a few
            // misread characters of the title's prefix is that prefix.
            if let Some(prefix) = &from_title
                && names.len() == 1
                && joined != *prefix
                && close(&joined, prefix)
            {
                let used: Vec<&Norm<'_>> = title_lines.iter().map(|&i| &lines[i]).collect();
                return field(prefix.clone(), &used);
            }
            let value = names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join("、");
            return field(value, &used);
        }
    }
    if let Some(prefix) = from_title {
        let used: Vec<&Norm<'_>> = title_lines.iter().map(|&i| &lines[i]).collect();
        return field(prefix, &used);
    }
    let signer = date_at
        .and_then(|d| (1..=2).filter_map(|b| d.checked_sub(b)).find(|&j| org_like(&lines[j].compact)))?;
    field(lines[signer].compact.clone(), &[&lines[signer]])
}

/// The issuer a title names before 「关于」 (or 「印发」「转发」), or the organisation a report's
/// heading starts with (「平顶山市商务局2021年度…」).
fn title_issuer(title: &str) -> Option<String> {
    for word in ["关于", "印发", "转发"] {
        if let Some((prefix, _)) = title.split_once(word)
            && org_like(prefix)
        {
            return Some(prefix.to_owned());
        }
    }
    // A heading that opens with an organisation and then a year: the longest org-like prefix
    // before the first digit.
    let before_year: String = title.chars().take_while(|c| !c.is_ascii_digit()).collect();
    if before_year.chars().count() < title.chars().count() && org_like(&before_year) {
        return Some(before_year);
    }
    None
}

/// Whether two names differ by at most a quarter of their characters (OCR's misreadings).
fn close(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] * 4 <= a.len().max(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<Line> {
        texts.iter().map(|t| Line { text: (*t).to_owned(), page: 1, confidence: 1.0 }).collect()
    }

    fn value(f: Option<&Field>) -> Option<&str> {
        f.map(|f| f.value.as_str())
    }

    const NOTICE: &[&str] = &[
        "秘密★1年",
        "平顶山市市场监督管理局文件",
        "平市监〔2021〕12号",
        "平顶山市市场监督管理局关于开展2021年度",
        "质量提升行动的通知",
        "各县（市、区）市场监督管理局，局机关各科室：",
        "为贯彻落实质量强市战略，经研究决定，于2021年3月1日召开全市质量工作会议。本",
        "材料不涉及秘密。现将有关事项通知如下。",
        "平顶山市市场监督管理局",
        "2021年3月5日",
        "抄送：市质量强市工作领导小组办公室。",
        "平顶山市市场监督管理局办公室 2021年3月5日印发",
    ];

    #[test]
    fn a_red_header_notice_gives_every_field() {
        let f = extract(&lines(NOTICE));
        assert_eq!(value(f.doc_number.as_ref()), Some("平市监〔2021〕12号"));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
        assert_eq!(value(f.title.as_ref()), Some("平顶山市市场监督管理局关于开展2021年度质量提升行动的通知"));
        assert_eq!(value(f.date.as_ref()), Some("2021-03-05"));
        assert_eq!(value(f.classification.as_ref()), Some("秘密★1年"));
    }

    #[test]
    fn ocr_misread_brackets_are_normalised() {
        for (line, want) in [
            ("平市监【2021】12号", "平市监〔2021〕12号"),
            ("平市监[2021]12号", "平市监〔2021〕12号"),
            ("平市监(2021)12号", "平市监〔2021〕12号"),
            ("平市监［2021］7号", "平市监〔2021〕7号"),
            ("平市监（2021）7号", "平市监〔2021〕7号"),
            ("平市监「2021」7号", "平市监〔2021〕7号"),
            ("平市监(20217号", "平市监〔2021〕7号"),
            ("平市监〔2021 7号", "平市监〔2021〕7号"),
            ("平 市 监 〔 2021 〕 12 号", "平市监〔2021〕12号"),
            ("平市监〔2O21〕1O号", "平市监〔2021〕10号"),
            ("平市监〔２０２１〕１２号", "平市监〔2021〕12号"),
            ("平交〔2021〕7号", "平交〔2021〕7号"),
            ("平市监〔2021〕第3号", "平市监〔2021〕3号"),
            ("平市监〔2021〕12号签发人：张三", "平市监〔2021〕12号"),
        ] {
            assert_eq!(doc_number(&fold(line)).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn no_doc_number_in_sentences_or_odd_lines() {
        for line in [
            "根据《关于开展质量提升行动的通知》（国发〔2021〕5号）要求",
            "国发〔2021〕5号）文件精神，",
            "〔2021〕12号",
            "平市监〔1021〕12号",
            "平市监〔2021〕12",
            "第12号",
        ] {
            assert_eq!(doc_number(&fold(line)), None, "{line}");
        }
    }

    #[test]
    fn a_report_without_doc_number_gives_none_not_a_guess() {
        let f = extract(&lines(&[
            "平顶山市商务局2021年度质量工作",
            "自评报告",
            "一、基本情况",
            "2021年，我局认真贯彻落实《平顶山市质量强市工作方案》（平政〔2021〕3号）要求，于2021年3月1日召开会议。",
            "二、主要做法",
            "平顶山市商务局",
            "2022年1月12日",
        ]));
        assert_eq!(f.doc_number, None);
        assert_eq!(value(f.title.as_ref()), Some("平顶山市商务局2021年度质量工作自评报告"));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
        assert_eq!(value(f.date.as_ref()), Some("2022-01-12"));
        assert_eq!(f.classification, None);
    }

    #[test]
    fn a_single_line_report_heading() {
        let f = extract(&lines(&[
            "平顶山市商务局2021年度质量工作自评报告",
            "（2022年1月12日）",
            "今年以来，我局在市委、市政府的正确领导下开展工作。",
        ]));
        assert_eq!(value(f.title.as_ref()), Some("平顶山市商务局2021年度质量工作自评报告"));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
        assert_eq!(value(f.date.as_ref()), Some("2022-01-12"));
    }

    #[test]
    fn a_body_date_is_not_the_date() {
        let f =
            extract(&lines(&["关于召开会议的通知", "于2021年3月1日召开全市质量工作会议。", "特此通知。"]));
        assert_eq!(f.date, None);
        assert_eq!(value(f.title.as_ref()), Some("关于召开会议的通知"));
    }

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
    fn the_date_under_the_signature_wins_over_an_attachment_row() {
        let f = extract(&lines(&[
            "关于报送材料的通知",
            "各单位：",
            "请按时报送。",
            "平顶山市市场监督管理局",
            "2021年3月5日",
            "附件",
            "工作安排表",
            "2021年4月",
            "2021年5月",
        ]));
        assert_eq!(value(f.date.as_ref()), Some("2021-03-05"));
    }

    #[test]
    fn the_print_line_is_never_the_date() {
        let f = extract(&lines(&[
            "关于报送材料的通知",
            "各单位：",
            "请按时报送。",
            "平顶山市商务局办公室 2021年3月9日印发",
        ]));
        assert_eq!(f.date, None);
    }

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

    #[test]
    fn a_mark_only_among_the_first_lines() {
        let mut text: Vec<&str> = vec!["关于做好保密工作的通知", "各单位：", "请做好保密工作。"];
        text.extend(["正文第一段。", "正文第二段。", "正文第三段。", "秘密"]);
        assert_eq!(extract(&lines(&text)).classification, None);
        let f = extract(&lines(&["内部资料", "关于做好统计工作的通知", "各单位：", "正文。"]));
        assert_eq!(value(f.classification.as_ref()), Some("内部资料"));
        assert_eq!(value(f.title.as_ref()), Some("关于做好统计工作的通知"));
    }

    #[test]
    fn a_joint_header_joins_its_issuers() {
        let f = extract(&lines(&[
            "平顶山市市场监督管理局",
            "文件",
            "平顶山市商务局",
            "平市监〔2021〕30号",
            "关于联合开展质量月活动的通知",
            "各县（市、区）有关单位：",
            "正文。",
        ]));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市商务局"));
        assert_eq!(value(f.title.as_ref()), Some("关于联合开展质量月活动的通知"));
        let f = extract(&lines(&[
            "平顶山市市场监督管理局文件",
            "平顶山市商务局",
            "平市监〔2021〕30号",
            "关于联合开展质量月活动的通知",
            "各单位：",
        ]));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市商务局"));
    }

    #[test]
    fn a_wrapped_header_puts_its_tail_back() {
        let f = extract(&lines(&[
            "平顶山市人力资源和社会保障",
            "局文件",
            "平人社〔2021〕8号",
            "关于做好2021年度职称评审工作的通知",
            "各有关单位：",
        ]));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市人力资源和社会保障局"));
        let f = extract(&lines(&[
            "平顶山市市场监督管理局",
            "平顶山市人力资源和社会保障",
            "局",
            "文件",
            "平市监〔2021〕9号",
            "关于联合开展技能竞赛的通知",
            "各有关单位：",
        ]));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市人力资源和社会保障局"));
    }

    #[test]
    fn a_misread_header_is_taken_from_the_title() {
        let f = extract(&lines(&[
            "平顶山市市场监督管埋局文件",
            "平市监[2021]12号",
            "平顶山市市场监督管理局关于开展质量提升行动的通知",
            "各单位：",
        ]));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
    }

    #[test]
    fn a_header_with_copy_number_and_urgency() {
        let f = extract(&lines(&[
            "000123",
            "机密★5年",
            "特急",
            "平顶山市人民政府文件",
            "平政〔2021〕3号",
            "平顶山市人民政府",
            "关于印发质量强市建设实施方案的通知",
            "各县（市、区）人民政府，市人民政府有关部门：",
        ]));
        assert_eq!(value(f.classification.as_ref()), Some("机密★5年"));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市人民政府"));
        assert_eq!(value(f.doc_number.as_ref()), Some("平政〔2021〕3号"));
        assert_eq!(value(f.title.as_ref()), Some("平顶山市人民政府关于印发质量强市建设实施方案的通知"));
    }

    #[test]
    fn the_red_rule_read_as_dashes_is_skipped() {
        let f = extract(&lines(&[
            "平顶山市商务局文件",
            "平商〔2021〕5号",
            "————————",
            "关于开展检查的通知",
            "各单位：",
        ]));
        assert_eq!(value(f.title.as_ref()), Some("关于开展检查的通知"));
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
    }

    #[test]
    fn low_confidence_lines_give_no_field() {
        let mut l = lines(NOTICE);
        l[2].confidence = 0.3; // the 文号
        l[9].confidence = 0.45; // the date
        l[3].confidence = 0.8;
        let f = extract(&l);
        assert_eq!(f.doc_number, None);
        assert_eq!(f.date, None);
        let title = f.title.expect("title");
        assert!((title.confidence - 0.8).abs() < 1e-6);
        // The header is still found above the unreadable 文号.
        assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
    }

    #[test]
    fn the_last_page_signature_date_across_pages() {
        let mut l = lines(NOTICE);
        for line in &mut l[8..] {
            line.page = 2;
        }
        assert_eq!(value(extract(&l).date.as_ref()), Some("2021-03-05"));
    }

    #[test]
    fn empty_and_garbage_input() {
        assert_eq!(extract(&[]), Fields::default());
        let f = extract(&lines(&["", "   ", "\u{fffd}\u{fffd}", "12345", "。。。", "：", "号", "〔〕"]));
        assert_eq!(f.doc_number, None);
        assert_eq!(f.date, None);
        assert_eq!(f.classification, None);
        let long = "很".repeat(10_000);
        let _ = extract(&lines(&[&long, &long]));
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
