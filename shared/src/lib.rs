//! What the agent and the aggregator agree on: the catalogue, the evidence folder convention and the
//! v1 wire types. Pure: no network, no filesystem, no async runtime.

// A dependency the library does not use is a warning (an error under CI's clippy). The tests
// and binaries are crates of their own, with dev-dependencies, so only the library is held to it.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api;
mod catalogue;
mod china_time;
pub mod chinese;
pub mod contacts;
mod content;
mod convention;
mod hash;
pub mod limits;
pub mod natural;
mod points;
mod reading;
mod relpath;
pub mod reminders;

pub use api::{
    AgentHealth, AreaStatus, AuditRecord, BlobStored, BundleInfo, Contact, ContactRole, Contacts,
    DepartmentStatus, DuplicateCopy, DuplicateGroup, ErrorBody, ErrorCode, Event, EventKind, EvidenceAck,
    EvidenceEntry, EvidenceRecord, FailedFile, Filed, HOST_HEADER, Heartbeat, ItemState, ItemStatus,
    KindChange, Note, PendingFile, QuestionedFile, Returned, Review, SendChoice, SendDecision, SkipReason,
    SkippedFile, Status, Verdict, WatchMode, Withdrawn,
};
pub use catalogue::{
    Area, BUILTIN_CATALOGUE_TOML, CaseRules, Catalogue, CatalogueError, Deadlines, Department, Item,
    ItemCode, KeyPoint, Scoring, chinese_numeral,
};
pub use china_time::{CHINA_STANDARD_TIME, china_time, chinese_date_time, countdown, size_text};
pub use content::{Format, extension_fits, format_of, is_image_name, sniff};
pub use convention::{
    CASES_FOLDER, GUIDE_FILE, IgnoreReason, Kind, Placement, REPORT_FOLDER, TODO_FILE,
    caption_from_file_name, classify, item_folder_name,
};
pub use hash::{HashError, Sha256Hex, Sha256Stream, sha256_bytes, sha256_reader, to_hex};
pub use points::Points;
pub use reading::{
    Analysis, BlankPages, EvidenceListed, FactCorrection, Facts, FieldName, FieldSource, FieldSources,
    HeldFile, HoldRelease, NearDuplicate, QualityCode, QualityFinding, ReadState, SearchHit, TextSource,
};
pub use relpath::{PathError, RelPath};
