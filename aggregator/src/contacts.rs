//! Filing a department's contacts (附件4), from the API and from the department page's form:
//! checked field by field (`shared::contacts`), audited, published.

use jiff::Timestamp;
use yingjian_shared::{ContactRole, Contacts, EventKind, contacts, limits};

use crate::auth::Caller;
use crate::db::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One wrong field: which contact (0-based), which field, what to write instead.
pub type FieldProblem = (usize, &'static str, &'static str);

/// Every wrong field of the list, and what is wrong with the list as a whole.
pub fn check(list: &Contacts) -> (Vec<FieldProblem>, Option<&'static str>) {
    let fields = list
        .contacts
        .iter()
        .enumerate()
        .flat_map(|(n, c)| contacts::problems(c).into_iter().map(move |(field, what)| (n, field, what)))
        .collect();
    let whole = if list.contacts.is_empty() {
        Some("请填写分管领导和工作人员各 1 名")
    } else {
        contacts::list_problem(list)
    };
    (fields, whole)
}

/// Stores `list` as `department`'s contacts (the caller's access checked by the caller), or
/// refuses it with every problem named.
pub async fn file(state: &AppState, caller: &Caller, department: &str, mut list: Contacts) -> AppResult<()> {
    // Capped where they are written, so that no export (Excel's 32,767 characters a cell) can
    // ever meet a field too long for it.
    limits::contacts(&list)?;
    let (fields, whole) = check(&list);
    if let Some(problem) = whole {
        return Err(AppError::Unprocessable(problem.into()));
    }
    if !fields.is_empty() {
        let said: Vec<String> = fields
            .iter()
            .map(|(n, _, what)| {
                let c = &list.contacts[*n];
                let role = if c.role == ContactRole::Leader { "分管领导" } else { "工作人员" };
                format!(
                    "第 {} 位（{role}{}）：{what}",
                    n + 1,
                    if c.name.is_empty() { String::new() } else { format!(" {}", c.name) }
                )
            })
            .collect();
        return Err(AppError::Unprocessable(said.join("；")));
    }
    list.department = Some(department.to_string());
    let body = serde_json::to_string(&list).map_err(AppError::internal)?;
    let names: Vec<&str> = list.contacts.iter().map(|c| c.name.as_str()).collect();
    let audit = AuditEntry {
        at: Timestamp::now(),
        department: Some(department.to_string()),
        agent: Some(caller.agent.clone()),
        host: caller.host.clone(),
        action: "contacts".into(),
        detail: names.join("、"),
    };
    state.db.put_contacts(department.to_string(), body, audit).await?;
    state.publish(EventKind::Contacts, Some(department), None, None);
    Ok(())
}
