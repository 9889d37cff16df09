//! Length limits on every free-text field a client sends (docs/api.md, *Limits*): what a person
//! writes fits with room to spare; a flood is refused whole (422) rather than cut.

use thiserror::Error;

use crate::api::{Contacts, Heartbeat, KindChange, Note, Review, SendChoice};

/// A PC's name.
pub const HOST_CHARS: usize = 100;
/// An agent's version string.
pub const VERSION_CHARS: usize = 50;
/// A picture's caption: a sentence or two, not a document.
pub const CAPTION_CHARS: usize = 500;
/// Why a file could not be delivered.
pub const REASON_CHARS: usize = 500;
/// Files listed in one heartbeat (refused, unsorted): a folder in a mess is told in examples.
pub const LISTED_FILES: usize = 200;
/// A skipped file's name as shown (a path, lossily decoded).
pub const NAME_CHARS: usize = 400;
/// Any one field of a contact (姓名, 单位, 邮箱, …).
pub const CONTACT_FIELD_CHARS: usize = 100;
/// The office's note on an item.
pub const NOTE_CHARS: usize = 1000;
/// Contacts of one department: 附件4 asks for one leader and one or two staff.
pub const CONTACTS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} has {actual} {unit}; at most {max} are accepted")]
pub struct TooLong {
    pub field: &'static str,
    pub actual: usize,
    pub max: usize,
    pub unit: &'static str,
}

impl TooLong {
    /// The field as a clerk or the office knows it.
    pub fn field_label(&self) -> &'static str {
        match self.field {
            "caption" => "图片说明",
            "host" => "计算机名",
            "version" => "版本号",
            "failed" | "unsorted" | "skipped" => "文件清单",
            "department" => "单位名称",
            "reason" => "退回理由",
            "text" => "备注",
            "contacts" => "联系人名单",
            "name" => "姓名",
            "gender" => "性别",
            "unit" => "单位",
            "position" => "职务",
            "phone" => "办公电话",
            "mobile" => "手机",
            "email" => "电子邮箱",
            _ => "填写的内容",
        }
    }
}

fn text(field: &'static str, value: &str, max: usize) -> Result<(), TooLong> {
    let actual = value.chars().count();
    if actual > max { Err(TooLong { field, actual, max, unit: "characters" }) } else { Ok(()) }
}

fn count(field: &'static str, actual: usize, max: usize) -> Result<(), TooLong> {
    if actual > max { Err(TooLong { field, actual, max, unit: "entries" }) } else { Ok(()) }
}

/// `value` cut to at most `max` characters: what an agent does before sending.
pub fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

pub fn caption(value: &str) -> Result<(), TooLong> {
    text("caption", value, CAPTION_CHARS)
}

pub fn heartbeat(hb: &Heartbeat) -> Result<(), TooLong> {
    text("host", &hb.host, HOST_CHARS)?;
    text("version", &hb.version, VERSION_CHARS)?;
    count("failed", hb.failed.len(), LISTED_FILES)?;
    count("unsorted", hb.unsorted.len(), LISTED_FILES)?;
    count("skipped", hb.skipped.len(), LISTED_FILES)?;
    hb.skipped.iter().try_for_each(|f| text("skipped.name", &f.name, NAME_CHARS))?;
    hb.skipped.iter().try_for_each(|f| text("skipped.message", &f.message, REASON_CHARS))?;
    hb.failed.iter().try_for_each(|f| text("failed.reason", &f.reason, REASON_CHARS))
}

pub fn review(r: &Review) -> Result<(), TooLong> {
    text("department", &r.department, CONTACT_FIELD_CHARS)?;
    r.reason.as_deref().map_or(Ok(()), |reason| text("reason", reason, REASON_CHARS))
}

pub fn kind_change(k: &KindChange) -> Result<(), TooLong> {
    text("department", &k.department, CONTACT_FIELD_CHARS)
}

pub fn send_choice(c: &SendChoice) -> Result<(), TooLong> {
    text("department", &c.department, CONTACT_FIELD_CHARS)
}

pub fn note(n: &Note) -> Result<(), TooLong> {
    text("department", &n.department, CONTACT_FIELD_CHARS)?;
    text("text", &n.text, NOTE_CHARS)
}

pub fn contacts(c: &Contacts) -> Result<(), TooLong> {
    count("contacts", c.contacts.len(), CONTACTS)?;
    if let Some(d) = &c.department {
        text("department", d, CONTACT_FIELD_CHARS)?;
    }
    for x in &c.contacts {
        for (field, value) in [
            ("name", &x.name),
            ("gender", &x.gender),
            ("unit", &x.unit),
            ("position", &x.position),
            ("phone", &x.phone),
            ("mobile", &x.mobile),
            ("email", &x.email),
        ] {
            text(field, value, CONTACT_FIELD_CHARS)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::WatchMode;

    #[test]
    fn a_field_over_its_limit_is_named() {
        let mut hb = Heartbeat {
            version: "0.1.0".into(),
            host: "治安科-PC".into(),
            watch_mode: WatchMode::Native,
            pending: 0,
            failed: Vec::new(),
            oldest_pending: None,
            unsorted: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(heartbeat(&hb), Ok(()));
        hb.host = "长".repeat(HOST_CHARS + 1);
        assert_eq!(heartbeat(&hb).unwrap_err().field, "host");
        hb.host = "长".repeat(HOST_CHARS);
        assert_eq!(heartbeat(&hb), Ok(()));
        assert_eq!(truncate("一二三", 2), "一二");
        assert!(caption(&"字".repeat(CAPTION_CHARS + 1)).is_err());
    }
}
