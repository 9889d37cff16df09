//! `PUT`/`DELETE /api/v1/evidence`: file and withdraw records; `GET` lists them.

use axum::Json;
use axum::extract::{Query, State};
use jiff::Timestamp;
use serde::Deserialize;
use yingjian_shared::{
    EventKind, EvidenceAck, EvidenceEntry, EvidenceListed, EvidenceRecord, Filed, Placement, RelPath,
    Withdrawn, caption_from_file_name, classify, limits,
};

use super::ApiJson;
use crate::auth::Caller;
use crate::db::{Holding, RecordAt, Version};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(record): ApiJson<EvidenceRecord>,
) -> AppResult<Json<EvidenceAck>> {
    let department = caller.department()?.to_string();
    let placement = classify(&state.catalogue, &record.path);
    let (filed, item, kind) = match placement {
        Placement::Item { code, kind } => {
            let item = state.catalogue.item(code).expect("classify only returns known items");
            if !item.has_department(&department) {
                let own = state.catalogue.department(&department).map_or(department.as_str(), |d| &d.name);
                return Err(AppError::Unprocessable(format!(
                    "事项 {code}（{}）不由{own}负责：请把文件移到本单位的事项文件夹（item {code} is not {department}'s responsibility）",
                    item.short_title
                )));
            }
            (Filed::Item, Some(code), Some(kind))
        }
        Placement::Report => (Filed::Report, None, None),
        Placement::Case => (Filed::Case, None, None),
        Placement::Unsorted { unknown_item: Some(code) } => {
            return Err(AppError::Unprocessable(format!(
                "{}年度目录中没有事项 {code}：请把文件夹改名为已有的事项编号（there is no item {code} in the {} catalogue）",
                state.catalogue.year, state.catalogue.year
            )));
        }
        Placement::Unsorted { unknown_item: None } => {
            return Err(AppError::Unprocessable(
                "文件不在任何事项文件夹里，也不在自评报告、典型案例文件夹里：请移到对应的事项文件夹（outside every item folder: move it into an item folder）".into(),
            ));
        }
        Placement::Ignored(reason) => {
            return Err(AppError::Unprocessable(format!(
                "这是锁定、临时、隐藏或系统文件，不作为印证材料（the file is not evidence: {reason:?}）"
            )));
        }
    };
    // Only content the department delivered itself: another department's blob is unknown here,
    // with the same answer as a blob nobody sent.
    let version = Version {
        department: department.clone(),
        path: record.path.to_string(),
        sha256: record.sha256.to_string(),
    };
    let held = state.db.held_for_filing(version).await?;
    let Some(Holding { size, magic, kind: given }) = held else {
        return Err(AppError::Conflict(
            "服务器还没有这个文件的内容，正在重新上传（the blob is not stored yet: PUT /api/v1/blobs/{sha256} first）".into(),
        ));
    };
    if size != record.size {
        return Err(AppError::Unprocessable(format!(
            "文件在上传时有变化，正在重新上传（the record says {} bytes but the blob has {size}）",
            record.size
        )));
    }
    // The office's 类别, if it gave the path one, over what its folder says.
    let kind = kind.map(|folder| given.unwrap_or(folder));
    if let Some(caption) = &record.caption {
        limits::caption(caption)?;
    }
    let caption = record
        .caption
        .as_deref()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .or_else(|| caption_from_file_name(record.path.file_name()));
    let problem = crate::completeness::problem_of(&record.path, kind, caption.is_some(), magic.as_deref());
    let row = EvidenceEntry {
        department: department.clone(),
        agent: caller.agent.clone(),
        path: record.path.clone(),
        sha256: record.sha256.clone(),
        size,
        modified: record.modified,
        caption,
        placement: filed,
        item,
        kind,
        problem: problem.map(str::to_string),
        received: Timestamp::now(),
    };
    let changed = state.db.upsert_evidence(row, caller.host.clone()).await?;
    if changed {
        state.publish(EventKind::Evidence, Some(&department), Some(record.path.clone()), None);
        state.reading.wake();
    }
    Ok(Json(EvidenceAck { path: record.path, placement: filed, item, kind, changed }))
}

#[derive(Deserialize)]
pub struct PathQuery {
    path: String,
}

pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PathQuery>,
) -> AppResult<Json<Withdrawn>> {
    let department = caller.department()?.to_string();
    let path = RelPath::parse(&q.path).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let record =
        RecordAt { department: department.clone(), agent: caller.agent.clone(), path: path.to_string() };
    let withdrawn = state.db.withdraw_evidence(record, caller.host.clone()).await?;
    if withdrawn {
        state.publish(EventKind::Withdrawn, Some(&department), Some(path), None);
    }
    Ok(Json(Withdrawn { withdrawn }))
}

#[derive(Deserialize)]
pub struct DepartmentQuery {
    department: Option<String>,
}

/// The records on file, each with what was read in it: a department sees its own, the office
/// any or all.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DepartmentQuery>,
) -> AppResult<Json<Vec<EvidenceListed>>> {
    let department = match (&caller.department, q.department) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(name)) => Some(
            state
                .catalogue
                .department(&name)
                .ok_or_else(|| AppError::NotFound(format!("no department {name:?} in the catalogue")))?
                .id
                .clone(),
        ),
        (None, None) => None,
    };
    let records = state.db.evidence(department).await?;
    let knowledge = state.knowledge().await?;
    // Near-duplicates are found across the city, but a department is told only of its own.
    let everyone =
        if caller.department.is_some() { records.clone() } else { state.db.evidence(None).await? };
    let mut near = knowledge.near_duplicates(&everyone);
    let told = state.told();
    Ok(Json(
        records
            .into_iter()
            .map(|entry| {
                let mut facts = knowledge.of(&entry, &told);
                facts.near_duplicates =
                    near.remove(&(entry.department.clone(), entry.path.to_string())).unwrap_or_default();
                EvidenceListed { entry, facts }
            })
            .collect(),
    ))
}
