//! `status`: what the clerk reads, in Chinese: what is uploaded, what waits, what is left out
//! and why, and what the department still lacks on the server.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use jiff::Timestamp;
use yingjian_shared::{
    Catalogue, EvidenceEntry, Filed, HeldFile, ItemState, Kind, SkipReason, WatchMode, chinese_date_time,
    size_text,
};

use crate::client::Client;
use crate::config::AgentConfig;
use crate::error::{AgentError, AgentResult};
use crate::lock;
use crate::scan::{Found, MARKER_FILE, Scan, absence, scan};
use crate::state::{FileRow, FileState, State};
use crate::words;

/// Files listed by name at most, in `status`; the rest are counted.
const LISTED: usize = 50;

/// The report of `status`, from the local state, a fresh look at the folder (what is there
/// and not sent yet is counted from the folder itself, so that it is true when the agent is
/// not running) and the server's status (when it answers).
pub async fn status_report(
    config: &AgentConfig,
    catalogue: &Catalogue,
    client: &Client,
) -> AgentResult<String> {
    let running = lock::is_held(&config.state);
    let state = State::open(&config.state)?;
    let rows: HashMap<String, FileRow> = state.all()?.into_iter().map(|r| (r.path.clone(), r)).collect();
    let folder = &config.folder;
    let marker = std::fs::read_to_string(folder.join(MARKER_FILE)).unwrap_or_default();
    let own = catalogue.department(marker.trim()).map(|d| d.name.clone());
    let server = client.status().await;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "证据文件夹：{}{}",
        folder.display(),
        own.map(|n| format!("（{n}）")).unwrap_or_default()
    );
    let absent = absence(folder);
    if let Some(why) = absent {
        let _ = writeln!(out, "{}", pause_advice(why, folder));
    }
    let found = if absent.is_none() { scan(catalogue, folder, folder) } else { Scan::default() };

    // What is on the server, what waits, from the folder and the state together.
    let mut synced = 0;
    let mut waiting: Vec<&Found> = Vec::new();
    let mut present = HashSet::new();
    for f in &found.evidence {
        present.insert(f.rel.as_str());
        match rows.get(f.rel.as_str()) {
            Some(r) if (r.size, r.mtime) == (f.size, f.mtime) && r.state == FileState::Synced => synced += 1,
            Some(r) if (r.size, r.mtime) == (f.size, f.mtime) && r.state == FileState::Failed => {}
            _ => waiting.push(f),
        }
    }
    let withdrawing = rows
        .values()
        .filter(|r| r.state != FileState::Failed)
        .filter(|r| {
            r.state == FileState::Withdraw || (absent.is_none() && !present.contains(r.path.as_str()))
        })
        .count();
    let failed: Vec<&FileRow> = rows.values().filter(|r| r.state == FileState::Failed).collect();
    let mut failed = failed;
    failed.sort_by(|a, b| a.path.cmp(&b.path));
    if !running {
        let _ = writeln!(
            out,
            "上传程序没有在运行：新放入的文件不会上传。请启动上传程序（运行 yingjian-agent run，或请电脑管理员启动“迎检材料上传”服务）。"
        );
    }
    let why_waiting = if waiting.is_empty() && withdrawing == 0 {
        None
    } else if !running {
        Some("上传程序没有在运行".to_string())
    } else if absent.is_some() {
        Some("同步已暂停".to_string())
    } else if !has_room(&config.state) {
        Some("上传程序所在的磁盘已满，请腾出磁盘空间".to_string())
    } else {
        match &server {
            Err(AgentError::Network(_)) => Some("连不上服务器，恢复后自动上传".to_string()),
            Err(e @ AgentError::Server { status: 401, .. }) => Some(e.for_clerk()),
            Err(AgentError::Server { status: 500.., .. }) => {
                Some("服务器暂时出了故障，恢复后自动上传".to_string())
            }
            _ => None,
        }
    };
    let _ = writeln!(
        out,
        "已上传 {synced} 个，待上传 {} 个{}，已删除、待从服务器撤下 {withdrawing} 个，未能上传 {} 个{}",
        waiting.len(),
        why_waiting.map(|w| format!("（{w}）")).unwrap_or_default(),
        failed.len(),
        if failed.is_empty() { "。" } else { "：" }
    );
    for r in &failed {
        let reason = r.error.as_deref().and_then(words::server_message);
        let _ = writeln!(
            out,
            "  {}：{}",
            r.path,
            reason.as_deref().unwrap_or("服务器不接收，请联系市质量强市办公室。")
        );
    }
    if !waiting.is_empty() {
        let _ = writeln!(out, "还没有上传的文件 {} 个：", waiting.len());
        for f in waiting.iter().take(LISTED) {
            match unreadable(&f.os) {
                Some(why) => {
                    let _ = writeln!(out, "  {}：{}", f.rel, why.label());
                }
                None => {
                    let _ = writeln!(out, "  {}", f.rel);
                }
            }
        }
        if waiting.len() > LISTED {
            let _ = writeln!(out, "  ……等共 {} 个", waiting.len());
        }
    }
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
    match server {
        Ok(status) => {
            for d in &status.departments {
                let _ =
                    writeln!(out, "\n{}：已齐全 {} 分，共 {} 分", d.name, d.points_complete, d.points_total);
                for i in d.items.iter().filter(|i| i.status != ItemState::Complete) {
                    let title = catalogue.item(i.code).map(|it| it.short_title.as_str()).unwrap_or_default();
                    let reasons: Vec<String> =
                        i.reasons.iter().filter_map(|r| words::server_message(r)).collect();
                    let _ = writeln!(
                        out,
                        "  {} {title}：{}。{}",
                        i.code.padded(),
                        i.status.label(),
                        reasons.join("；")
                    );
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
                "\n暂时连不上服务器 {}，看不到本单位还缺哪些材料：请检查网络或服务器地址（上传程序会自动重试上传）。",
                config.server
            );
        }
        Err(e) => {
            let _ = writeln!(out, "\n看不到本单位还缺哪些材料：{}", e.for_clerk());
        }
    }
    Ok(out)
}

/// Why a file cannot be read now, if it cannot.
fn unreadable(os: &Path) -> Option<SkipReason> {
    let e = std::fs::File::open(os).err()?;
    if words::is_locked(&e) {
        Some(SkipReason::Locked)
    } else {
        (e.kind() == std::io::ErrorKind::PermissionDenied).then_some(SkipReason::Unreadable)
    }
}

/// Whether the state folder's disk has room for the agent to go on (a clerk who may not write
/// there is not told the disk is full).
fn has_room(folder: &Path) -> bool {
    let probe = folder.join("status-room-check.tmp");
    let written = std::fs::write(&probe, vec![0u8; 64 << 10]);
    let _ = std::fs::remove_file(&probe);
    !matches!(written, Err(e) if words::is_disk_full(&e))
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
