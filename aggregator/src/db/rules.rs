//! What the database decides the same way whatever engine holds it: what counts as a re-send,
//! and the audit entry each change of a record or a blob writes. The engines find the facts in
//! their own SQL; these say what the facts mean.

use jiff::Timestamp;
use yingjian_shared::EvidenceEntry;

use super::{AuditEntry, RecordAt, ms};

/// A record as it is on file at its place: (sha256, modified in ms, caption).
pub(super) type OnFile = (String, i64, Option<String>);

/// The same content, modification time and caption as what is on file: nothing to file again.
pub(super) fn is_resend(on_file: Option<&OnFile>, row: &EvidenceEntry) -> bool {
    on_file.is_some_and(|(sha256, modified, caption)| {
        *sha256 == row.sha256.as_str() && *modified == ms(row.modified) && *caption == row.caption
    })
}

/// The audit entry of a record filed (`record`) or filed over an earlier one (`record_update`).
pub(super) fn filed(row: &EvidenceEntry, host: Option<String>, over_another: bool) -> AuditEntry {
    AuditEntry {
        at: row.received,
        department: Some(row.department.clone()),
        agent: Some(row.agent.clone()),
        host,
        action: if over_another { "record_update" } else { "record" }.into(),
        detail: format!("{} sha256={} size={}", row.path, row.sha256, row.size),
    }
}

/// The audit entry of a record withdrawn that pointed at `sha256`.
pub(super) fn withdrawn(record: RecordAt, sha256: &str, host: Option<String>) -> AuditEntry {
    AuditEntry {
        at: Timestamp::now(),
        detail: format!("{} sha256={sha256}", record.path),
        department: Some(record.department),
        agent: Some(record.agent),
        host,
        action: "withdraw".into(),
    }
}

/// The audit entry of a blob delivered: `upload` when the content is new to the store,
/// `upload_existing` when only the department is new to it (it proved it holds the bytes),
/// none for a re-send.
pub(super) fn delivered(created: bool, new_holder: bool, mut actor: AuditEntry) -> Option<AuditEntry> {
    (created || new_holder).then(|| {
        actor.action = if created { "upload" } else { "upload_existing" }.into();
        actor
    })
}
