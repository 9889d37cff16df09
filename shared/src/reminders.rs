//! What a department still has to do, a line each, in Chinese: the clerk's `迎检待办.txt` and
//! the office's 催办通知 say the same things the same way.

use std::fmt::Write as _;

use crate::api::{DepartmentStatus, ItemState};
use crate::catalogue::Catalogue;

/// Every item not yet 齐全 (with its points and, when incomplete, why), then 自评报告, 典型案例
/// and 联系人名单 when they are missing.
pub fn lacking(department: &DepartmentStatus, catalogue: &Catalogue) -> Vec<String> {
    let mut lacks = Vec::new();
    for item in department.items.iter().filter(|i| i.status != ItemState::Complete) {
        let (title, points) = catalogue
            .item(item.code)
            .map_or((String::new(), String::new()), |i| (i.short_title.clone(), i.score().to_string()));
        let mut text = format!("{} {title}（{points}分）：{}", item.code.padded(), item.status.label());
        if item.status == ItemState::Incomplete && !item.reasons.is_empty() {
            let _ = write!(text, "——{}", item.reasons.join("；"));
        }
        lacks.push(text);
    }
    if !department.report {
        lacks.push("自评报告：未交（放进“自评报告”文件夹）".into());
    }
    if !department.cases_ok {
        let min = catalogue.cases.min_for(&department.id);
        lacks.push(format!(
            "典型案例：已交 {} 个，需 {min} 至 {} 个（放进“典型案例”文件夹）",
            department.cases, catalogue.cases.max
        ));
    }
    if !department.contacts {
        lacks.push("联系人名单：未报（分管领导、工作人员各 1 名，留有手机或电话）".into());
    }
    lacks
}

/// Every returned file the department has not answered yet: `path：reason`.
pub fn open_returns(department: &DepartmentStatus) -> Vec<String> {
    department
        .items
        .iter()
        .flat_map(|i| &i.returned)
        .chain(&department.returned)
        .filter(|r| !r.answered)
        .map(|r| format!("{}：{}", r.path, r.reason))
        .collect()
}
