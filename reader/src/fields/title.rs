//! The 题名: the lines after the 文号 up to the addressee, or a report's heading, with what tells
//! a title line from body text.

use super::Norm;
use super::classification::{COPY_OR_URGENCY, classification};
use super::dates::date_alone;
use super::issuer::org_like;

/// Title lines after the 文号 at most (a GB/T 9704 title is one to three lines).
const TITLE_LINES: usize = 4;
/// A title line at 二号 size holds at most about 20 characters; a body line at 三号 about 28.
const TITLE_LINE_CHARS: usize = 26;

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

fn is_title_end(s: &str) -> bool {
    TITLE_ENDINGS.iter().any(|e| s.ends_with(e))
}

/// A line that is only a rule (OCR reads the red line as dashes or 一一一).
pub(super) fn is_rule(s: &str) -> bool {
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
pub(super) fn title_after_number(lines: &[Norm<'_>], at: usize) -> Vec<usize> {
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
pub(super) fn heading(lines: &[Norm<'_>], head: &[usize]) -> Vec<usize> {
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

pub(super) fn cjk_count(s: &str) -> usize {
    s.chars().filter(|c| matches!(u32::from(*c), 0x3400..=0x4dbf | 0x4e00..=0x9fff)).count()
}

/// A title without trailing punctuation or a file extension.
pub(super) fn trim_title(s: &str) -> String {
    let mut t = s.trim_end_matches(['。', '.', '，', ',', '：', ':', '；']).to_owned();
    for ext in [".pdf", ".docx", ".doc", ".ofd", ".wps", ".jpg", ".png"] {
        if t.to_lowercase().ends_with(ext) {
            t.truncate(t.len() - ext.len());
        }
    }
    t
}
