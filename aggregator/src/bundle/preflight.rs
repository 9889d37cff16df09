//! Before the hand-in: the files with a question over them — returned by the office and not
//! answered, pictures without a caption, a 密级 mark, another scan of the same paper in the
//! same item — and the office's choice for each. Until the office chooses to send one, it
//! stays out of the bundle and the 纸质版, the nightly build's too; the 打包 page and
//! `GET /api/v1/choices` list each with its choice (`Planned::questioned`).

use std::collections::{HashMap, HashSet};

use yingjian_shared::{Catalogue, EvidenceEntry, Filed, QuestionedFile, SendDecision};

use crate::completeness::UNCAPTIONED;
use crate::db::{SendChoiceRow, StatusData};
use crate::knowledge::{Knowledge, same_paper};

/// The questioned records among `records`, in their order, each with its questions as the 打包
/// page says them and the office's choice for its version. A held file is sent once released
/// from its hold (「确无密级，同意报送」).
pub fn questioned(
    catalogue: &Catalogue,
    records: &[EvidenceEntry],
    data: &StatusData,
    knowledge: &Knowledge,
    choices: &[SendChoiceRow],
) -> Vec<QuestionedFile> {
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
    let uncaptioned: HashSet<(&str, &str)> = data
        .problems
        .iter()
        .filter(|p| p.problem == UNCAPTIONED)
        .map(|p| (p.department.as_str(), p.path.as_str()))
        .collect();
    let chosen: HashMap<(&str, &str, &str), bool> = choices
        .iter()
        .map(|c| ((c.department.as_str(), c.path.as_str(), c.sha256.as_str()), c.send))
        .collect();
    // The same version of a path sent by two of a department's agents is one file to decide on.
    let mut seen = HashSet::new();
    records
        .iter()
        .filter(|r| seen.insert((r.department.as_str(), r.path.as_str(), r.sha256.as_str())))
        .filter_map(|r| {
            let path = r.path.as_str();
            let key = (r.department.as_str(), path);
            let mut questions = Vec::new();
            if let Some(reason) = returned.get(&key) {
                questions.push(format!("已退回、单位未答复：{reason}"));
            }
            if uncaptioned.contains(&key) {
                questions.push("图片缺少文字说明".to_string());
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
                questions.push(format!(
                    "与同一事项中的{}{}，请选择报送哪一份",
                    same_item.join("、"),
                    same_paper(knowledge.scanned(r))
                ));
            }
            let mark = knowledge.mark(r);
            if let Some(mark) = mark {
                questions.push(format!("标有密级：{mark}"));
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
            Some(QuestionedFile {
                department: r.department.clone(),
                path: r.path.clone(),
                sha256: r.sha256.clone(),
                questions,
                decision,
            })
        })
        .collect()
}
