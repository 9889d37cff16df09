//! Before the hand-in: the files with a question over them — returned by the office and not
//! answered, pictures without a caption, a 密级 mark, another scan of the same paper in the
//! same item — and the office's choice for each. Until the office chooses to send one, it
//! stays out of the bundle and the 纸质版, the nightly build's too; the 打包 page lists each
//! with its choice.

use std::collections::HashMap;

use yingjian_shared::{Catalogue, EvidenceEntry, Filed, QuestionedFile, SendDecision};

use crate::db::{SendChoiceRow, StatusData};
use crate::error::AppResult;
use crate::reading::Knowledge;
use crate::state::AppState;

/// Why a file waits for the office's choice.
#[derive(Debug, Clone, PartialEq)]
pub enum Question {
    /// Returned with this reason, and the department has not sent a new version.
    Returned(String),
    Uncaptioned,
    /// The 密级 mark read on it.
    Classified(String),
    /// Another scan of the same paper is in the same item: `部门 path` of each.
    Rescan(Vec<String>),
}

impl Question {
    /// As the 打包 page says it.
    pub fn words(&self) -> String {
        match self {
            Question::Returned(reason) => format!("已退回、单位未答复：{reason}"),
            Question::Uncaptioned => "图片缺少文字说明".into(),
            Question::Classified(mark) => format!("标有密级：{mark}"),
            Question::Rescan(others) => {
                format!("与同一事项中的{}为同一份材料的不同扫描件，请选择报送哪一份", others.join("、"))
            }
        }
    }
}

/// A record the office decides on.
#[derive(Debug, Clone)]
pub struct Questioned<'a> {
    pub record: &'a EvidenceEntry,
    pub questions: Vec<Question>,
    pub decision: SendDecision,
}

impl Questioned<'_> {
    pub fn goes_out(&self) -> bool {
        self.decision == SendDecision::Send
    }
}

/// The questioned records among `records`, in their order, each with the office's choice for its
/// version. A held file is sent once released from its hold (「确无密级，同意报送」).
pub fn questioned<'a>(
    catalogue: &Catalogue,
    records: &'a [EvidenceEntry],
    data: &StatusData,
    knowledge: &Knowledge,
    choices: &[SendChoiceRow],
) -> Vec<Questioned<'a>> {
    // Rescans within one item: across items, each item needs its own copy.
    let item_of: HashMap<(&str, &str), Option<yingjian_shared::ItemCode>> = records
        .iter()
        .filter(|r| r.placement == Filed::Item)
        .map(|r| ((r.department.as_str(), r.path.as_str()), r.item))
        .collect();
    let near = knowledge.near_duplicates(records);
    let returned: HashMap<(&str, &str), &str> = data
        .returned
        .iter()
        .filter(|r| !r.answered)
        .map(|r| ((r.department.as_str(), r.path.as_str()), r.reason.as_str()))
        .collect();
    let uncaptioned: std::collections::HashSet<(&str, &str)> = data
        .problems
        .iter()
        .filter(|p| p.problem == "uncaptioned")
        .map(|p| (p.department.as_str(), p.path.as_str()))
        .collect();
    let chosen: HashMap<(&str, &str, &str), bool> = choices
        .iter()
        .map(|c| ((c.department.as_str(), c.path.as_str(), c.sha256.as_str()), c.send))
        .collect();
    records
        .iter()
        .filter_map(|r| {
            let path = r.path.as_str();
            let key = (r.department.as_str(), path);
            let mut questions = Vec::new();
            if let Some(reason) = returned.get(&key) {
                questions.push(Question::Returned((*reason).to_string()));
            }
            if uncaptioned.contains(&key) {
                questions.push(Question::Uncaptioned);
            }
            let item = item_of.get(&key).copied().flatten();
            let same_item: Vec<String> = near
                .get(&(r.department.clone(), path.to_string()))
                .into_iter()
                .flatten()
                .filter(|o| {
                    item.is_some() && item_of.get(&(o.department.as_str(), o.path.as_str())) == Some(&item)
                })
                .map(|o| {
                    let name = catalogue
                        .department(&o.department)
                        .map_or(o.department.as_str(), |d| d.name.as_str());
                    format!("{name}《{}》", o.path.file_name())
                })
                .collect();
            if !same_item.is_empty() {
                questions.push(Question::Rescan(same_item));
            }
            let mark = knowledge.mark(r);
            if let Some(mark) = mark {
                questions.push(Question::Classified(mark.to_string()));
            }
            if questions.is_empty() {
                return None;
            }
            let choice = chosen.get(&(r.department.as_str(), path, r.sha256.as_str())).copied();
            let released = mark.is_some() && knowledge.hold(r).is_none();
            let decision = match choice {
                // A 密级 mark needs the release itself, not only a choice to send.
                _ if released => SendDecision::Send,
                Some(true) if mark.is_none() => SendDecision::Send,
                Some(false) => SendDecision::LeaveOut,
                _ => SendDecision::Undecided,
            };
            Some(Questioned { record: r, questions, decision })
        })
        .collect()
}

/// The questioned files of the current state, for the 打包 page and `GET /api/v1/choices`.
pub async fn of_now(state: &AppState) -> AppResult<Vec<QuestionedFile>> {
    let records = state.db.evidence(None).await?;
    let data = state.status_data().await?;
    let knowledge = state.knowledge().await?;
    let choices = state.db.send_choices().await?;
    Ok(questioned(&state.catalogue, &records, &data, &knowledge, &choices)
        .into_iter()
        .map(|q| QuestionedFile {
            department: q.record.department.clone(),
            path: q.record.path.clone(),
            sha256: q.record.sha256.clone(),
            questions: q.questions.iter().map(Question::words).collect(),
            decision: q.decision,
        })
        .collect())
}
