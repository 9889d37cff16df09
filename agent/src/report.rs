//! `status`: what the clerk reads, in Chinese: what is uploaded, what waits, what is left out
//! and why, and what the department still lacks on the server.

use std::fmt::Write as _;

use jiff::Timestamp;
use yingjian_shared::{
    Catalogue, EvidenceEntry, Filed, HeldFile, ItemState, Kind, WatchMode, chinese_date_time, size_text,
};

use crate::client::Client;
use crate::config::AgentConfig;
use crate::error::{AgentError, AgentResult};
use crate::scan::{MARKER_FILE, absence, scan};
use crate::state::{FileState, State};

/// The report of `status`, from the local state, a fresh look at the folder and the server's
/// status (when it answers).
pub async fn status_report(
    config: &AgentConfig,
    catalogue: &Catalogue,
    client: &Client,
) -> AgentResult<String> {
    let state = State::open(&config.state)?;
    let rows = state.all()?;
    let count = |s: FileState| rows.iter().filter(|r| r.state == s).count();
    let folder = &config.folder;
    let marker = std::fs::read_to_string(folder.join(MARKER_FILE)).unwrap_or_default();
    let own = catalogue.department(marker.trim()).map(|d| d.name.clone());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "证据文件夹：{}{}",
        folder.display(),
        own.map(|n| format!("（{n}）")).unwrap_or_default()
    );
    if let Some(why) = absence(folder) {
        let _ = writeln!(out, "{}", pause_advice(why, folder));
    }
    let failed: Vec<_> = rows.iter().filter(|r| r.state == FileState::Failed).collect();
    let _ = writeln!(
        out,
        "已上传 {} 个，待上传 {} 个，待撤回 {} 个，未能上传 {} 个{}",
        count(FileState::Synced),
        count(FileState::Send),
        count(FileState::Withdraw),
        failed.len(),
        if failed.is_empty() { "。" } else { "：" }
    );
    for r in failed {
        let _ = writeln!(out, "  {}：{}", r.path, r.error.as_deref().unwrap_or("服务器不接收"));
    }
    let found = scan(catalogue, folder, folder);
    if !found.skipped.is_empty() {
        let _ = writeln!(out, "不上传的文件 {} 个：", found.skipped.len());
        for s in &found.skipped {
            let _ = writeln!(out, "  {}：{}", s.name, s.reason.label());
        }
    }
    if !found.unsorted.is_empty() {
        let _ =
            writeln!(out, "放错位置的文件 {} 个（不会上传，请移入对应事项文件夹）：", found.unsorted.len());
        for u in &found.unsorted {
            let _ = writeln!(out, "  {u}");
        }
    }
    match client.status().await {
        Ok(status) => {
            for d in &status.departments {
                let _ =
                    writeln!(out, "\n{}：已覆盖 {} 分，共 {} 分", d.name, d.points_covered, d.points_total);
                for i in d.items.iter().filter(|i| i.status != ItemState::Complete) {
                    let title = catalogue.item(i.code).map(|it| it.short_title.as_str()).unwrap_or_default();
                    let _ =
                        writeln!(out, "  {} {title}：{}。{}", i.code, i.status.label(), i.reasons.join("；"));
                }
                if !d.report {
                    let _ = writeln!(out, "  自评报告：未交");
                }
            }
            for h in &status.held {
                let _ = writeln!(out, "  {}（{}）：{}", h.path, h.classification, HeldFile::ADVICE);
            }
            if let Ok(read) = client.evidence_read().await {
                for r in &read {
                    for q in &r.facts.quality {
                        let _ = writeln!(out, "  {}：{}", r.entry.path, q.advice());
                    }
                }
            }
        }
        Err(AgentError::Network(_)) => {
            let _ = writeln!(
                out,
                "\n暂时连不上服务器 {}，看不到本单位还缺哪些材料：请检查网络或服务器地址（客户端会自动重试上传）。",
                config.server
            );
        }
        Err(e) => {
            let _ = writeln!(out, "\n看不到本单位还缺哪些材料：{}", e.for_clerk());
        }
    }
    Ok(out)
}

/// The receipt (回执): every file the server holds from the department, in catalogue order, with
/// its item, kind, caption, when it was received and the first 16 hex digits of its SHA-256.
pub async fn receipt_report(catalogue: &Catalogue, client: &Client) -> AgentResult<String> {
    let mut records = client.evidence().await?;
    records.sort_by(EvidenceEntry::catalogue_cmp);
    let name = records
        .first()
        .and_then(|r| catalogue.department(&r.department))
        .map_or_else(String::new, |d| d.name.clone());
    let bytes: u64 = records.iter().map(|r| r.size).sum();
    let mut out = String::new();
    let _ = writeln!(out, "{name}迎检材料回执");
    let _ = writeln!(
        out,
        "服务器上共有本单位文件 {} 个，合计 {}（打印于 {}）。",
        records.len(),
        size_text(bytes),
        chinese_date_time(Timestamp::now())
    );
    for (n, r) in records.iter().enumerate() {
        let place = match r.placement {
            Filed::Item => format!("{} {}", r.place(), r.kind.map_or("", Kind::label)),
            _ => r.place(),
        };
        let _ = writeln!(
            out,
            "{:>4}. {place}  {}  {}  接收于 {}  校验码 {}",
            n + 1,
            r.path.file_name(),
            size_text(r.size),
            chinese_date_time(r.received),
            &r.sha256.as_str()[..16]
        );
        if let Some(caption) = &r.caption {
            let _ = writeln!(out, "      说明：{caption}");
        }
    }
    Ok(out)
}

/// Why syncing is paused, and what to do.
fn pause_advice(why: WatchMode, folder: &std::path::Path) -> String {
    match why {
        WatchMode::NoMarker => format!(
            "同步已暂停：文件夹中的隐藏标记文件 {MARKER_FILE} 被删除了。请运行 yingjian-agent init --dept 本单位名称 --folder {} 恢复（不会改动已放入的材料）。",
            folder.display()
        ),
        _ => "同步已暂停：证据文件夹不存在或未连接（U 盘、移动硬盘或网络盘？），连接后自动继续。".into(),
    }
}
