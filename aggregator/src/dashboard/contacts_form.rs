//! The contacts form (附件4) on a department's page, for the department and for the office:
//! a 分管领导, a 工作人员 and an optional second 工作人员, each field checked with the message next
//! to it (`shared::contacts`), the list stored through `crate::contacts` like the API's.

use std::collections::HashMap;

use yingjian_shared::{Contact, ContactRole, Contacts};

use crate::contacts::FieldProblem;

/// The form's rows: what each is for, whether it must be filled in.
const ROWS: [(ContactRole, &str, bool); 3] = [
    (ContactRole::Leader, "分管领导", true),
    (ContactRole::Staff, "工作人员", true),
    (ContactRole::Staff, "工作人员（可选）", false),
];

/// Field name in `Contact` and in the form, label, input type: `Contact::columns`' order.
const FIELDS: [(&str, &str, &str); 7] = [
    ("name", "姓名", "text"),
    ("gender", "性别", "text"),
    ("unit", "单位", "text"),
    ("position", "职务", "text"),
    ("phone", "电话、传真", "tel"),
    ("mobile", "手机", "tel"),
    ("email", "邮箱", "email"),
];

pub struct FieldView {
    pub key: String,
    pub label: &'static str,
    pub input: &'static str,
    pub value: String,
    pub error: &'static str,
}

pub struct RowView {
    pub label: &'static str,
    pub fields: Vec<FieldView>,
}

/// The rows as stored (the leader first, then the staff), each with its problems.
pub fn rows(list: &[Contact], problems: &[FieldProblem]) -> Vec<RowView> {
    let leader = list.iter().position(|c| c.role == ContactRole::Leader);
    let mut staff = list.iter().enumerate().filter(|(_, c)| c.role == ContactRole::Staff).map(|(n, _)| n);
    let at = [leader, staff.next(), staff.next()];
    ROWS.iter()
        .zip(at)
        .enumerate()
        .map(|(row, ((_, label, _), stored))| RowView {
            label,
            fields: FIELDS
                .iter()
                .enumerate()
                .map(|(column, (field, label, input))| FieldView {
                    key: format!("{row}_{field}"),
                    label,
                    input,
                    value: stored.map(|n| list[n].columns()[column].to_string()).unwrap_or_default(),
                    error: stored
                        .and_then(|n| problems.iter().find(|(at, f, _)| *at == n && f == field))
                        .map_or("", |(_, _, what)| what),
                })
                .collect(),
        })
        .collect()
}

/// The list a submitted form says, in row order (an optional row left empty is left out).
pub fn parse(form: &HashMap<String, String>) -> Contacts {
    let get =
        |row: usize, field: &str| form.get(&format!("{row}_{field}")).map_or("", |v| v.trim()).to_string();
    let contacts = ROWS
        .iter()
        .enumerate()
        .filter(|(row, (_, _, required))| {
            *required || FIELDS.iter().any(|(f, _, _)| !get(*row, f).is_empty())
        })
        .map(|(row, (role, _, _))| Contact {
            role: *role,
            name: get(row, "name"),
            gender: get(row, "gender"),
            unit: get(row, "unit"),
            position: get(row, "position"),
            phone: get(row, "phone"),
            mobile: get(row, "mobile"),
            email: get(row, "email"),
        })
        .collect();
    Contacts { department: None, contacts }
}
