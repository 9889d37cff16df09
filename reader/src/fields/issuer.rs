//! The 责任者 (发文机关): the red header above the 文号, the organisation a title names, or the
//! signature above the date.

use super::classification::{COPY_OR_URGENCY, classification};
use super::title::{cjk_count, is_rule};
use super::{Field, Norm, field};

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

pub(super) fn org_like(s: &str) -> bool {
    let n = s.chars().count();
    (3..=40).contains(&n)
        && ORG_ENDINGS.iter().any(|e| s.ends_with(e))
        && !s.contains('，')
        && !s.contains('。')
}

/// The 发文机关: the header lines above the 文号 (「文件」 dropped, a wrapped 「局」 put back, joint
/// issuers joined with 「、」), checked against the title's own prefix before 「关于」; without a
/// header, that prefix or the signature above the 成文日期.
pub(super) fn issuer(
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
