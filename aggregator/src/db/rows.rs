//! The rows the database answers with and the changes it is asked to make, as plain types:
//! what callers and both engines share, and nothing that speaks SQL.

use std::collections::HashMap;

use jiff::Timestamp;
use yingjian_shared::{Analysis, Contacts, FieldName, Filed, Heartbeat, Kind, Verdict};

/// One version of a department's file: what the office's decisions (marks, choices,
/// corrections) and filing a record are about.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub department: String,
    pub path: String,
    pub sha256: String,
}

/// The problem each agent's record at a path takes with a new 类别, by agent.
pub type Problems = Vec<(String, Option<String>)>;

/// A PC's last heartbeat: when it came, and what it said (`None`: a body this server does not
/// read).
#[derive(Debug, Clone, PartialEq)]
pub struct FiledHeartbeat {
    pub department: String,
    pub agent: String,
    pub at: Timestamp,
    pub heartbeat: Option<Heartbeat>,
}

/// A department's contact list as filed (`None`: a body this server does not read), and when.
#[derive(Debug, Clone, PartialEq)]
pub struct FiledContacts {
    pub department: String,
    pub contacts: Option<Contacts>,
    pub updated: Timestamp,
}

/// A blob now stored under its hash, as `insert_blob` records it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBlob {
    pub sha256: String,
    pub size: u64,
    /// The sniffed content type.
    pub magic: Option<&'static str>,
}

/// Where a record is filed: a department's PC (its agent) and the path in its folder.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordAt {
    pub department: String,
    pub agent: String,
    pub path: String,
}

/// The office's correction of one field of one version of a department's file.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub department: String,
    pub path: String,
    pub sha256: String,
    pub field: FieldName,
    /// Empty: the correction is taken back.
    pub value: String,
}

/// A record that matched a search, with the text around the first match in its read text.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    pub department: String,
    pub path: String,
    pub item: Option<String>,
    pub caption: Option<String>,
    pub doc_number: Option<String>,
    pub title: Option<String>,
    /// About 80 characters of the read text around the match, when the match is there.
    pub around: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    /// `None` for the office.
    pub department: Option<String>,
    pub agent: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// An entry for the audit log, written in the transaction of the change it records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub department: Option<String>,
    pub agent: Option<String>,
    pub host: Option<String>,
    pub action: String,
    pub detail: String,
}

impl AuditEntry {
    /// Something the server did by itself (a bundle build, the nightly run), now.
    pub fn by_server(action: &str, detail: String) -> AuditEntry {
        AuditEntry {
            at: Timestamp::now(),
            department: None,
            agent: None,
            host: None,
            action: action.into(),
            detail,
        }
    }
}

/// The office's verdict on a department's file, and the version (sha256) it was given to.
#[derive(Debug, Clone, PartialEq)]
pub struct FileVerdict {
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub sha256: String,
}

/// A blob a department delivered, as a record of it is filed at a path.
#[derive(Debug)]
pub struct Holding {
    pub size: u64,
    /// The sniffed content type.
    pub magic: Option<String>,
    /// The 类别 the office gave the path, over what its folder says.
    pub kind: Option<Kind>,
}

/// Evidence counted by department, placement, item and kind: what completeness needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceGroup {
    pub department: String,
    pub placement: Filed,
    pub item: Option<String>,
    pub kind: Option<String>,
    pub files: u64,
    pub last_received: Timestamp,
    pub late: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProblemFile {
    pub department: String,
    pub item: Option<String>,
    pub path: String,
    pub problem: String,
}

/// The office's choice for one version of a questioned file (`send_choices`).
#[derive(Debug, Clone, PartialEq)]
pub struct SendChoiceRow {
    pub department: String,
    pub path: String,
    pub sha256: String,
    pub send: bool,
}

/// A file the office returned, as completeness reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedFile {
    pub department: String,
    pub path: String,
    /// `None` for a report or a typical case.
    pub item: Option<String>,
    pub placement: Filed,
    pub reason: String,
    pub at: Timestamp,
    /// No record of the version that was returned is on file any more.
    pub answered: bool,
}

/// The status document's counts, kept by triggers with every change (migrations/009_counts.sql),
/// or counted again from the records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    /// In (department, placement, item, kind) order.
    pub groups: Vec<EvidenceGroup>,
    pub reading: Analysis,
}

impl Counts {
    /// Where the counts kept (`self`) differ from those counted again, one line each.
    pub fn differences(&self, recounted: &Counts) -> Vec<String> {
        let key = |g: &EvidenceGroup| (g.department.clone(), g.placement, g.item.clone(), g.kind.clone());
        let kept: HashMap<_, _> = self.groups.iter().map(|g| (key(g), g)).collect();
        let counted: HashMap<_, _> = recounted.groups.iter().map(|g| (key(g), g)).collect();
        let mut out: Vec<String> = kept
            .keys()
            .chain(counted.keys().filter(|k| !kept.contains_key(*k)))
            .filter(|k| kept.get(*k) != counted.get(*k))
            .map(|k| format!("counts of {k:?}: kept {:?}, counted {:?}", kept.get(k), counted.get(k)))
            .collect();
        out.sort();
        if self.reading != recounted.reading {
            out.push(format!("reading counts: kept {:?}, counted {:?}", self.reading, recounted.reading));
        }
        out
    }
}

/// When `count_against` counts every record again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recount {
    /// Only when the deadline or the reader changed: at start.
    IfChanged,
    /// `scrub`, repairing counts it found wrong.
    Always,
}

/// Everything `completeness` reads, fetched in one transaction so it is consistent.
#[derive(Debug, Default, Clone)]
pub struct StatusData {
    pub groups: Vec<EvidenceGroup>,
    pub analysis: Analysis,
    pub problems: Vec<ProblemFile>,
    /// (department, path) of every typical-case file.
    pub case_paths: Vec<(String, String)>,
    /// (sha256, department, path) of content filed more than once, ordered by hash.
    pub duplicates: Vec<(String, String, String)>,
    pub heartbeats: Vec<FiledHeartbeat>,
    pub contacts: Vec<FiledContacts>,
    pub returned: Vec<ReturnedFile>,
    /// (department, item, text).
    pub notes: Vec<(String, String, String)>,
}

/// The office's yes-or-no decisions about a version of a department's file, each kept in a table
/// of `(department, path, sha256, at)` where a row means yes: another version at the path is a
/// new question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeMark {
    /// Released from its 密级 hold for the hand-in.
    HoldReleased,
    /// Its blank pages left out of the printout.
    BlankPagesDropped,
}

impl OfficeMark {
    pub(super) fn table(self) -> &'static str {
        match self {
            OfficeMark::HoldReleased => "hold_releases",
            OfficeMark::BlankPagesDropped => "blank_drops",
        }
    }
}
