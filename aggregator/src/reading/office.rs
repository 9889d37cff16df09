//! What the office does with what was read: releases a held file, leaves blank pages out of the
//! printout, corrects a field, searches.
//! Audited and published; the API and the dashboard's forms both come here.

use jiff::Timestamp;
use yingjian_shared::{
    BlankPages, EventKind, EvidenceEntry, FactCorrection, FieldName, HoldRelease, ItemCode, RelPath,
    SearchHit,
};

use crate::auth::Caller;
use crate::db::{AuditEntry, Correction, OfficeMark, SearchRow, Version};
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// Longest search text accepted.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most answers of one search.
const MAX_HITS: u32 = 200;

fn entry(caller: &Caller, department: &str, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at: Timestamp::now(),
        department: Some(department.to_string()),
        agent: Some(caller.agent.clone()),
        host: caller.host.clone(),
        action: action.into(),
        detail,
    }
}

/// The department's current record at `path`.
pub(crate) async fn record(
    state: &Services,
    department: &str,
    path: &RelPath,
) -> AppResult<(String, EvidenceEntry)> {
    let id = state
        .catalogue
        .department(department)
        .map(|d| d.id.clone())
        .ok_or_else(|| AppError::Unprocessable(format!("没有名为“{department}”的责任单位")))?;
    let found = state.db.evidence(Some(id.clone())).await?.into_iter().find(|r| &r.path == path);
    let record = found.ok_or_else(|| AppError::NotFound(format!("{department}没有报送文件“{path}”")))?;
    Ok((id, record))
}

/// Releases a file held for its 密级 mark (or holds it again).
pub async fn apply_hold(state: &Services, caller: &Caller, hold: HoldRelease) -> AppResult<()> {
    caller.require_office()?;
    let (department, r) = record(state, &hold.department, &hold.path).await?;
    let detail = if hold.release {
        "解除密级暂扣，同意报送".to_string()
    } else {
        "恢复密级暂扣".to_string()
    };
    let audit = (hold.release, "hold", detail);
    mark(state, caller, OfficeMark::HoldReleased, &department, &r, audit).await
}

/// Leaves a file's blank pages (as the scan checks found them) out of the printout, or prints
/// them again. Refused for a file with no blank page.
pub async fn apply_blank_pages(state: &Services, caller: &Caller, b: BlankPages) -> AppResult<()> {
    caller.require_office()?;
    let (department, r) = record(state, &b.department, &b.path).await?;
    let blank = state.knowledge().await?.blank_pages(&r);
    if b.omit && blank.is_empty() {
        return Err(AppError::Unprocessable(format!("{}没有空白页", b.path)));
    }
    let detail = if b.omit {
        format!("纸质版略去空白页（第{}页）", crate::plan::page_list(&blank))
    } else {
        "纸质版恢复打印空白页".to_string()
    };
    mark(state, caller, OfficeMark::BlankPagesDropped, &department, &r, (b.omit, "blank_pages", detail)).await
}

/// Gives (`on`) or takes back the office's mark on the version of the file on record, audited as
/// `action` with 「path：detail」, and tells the pages.
async fn mark(
    state: &Services,
    caller: &Caller,
    mark: OfficeMark,
    department: &str,
    r: &EvidenceEntry,
    (on, action, detail): (bool, &str, String),
) -> AppResult<()> {
    let audit = entry(caller, department, action, format!("{}：{detail}", r.path));
    let version = Version {
        department: department.to_string(),
        path: r.path.to_string(),
        sha256: r.sha256.to_string(),
    };
    state.db.set_mark(mark, version, on, audit).await?;
    state.publish(EventKind::Read, Some(department), Some(r.path.clone()), None);
    Ok(())
}

/// Corrects one field of a file's reading (an empty value takes the correction back).
pub async fn apply_correction(state: &Services, caller: &Caller, c: FactCorrection) -> AppResult<()> {
    caller.require_office()?;
    let value = c.value.trim().to_string();
    if value.chars().count() > yingjian_shared::limits::CAPTION_CHARS {
        return Err(AppError::Unprocessable(format!(
            "{}过长（最多 {} 字）",
            c.field.label(),
            yingjian_shared::limits::CAPTION_CHARS
        )));
    }
    if c.field == FieldName::Date && !value.is_empty() && !is_date(&value) {
        return Err(AppError::Unprocessable("日期请写成 2021-03-05 或 2021-03".into()));
    }
    let (department, r) = record(state, &c.department, &c.path).await?;
    let detail = if value.is_empty() {
        format!("{}：{}恢复为识别结果", c.path, c.field.label())
    } else {
        format!("{}：{}改为“{value}”", c.path, c.field.label())
    };
    let audit = entry(caller, &department, "correct", detail);
    let correction = Correction {
        department: department.clone(),
        path: r.path.to_string(),
        sha256: r.sha256.to_string(),
        field: c.field,
        value,
    };
    state.db.correct(correction, audit).await?;
    state.publish(EventKind::Read, Some(&department), Some(c.path), None);
    Ok(())
}

/// `YYYY-MM-DD` or `YYYY-MM`, a real day.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let num = |s: &str, len: usize| s.len() == len && s.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [y, m] => num(y, 4) && num(m, 2) && (1..=12).contains(&m.parse::<u8>().unwrap_or(0)),
        [y, m, d] => {
            num(y, 4) && num(m, 2) && num(d, 2) && jiff::civil::Date::strptime("%Y-%m-%d", text).is_ok()
        }
        _ => false,
    }
}

/// Files whose name, caption, fields or read text contain `query`: the whole city for the
/// office, its own files for a department. Best first: a match in a field or a name before
/// one in the text only.
pub async fn search(state: &Services, caller: &Caller, query: &str) -> AppResult<Vec<SearchHit>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::Unprocessable(format!("搜索内容过长（最多 {MAX_QUERY_CHARS} 字）")));
    }
    let rows = state.db.search(query.to_string(), caller.department.clone(), MAX_HITS).await?;
    let mut hits: Vec<(u8, SearchHit)> = rows
        .into_iter()
        .filter_map(|row| {
            let rank = rank(&row, query);
            let path = RelPath::parse(&row.path).ok()?;
            let item = row.item.as_deref().and_then(|i| i.parse::<ItemCode>().ok());
            Some((
                rank,
                SearchHit { department: row.department.clone(), item, snippet: snippet(&row, query), path },
            ))
        })
        .collect();
    hits.sort_by_key(|h| h.0);
    Ok(hits.into_iter().map(|(_, h)| h).collect())
}

/// Lower is better.
fn rank(row: &SearchRow, query: &str) -> u8 {
    let has = |v: &Option<String>| v.as_deref().is_some_and(|v| v.contains(query));
    if has(&row.doc_number) || has(&row.title) {
        0
    } else if row.path.contains(query) || has(&row.caption) {
        1
    } else {
        2
    }
}

/// The text around the match, the match between 【 and 】.
fn snippet(row: &SearchRow, query: &str) -> String {
    let sources =
        [row.around.as_deref(), row.title.as_deref(), row.caption.as_deref(), Some(row.path.as_str())];
    let text = sources.into_iter().flatten().find(|t| t.contains(query)).unwrap_or(row.path.as_str());
    let flat: String = text.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
    flat.replacen(query, &format!("【{query}】"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_the_office_may_type() {
        assert!(is_date("2021-03-05"));
        assert!(is_date("2021-03"));
        assert!(!is_date("2021-02-30"));
        assert!(!is_date("2021-13"));
        assert!(!is_date("20210305"));
    }

    #[test]
    fn snippets_mark_the_match() {
        let row = SearchRow {
            department: "gaj".into(),
            path: "08.03 x/a.pdf".into(),
            item: Some("8.3".into()),
            caption: None,
            doc_number: None,
            title: None,
            around: Some("开展质量\n提升行动".into()),
        };
        assert_eq!(snippet(&row, "提升"), "开展质量 【提升】行动");
        assert_eq!(rank(&row, "提升"), 2);
    }
}
