//! `迎检待办.txt`: what the clerk still has to do, at the root of the evidence folder, kept
//! current from the server's status and what the agent sees: missing and incomplete items, the
//! report, cases and contacts, returned files with the office's reasons, the office's notes,
//! refused, left-out and misplaced files, the deadlines and days left. UTF-8 with a BOM and CRLF
//! line ends, so that Notepad shows it; never uploaded (the folder convention ignores it);
//! rewritten only when its content changes. It says when it was written, and when the
//! server could not be asked, that what it says of the server may be out of date.

use std::path::Path;

use jiff::Timestamp;
use yingjian_shared::{
    Catalogue, DepartmentStatus, EvidenceListed, HeldFile, TODO_FILE, chinese_date_time, countdown, reminders,
};

use crate::newfile::{self, WriteError};

/// What the agent itself knows of the folder, beside the server's status.
pub struct Local<'a> {
    /// Refused by the server: path and reason.
    pub failed: &'a [(String, String)],
    /// Left out: shown name and reason.
    pub skipped: &'a [(String, &'a str)],
    pub unsorted: &'a [String],
    /// What the server read in the department's files (scan findings, dates), when it answered.
    pub read: &'a [EvidenceListed],
    /// Not read yet, and why (no permission, locked by another program).
    pub unreadable: &'a [(String, String)],
    /// Files waiting to be sent, and why sending waits, if it does.
    pub waiting: u64,
    pub held_back: Option<&'a str>,
    /// The server could not be asked just now: what it said is from this time.
    pub lost_since: Option<Timestamp>,
}

/// The to-do text for `department` at `now`.
pub fn render(
    department: &DepartmentStatus,
    held: &[HeldFile],
    catalogue: &Catalogue,
    now: Timestamp,
    local: &Local<'_>,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push_str("\r\n");
    };
    line(&mut out, &format!("{}迎检待办", department.name));
    line(&mut out, &format!("更新时间：{}", chinese_date_time(now)));
    if let Some(at) = local.lost_since {
        line(
            &mut out,
            &format!(
                "与服务器失去联系，以下内容可能已过时（服务器上的情况取自 {}）。",
                chinese_date_time(at)
            ),
        );
    }
    line(&mut out, "");
    let deadlines = &catalogue.deadlines;
    line(&mut out, "截止时间：");
    line(
        &mut out,
        &format!(
            "  联系人名单：{}（{}）",
            chinese_date_time(deadlines.contacts),
            countdown(now, deadlines.contacts)
        ),
    );
    line(
        &mut out,
        &format!(
            "  自评报告、典型案例和印证材料：{}（{}）",
            chinese_date_time(deadlines.evidence),
            countdown(now, deadlines.evidence)
        ),
    );
    line(&mut out, "  联系人名单请用本单位令牌登录迎检系统网页，在本单位页面填写。");
    line(&mut out, "");

    let lacks: Vec<String> =
        reminders::lacking(department, catalogue).iter().map(|l| format!("  {l}")).collect();
    if lacks.is_empty() {
        line(
            &mut out,
            &format!("材料已齐全（{} / {} 分）。", department.points_complete, department.points_total),
        );
    } else {
        line(
            &mut out,
            &format!(
                "还缺的材料（已齐全 {} 分，共 {} 分）：",
                department.points_complete, department.points_total
            ),
        );
        for l in &lacks {
            line(&mut out, l);
        }
    }

    let returned: Vec<String> =
        reminders::open_returns(department).iter().map(|r| format!("  {r}")).collect();
    section(&mut out, "被退回的文件（请按原因修改后，用同一文件名放回原处，或删除）：", &returned);
    let notes: Vec<String> = department
        .items
        .iter()
        .filter_map(|i| i.note.as_ref().map(|n| format!("  {}：{n}", i.code.padded())))
        .collect();
    section(&mut out, "市质量强市办公室的备注：", &notes);
    let held: Vec<String> =
        held.iter().map(|h| format!("  {}（{}）：{}", h.path, h.classification, HeldFile::ADVICE)).collect();
    section(&mut out, "标有密级、不会报送的文件：", &held);
    let scans: Vec<String> = local
        .read
        .iter()
        .flat_map(|r| r.facts.quality.iter().map(move |q| format!("  {}：{}", r.entry.path, q.advice())))
        .collect();
    section(&mut out, "扫描件有问题的文件（请重新扫描后用同一文件名放回原处）：", &scans);
    let dates: Vec<String> = local
        .read
        .iter()
        .filter(|r| r.facts.out_of_year)
        .map(|r| {
            let date = r.facts.date.as_deref().unwrap_or("");
            format!("  {}：成文日期 {date} 不在{}年度，请确认是否为本年度材料", r.entry.path, catalogue.year)
        })
        .collect();
    section(&mut out, "日期不在考核年度的文件：", &dates);
    let elsewhere: Vec<String> = local
        .read
        .iter()
        .filter_map(|r| {
            let item = catalogue.item(r.facts.suggested_item?)?;
            Some(format!(
                "  {}：内容可能属于 {} {}，如放错了请移到该事项文件夹",
                r.entry.path,
                item.code.padded(),
                item.short_title
            ))
        })
        .collect();
    section(&mut out, "可能放错事项的文件：", &elsewhere);
    if local.waiting > 0 {
        line(&mut out, "");
        match local.held_back {
            Some(why) => line(&mut out, &format!("待上传的文件 {} 个（暂停上传）：{why}", local.waiting)),
            None => line(&mut out, &format!("待上传的文件 {} 个，正在上传。", local.waiting)),
        }
    }
    let unreadable: Vec<String> = local.unreadable.iter().map(|(p, r)| format!("  {p}：{r}")).collect();
    section(&mut out, "暂时读不了、还没上传的文件：", &unreadable);
    let failed: Vec<String> = local.failed.iter().map(|(p, r)| format!("  {p}：{r}")).collect();
    section(&mut out, "未能上传的文件：", &failed);
    let skipped: Vec<String> = local.skipped.iter().map(|(n, r)| format!("  {n}：{r}")).collect();
    section(&mut out, "不上传的文件：", &skipped);
    let unsorted: Vec<String> = local.unsorted.iter().map(|u| format!("  {u}")).collect();
    section(&mut out, "放错位置的文件（不会上传，请移入对应事项文件夹）：", &unsorted);
    line(&mut out, "");
    line(&mut out, "（本文件由迎检客户端根据服务器上的情况自动更新，无需修改，也不会上传。）");
    out
}

fn section(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    out.push_str("\r\n");
    out.push_str(title);
    out.push_str("\r\n");
    for l in lines {
        out.push_str(l);
        out.push_str("\r\n");
    }
}

/// Writes the to-do file into `folder` unless it already says `text`: a new file beside it,
/// flushed, renamed over it (`newfile::replace`), so that a clerk never opens half a file and no
/// link planted there is written through. Returns whether it wrote.
pub fn write_if_changed(folder: &Path, text: &str) -> Result<bool, WriteError> {
    let path = folder.join(TODO_FILE);
    let content = format!("\u{feff}{text}");
    if newfile::read_no_link(&path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    newfile::replace(&path, content.as_bytes(), false)?;
    Ok(true)
}
