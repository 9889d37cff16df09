//! Wire types of the v1 HTTP API (docs/api.md): one definition, used by both sides.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::catalogue::ItemCode;
use crate::convention::Kind;
use crate::hash::Sha256Hex;
use crate::points::Points;
use crate::relpath::RelPath;

/// Header in which the agent names its PC, for the server's audit log.
pub const HOST_HEADER: &str = "x-yingjian-host";

/// The stable machine-readable code of an error response (`ErrorBody::error`): spelled here
/// alone, for the server that says it and the agent that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// A protocol version this server does not speak (tus).
    UnsupportedVersion,
    UnsupportedMediaType,
    /// Another request is working on the same resource.
    Locked,
    TooLarge,
    /// The bytes sent hash to another SHA-256 than the one named.
    HashMismatch,
    Unprocessable,
    /// Past what one department or token may hold open.
    TooMany,
    StorageFull,
    Internal,
    /// A code from a newer server.
    #[serde(other)]
    Other,
}

/// Every 4xx/5xx response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub error: ErrorCode,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

/// `PUT /api/v1/evidence`: one file of the department's evidence folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub path: RelPath,
    pub sha256: Sha256Hex,
    pub size: u64,
    pub modified: Timestamp,
    /// From a same-stem `.txt` beside a picture; the server falls back to the file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// Where a record is filed: in an item folder, or among the reports or the typical cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filed {
    Item,
    /// 自评报告
    Report,
    /// 典型案例
    Case,
}

impl Filed {
    /// The name on the wire and in the database (the serde name).
    pub fn wire(self) -> &'static str {
        match self {
            Filed::Item => "item",
            Filed::Report => "report",
            Filed::Case => "case",
        }
    }

    pub fn from_wire(text: &str) -> Option<Filed> {
        [Filed::Item, Filed::Report, Filed::Case].into_iter().find(|f| f.wire() == text)
    }
}

/// One record on file, as `GET /api/v1/evidence` lists it and the server keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceEntry {
    pub department: String,
    /// The agent installation (PC) that filed it, or `网页上传`.
    pub agent: String,
    pub path: RelPath,
    pub sha256: Sha256Hex,
    pub size: u64,
    pub modified: Timestamp,
    pub caption: Option<String>,
    pub placement: Filed,
    pub item: Option<ItemCode>,
    pub kind: Option<Kind>,
    /// `uncaptioned` or `mismatch`: why the file makes its item 待完善.
    pub problem: Option<String>,
    pub received: Timestamp,
}

impl EvidenceEntry {
    /// Where it is filed, as a receipt names it: the item's code (`08.03`), 自评报告 or 典型案例.
    pub fn place(&self) -> String {
        match self.placement {
            Filed::Item => self.item.map(ItemCode::padded).unwrap_or_default(),
            Filed::Report => "自评报告".into(),
            Filed::Case => "典型案例".into(),
        }
    }

    /// Catalogue order, as receipts list files: items by code, then 自评报告, then 典型案例;
    /// by path within each.
    pub fn catalogue_cmp(&self, other: &EvidenceEntry) -> std::cmp::Ordering {
        let key = |r: &EvidenceEntry| (r.placement != Filed::Item, r.placement == Filed::Case, r.place());
        // 案例二 before 案例十一, as people number them.
        key(self)
            .cmp(&key(other))
            .then_with(|| crate::natural::natural_cmp(self.path.as_str(), other.path.as_str()))
    }
}

/// `DELETE /api/v1/evidence`: whether there was a record to withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawn {
    pub withdrawn: bool,
}

/// `GET /api/v1/audit`: one entry of the append-only log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Timestamp,
    /// `None` for the office.
    pub department: Option<String>,
    pub agent: Option<String>,
    pub host: Option<String>,
    /// `upload`, `upload_existing`, `record`, `record_update`, `withdraw`, `contacts`,
    /// `token_create`, `token_revoke`, `bundle`, `bundle_failed`.
    pub action: String,
    pub detail: String,
}

/// The server's answer to an evidence record: where the folder convention put it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceAck {
    pub path: RelPath,
    pub placement: Filed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// False when the same record was already on file (a re-send).
    pub changed: bool,
}

/// `POST /api/v1/blobs`: the server's answer to an upload that did not name its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobStored {
    pub sha256: Sha256Hex,
    pub size: u64,
}

/// How the agent learns of changes in the evidence folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchMode {
    Native,
    Polling,
    /// Native events, and polling for the folders the system's watch limit left out.
    Mixed,
    /// The evidence folder is missing or unmounted: the agent waits for it.
    Paused,
    /// The folder is there but its marker file is gone: the agent waits until `init` puts it
    /// back (it cannot tell a folder emptied by mistake from one it should withdraw).
    NoMarker,
}

impl WatchMode {
    /// What the office and the clerk read.
    pub fn label(self) -> &'static str {
        match self {
            WatchMode::Native => "实时监视",
            WatchMode::Polling => "定时扫描",
            WatchMode::Mixed => "实时监视（部分文件夹定时扫描）",
            WatchMode::Paused => "已暂停：证据文件夹不存在或未连接",
            WatchMode::NoMarker => {
                "已暂停：证据文件夹中的标记文件 .yingjian-folder 被删除，请运行 yingjian-agent init 恢复"
            }
        }
    }

    pub fn is_paused(self) -> bool {
        matches!(self, WatchMode::Paused | WatchMode::NoMarker)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedFile {
    pub path: RelPath,
    pub reason: String,
}

/// Why the agent leaves a file in the evidence folder out (nothing is left out silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not valid UTF-8 (GBK bytes from an old zip), or a control character or newline in it.
    BadName,
    /// Too long for the wire.
    LongName,
    /// Another name in the same folder is the same text in another Unicode form.
    NameClash,
    /// A link the agent does not follow (out of the folder, to a folder, or broken).
    Link,
    /// 0 bytes: not evidence.
    Empty,
    /// The agent may not read it (permissions): tried again now and then until it can.
    Unreadable,
    /// Another program holds it open and locked (Windows): tried again until it lets go.
    Locked,
    /// Not a file: the agent's own disk (its state folder) is full, so nothing new is taken
    /// until space returns; `name` is the state folder.
    DiskFull,
}

impl SkipReason {
    /// Why, and what to do, for the clerk.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::BadName => "文件名含无法识别的字符，请重命名",
            SkipReason::LongName => "文件名或文件夹路径太长，请缩短",
            SkipReason::NameClash => "与同一文件夹中另一个文件同名（字符写法不同），请重命名其中一个",
            SkipReason::Link => "是快捷方式（链接），不会上传：请把文件本身放进来",
            SkipReason::Empty => "是空文件（0 字节），不会上传",
            SkipReason::Unreadable => {
                "无法读取：没有权限。请让这台电脑的上传程序能读取它（文件属性 → 安全），之后会自动上传"
            }
            SkipReason::Locked => "被其他程序占用：请关闭正在使用它的程序（扫描、编辑软件），之后会自动上传",
            SkipReason::DiskFull => "上传程序所在的磁盘已满：请腾出磁盘空间，之后会自动继续上传",
        }
    }
}

/// A file the agent does not deliver, named as best it can be (a name that is not valid
/// UTF-8 is shown lossily, so it is not a `RelPath`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedFile {
    pub name: String,
    pub reason: SkipReason,
    /// The reason as the clerk reads it (`SkipReason::label`), for readers of the JSON.
    #[serde(default)]
    pub message: String,
}

impl SkippedFile {
    pub fn new(name: String, reason: SkipReason) -> SkippedFile {
        SkippedFile { name, reason, message: reason.label().into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingFile {
    pub path: RelPath,
    pub since: Timestamp,
}

/// `POST /api/v1/heartbeat`, every minute from each agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub version: String,
    pub host: String,
    pub watch_mode: WatchMode,
    pub pending: u64,
    #[serde(default)]
    pub failed: Vec<FailedFile>,
    #[serde(default)]
    pub oldest_pending: Option<PendingFile>,
    /// Files outside every item folder: the clerk should move them.
    #[serde(default)]
    pub unsorted: Vec<RelPath>,
    /// Files the agent leaves out, and why.
    #[serde(default)]
    pub skipped: Vec<SkippedFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// 分管领导
    Leader,
    /// 工作人员
    Staff,
}

impl ContactRole {
    pub fn label(self) -> &'static str {
        match self {
            ContactRole::Leader => "分管领导",
            ContactRole::Staff => "工作人员",
        }
    }
}

/// One row of 附件4 (联系人员名单).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub role: ContactRole,
    /// 姓名
    pub name: String,
    /// 性别
    #[serde(default)]
    pub gender: String,
    /// 单位
    #[serde(default)]
    pub unit: String,
    /// 职务
    #[serde(default)]
    pub position: String,
    /// 电话、传真
    #[serde(default)]
    pub phone: String,
    /// 手机
    #[serde(default)]
    pub mobile: String,
    /// 邮箱
    #[serde(default)]
    pub email: String,
}

impl Contact {
    /// 附件4's columns after 类别, in its order: 姓名, 性别, 单位, 职务, 电话、传真, 手机, 邮箱.
    pub fn columns(&self) -> [&str; 7] {
        [&self.name, &self.gender, &self.unit, &self.position, &self.phone, &self.mobile, &self.email]
    }
}

/// `PUT /api/v1/contacts`. An office token must name the department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub contacts: Vec<Contact>,
}

/// The office's verdict on one filed file (`PUT /api/v1/reviews`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 通过
    Accepted,
    /// 退回: the department must deliver a new version or withdraw the file.
    Returned,
    /// The verdict is taken back.
    Cleared,
}

impl Verdict {
    /// The name on the wire and in the database (the serde name).
    pub fn wire(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Returned => "returned",
            Verdict::Cleared => "cleared",
        }
    }

    pub fn from_wire(text: &str) -> Option<Verdict> {
        [Verdict::Accepted, Verdict::Returned, Verdict::Cleared].into_iter().find(|v| v.wire() == text)
    }
}

/// `PUT /api/v1/reviews` (office): a verdict on a department's file, by its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub department: String,
    pub path: RelPath,
    pub verdict: Verdict,
    /// Required for `returned`: what the department must do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `PUT /api/v1/kinds` (office): the 类别 of a department's file in an item, whatever its
/// folder says; it holds when the file is sent again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindChange {
    pub department: String,
    pub path: RelPath,
    pub kind: Kind,
}

/// `PUT /api/v1/choices` (office): whether a file with a question over it (returned and not
/// answered, a picture without a caption, a 密级 mark) goes into the hand-in. Until the office
/// chooses, it stays out; `None` takes the choice back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendChoice {
    pub department: String,
    pub path: RelPath,
    pub send: Option<bool>,
}

/// Whether a questioned file goes into the hand-in: until the office chooses, it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendDecision {
    Undecided,
    Send,
    LeaveOut,
}

/// `GET /api/v1/choices` (office): a file with a question over it before the hand-in, what the
/// questions are (in Chinese, as the 打包 page says them) and the office's choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionedFile {
    pub department: String,
    pub path: RelPath,
    pub sha256: Sha256Hex,
    pub questions: Vec<String>,
    pub decision: SendDecision,
}

/// `PUT /api/v1/notes` (office): a note to a department on one of its items; empty clears it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub department: String,
    pub item: ItemCode,
    pub text: String,
}

/// A file the office returned, in the status document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    pub path: RelPath,
    pub reason: String,
    pub at: Timestamp,
    /// The department delivered a new version or withdrew the file: for the office to see.
    pub answered: bool,
}

impl Returned {
    /// What the office and the department read about it.
    pub fn line(&self) -> String {
        let name = self.path.file_name();
        if self.answered {
            format!("《{name}》已按退回意见重新提交或撤回（原退回理由：{}）", self.reason)
        } else {
            format!("已退回《{name}》：{}", self.reason)
        }
    }
}

/// Completeness of one item for one responsible department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// 缺失
    Missing,
    /// 待完善
    Incomplete,
    /// 齐全
    Complete,
}

impl ItemState {
    pub fn label(self) -> &'static str {
        match self {
            ItemState::Missing => "缺失",
            ItemState::Incomplete => "待完善",
            ItemState::Complete => "齐全",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStatus {
    pub code: ItemCode,
    pub status: ItemState,
    /// Why it is incomplete, in Chinese, for the office and the clerk.
    pub reasons: Vec<String>,
    pub files: u64,
    /// Files of this item the office returned, answered or not.
    #[serde(default)]
    pub returned: Vec<Returned>,
    /// The office's note on this item, until it clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::struct_excessive_bools, reason = "a flat JSON document for scripts")]
pub struct DepartmentStatus {
    pub id: String,
    pub name: String,
    pub points_total: Points,
    /// The headline figure: points of the department's items whose evidence is 齐全.
    #[serde(default)]
    pub points_complete: Points,
    /// Points of items the department has sent something for, 齐全 or not.
    pub points_covered: Points,
    pub report: bool,
    pub cases: u64,
    pub cases_ok: bool,
    pub contacts: bool,
    pub contacts_late: bool,
    pub evidence_late: bool,
    /// Records filed after the evidence deadline.
    pub late_uploads: u64,
    pub last_upload: Option<Timestamp>,
    pub last_heartbeat: Option<Timestamp>,
    pub unsorted: Vec<RelPath>,
    /// Reports and typical cases the office returned (item files are under their item).
    #[serde(default)]
    pub returned: Vec<Returned>,
    /// Each agent installation of the department, by its last heartbeat.
    pub agents: Vec<AgentHealth>,
    pub items: Vec<ItemStatus>,
}

/// An agent installation as its last heartbeat described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentHealth {
    pub agent: String,
    pub host: String,
    pub version: String,
    pub watch_mode: WatchMode,
    pub pending: u64,
    pub failed: Vec<FailedFile>,
    /// The file that has waited longest to be delivered, and since when.
    #[serde(default)]
    pub oldest_pending: Option<PendingFile>,
    /// Files the agent leaves out, and why.
    #[serde(default)]
    pub skipped: Vec<SkippedFile>,
    pub last_seen: Timestamp,
    /// No heartbeat for longer than the server's `silent_after_secs`.
    pub silent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateCopy {
    pub department: String,
    pub path: RelPath,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    pub sha256: Sha256Hex,
    pub copies: Vec<DuplicateCopy>,
}

/// Points per area: what is covered and what is at risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaStatus {
    pub code: u8,
    pub name: String,
    pub points_total: Points,
    #[serde(default)]
    pub points_complete: Points,
    pub points_covered: Points,
}

/// `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub catalogue_year: u16,
    pub points_total: Points,
    /// The headline figure, the same on every page: points of items 齐全 for every responsible
    /// department.
    #[serde(default)]
    pub points_complete: Points,
    /// Points of items every responsible department has sent something for, 齐全 or not.
    pub points_covered: Points,
    /// Points of items with some evidence that is not yet complete.
    pub points_at_risk: Points,
    pub areas: Vec<AreaStatus>,
    pub departments: Vec<DepartmentStatus>,
    pub duplicates: Vec<DuplicateGroup>,
    /// How far reading the stored files has come.
    #[serde(default)]
    pub analysis: crate::reading::Analysis,
    /// Files held back for a 密级 mark until the office releases them.
    #[serde(default)]
    pub held: Vec<crate::reading::HeldFile>,
    pub generated: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Evidence,
    Withdrawn,
    Heartbeat,
    Contacts,
    Bundle,
    /// The office reviewed a file or wrote a note.
    Review,
    /// A file was read (its fields, scan findings, a 密级 hold), or the office corrected or
    /// released it.
    Read,
}

/// One Server-Sent Event on `GET /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<RelPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub at: Timestamp,
}

/// One entry of `GET /api/v1/bundles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleInfo {
    pub name: String,
    pub size: u64,
    pub created: Timestamp,
}
