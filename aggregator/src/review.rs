//! The office's review of departments' files: a verdict (通过, 退回 with a reason, taken back),
//! a file's 类别, and notes on items, audited and published, and read back by completeness,
//! where a return holds its item at 待完善 until the department answers it with a new version
//! or a withdrawal. The API and the dashboard's forms both come here.

use jiff::Timestamp;
use yingjian_shared::{
    EventKind, HoldRelease, ItemCode, KindChange, Note, Placement, Review, SendChoice, Verdict, classify,
    limits,
};

use crate::auth::Caller;
use crate::completeness::problem_of;
use crate::db::{AuditEntry, Version};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

fn department_id(state: &AppState, name: &str) -> AppResult<String> {
    state.catalogue.department(name).map(|d| d.id.clone()).ok_or_else(|| {
        AppError::Unprocessable(format!(
            "没有名为“{name}”的责任单位（no department {name:?}: use its id or name）"
        ))
    })
}

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

/// Records the office's verdict: what the API and the item page's form both do.
pub async fn apply_review(state: &AppState, caller: &Caller, review: Review) -> AppResult<()> {
    caller.require_office()?;
    limits::review(&review)?;
    let department = department_id(state, &review.department)?;
    let reason = review.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
    let detail = match (review.verdict, &reason) {
        (Verdict::Returned, Some(reason)) => format!("{}：退回：{reason}", review.path),
        (Verdict::Returned, None) => {
            return Err(AppError::Unprocessable("退回时请填写退回理由，写明需要单位修改什么。".into()));
        }
        (Verdict::Accepted, _) => format!("{}：通过", review.path),
        (Verdict::Cleared, _) => format!("{}：撤销审核", review.path),
    };
    let audit = entry(caller, &department, "review", detail);
    let path = review.path.clone();
    let verdict = review.verdict;
    if !state.db.review(Review { department: department.clone(), reason, ..review }, audit).await? {
        let name = state.catalogue.department(&department).map_or(department.as_str(), |d| d.name.as_str());
        return Err(AppError::NotFound(if verdict == Verdict::Cleared {
            "这个文件没有可撤销的审核意见。".into()
        } else {
            format!("{name}没有报送文件“{path}”。")
        }));
    }
    state.publish(EventKind::Review, Some(&department), Some(path), None);
    Ok(())
}

/// 「全部通过」: accepts every file of a department (of one item, if given) that has no verdict
/// on its version yet, each audited as if accepted one by one. How many were accepted.
pub async fn accept_all(
    state: &AppState,
    caller: &Caller,
    department: &str,
    item: Option<ItemCode>,
) -> AppResult<usize> {
    caller.require_office()?;
    let department = department_id(state, department)?;
    let verdicts = state.db.verdicts(department.clone()).await?;
    let open: Vec<_> = state
        .db
        .evidence(Some(department.clone()))
        .await?
        .into_iter()
        .filter(|r| item.is_none_or(|code| r.item == Some(code)))
        .filter(|r| verdicts.get(r.path.as_str()).is_none_or(|v| v.sha256 != r.sha256.as_str()))
        .collect();
    for r in &open {
        let review = Review {
            department: department.clone(),
            path: r.path.clone(),
            verdict: Verdict::Accepted,
            reason: None,
        };
        apply_review(state, caller, review).await?;
    }
    Ok(open.len())
}

/// Gives a department's file in an item a 类别 whatever its folder says (the clerk filed a
/// picture with the documents, or in no kind folder): what the API and the item page's form
/// both do. Every record at the path takes it, with the problem it brings (a picture without a
/// caption), and the agent's next sending keeps it.
pub async fn apply_kind(state: &AppState, caller: &Caller, change: KindChange) -> AppResult<()> {
    caller.require_office()?;
    limits::kind_change(&change)?;
    let department = department_id(state, &change.department)?;
    let Placement::Item { code, .. } = classify(&state.catalogue, &change.path) else {
        return Err(AppError::Unprocessable(
            "只有事项的印证材料分类别，自评报告和典型案例不分（only evidence in an item has a kind）".into(),
        ));
    };
    let records: Vec<_> = state
        .db
        .evidence_of_item(department.clone(), code.to_string())
        .await?
        .into_iter()
        .filter(|r| r.path == change.path)
        .collect();
    if records.is_empty() {
        let name = state.catalogue.department(&department).map_or(department.as_str(), |d| d.name.as_str());
        return Err(AppError::NotFound(format!("{name}没有报送文件“{}”。", change.path)));
    }
    let mut problems = Vec::new();
    for r in &records {
        let magic = state.db.blob(r.sha256.to_string()).await?.and_then(|(_, magic)| magic);
        let problem = problem_of(&r.path, Some(change.kind), r.caption.is_some(), magic.as_deref());
        problems.push((r.agent.clone(), problem.map(str::to_string)));
    }
    let detail = format!("{}：类别改为{}", change.path, change.kind.label());
    let audit = entry(caller, &department, "kind", detail);
    let path = change.path.clone();
    state.db.set_kind(KindChange { department: department.clone(), ..change }, problems, audit).await?;
    state.publish(EventKind::Evidence, Some(&department), Some(path), None);
    Ok(())
}

/// The office's choice before the hand-in for a file with a question over it
/// (`bundle::preflight`): what the API and the 打包 page both do. For a file with a 密级 mark,
/// sending is its release from the hold, and leaving it out holds it again.
pub async fn apply_choice(state: &AppState, caller: &Caller, choice: SendChoice) -> AppResult<()> {
    caller.require_office()?;
    limits::send_choice(&choice)?;
    let (department, record) =
        crate::reading::office::record(state, &choice.department, &choice.path).await?;
    let (path, sha256) = (choice.path.to_string(), record.sha256.to_string());
    let knowledge = state.knowledge().await?;
    let release = choice.send == Some(true);
    if knowledge.mark(&record).is_some() && release != knowledge.hold(&record).is_none() {
        let hold = HoldRelease { department: department.clone(), path: choice.path.clone(), release };
        crate::reading::office::apply_hold(state, caller, hold).await?;
    }
    let detail = match choice.send {
        Some(true) => "报送",
        Some(false) => "不报送",
        None => "撤销选择，暂不报送",
    };
    let audit = entry(caller, &department, "choose", format!("{path}：{detail}"));
    let version = Version { department: department.clone(), path, sha256 };
    state.db.choose_send(version, choice.send, audit).await?;
    state.publish(EventKind::Review, Some(&department), Some(choice.path), None);
    Ok(())
}

/// Sets or clears the office's note: what the API and the item page's form both do.
pub async fn apply_note(state: &AppState, caller: &Caller, note: Note) -> AppResult<()> {
    caller.require_office()?;
    limits::note(&note)?;
    let department = department_id(state, &note.department)?;
    let item =
        state.catalogue.item(note.item).filter(|i| i.has_department(&department)).ok_or_else(|| {
            AppError::Unprocessable(format!(
                "事项{}不由该单位负责（item {} is not {department}'s responsibility）",
                note.item, note.item
            ))
        })?;
    let text = note.text.trim().to_string();
    let detail = if text.is_empty() {
        format!("{}：清除备注", item.code)
    } else {
        format!("{}：{text}", item.code)
    };
    let audit = entry(caller, &department, "note", detail);
    state.db.note(Note { department: department.clone(), item: item.code, text }, audit).await?;
    state.publish(EventKind::Review, Some(&department), None, None);
    Ok(())
}
