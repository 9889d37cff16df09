//! `file-index.csv`, a tag file beside the manifests: every payload file with its 目录 fields
//! for another system (the province's) to import the hand-in without parsing names. It has no
//! 起止页, so it is the same before and after the paper is printed, and it goes into the state's
//! fingerprint (`state_fingerprint`), which the name, the paper's covers and footers all carry.

use std::fmt::Write as _;

use yingjian_shared::sha256_bytes;

use super::PlannedFile;

/// The tag file's name at the bundle's root.
pub const INDEX: &str = "file-index.csv";

/// Payload files left out of the state's fingerprint: the 目录, whose bytes carry the 起止页 (and
/// so change when the paper is printed), and the 校验信息, made from what the index says.
pub const UNFINGERPRINTED: [&str; 3] = ["00 目录.html", "00 目录.xlsx", "00 校验信息.xlsx"];

const COLUMNS: [&str; 14] = [
    "number",
    "reference",
    "path",
    "sha256",
    "size",
    "item",
    "department",
    "kind",
    "doc_number",
    "author",
    "date",
    "title",
    "pages",
    // The blank pages the office left off the paper (`2;5`): the paper of a state is the same
    // whoever prints it, so what it leaves out is part of the state.
    "unprinted_pages",
];

/// The index of `files`, a header line then a line a file, in 目录 order (RFC 4180, UTF-8).
pub fn index_csv(files: &[PlannedFile]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    for f in files {
        out.write_record([
            f.number.to_string().as_str(),
            &f.reference,
            &f.path,
            &f.sha256,
            &f.size.to_string(),
            &f.item,
            &f.department,
            f.kind.map_or("", |k| k.wire()),
            f.doc_number.as_deref().unwrap_or_default(),
            &f.author,
            f.date.as_deref().unwrap_or_default(),
            &f.title,
            &f.pages.map(|p| p.to_string()).unwrap_or_default(),
            &f.unprinted.iter().map(u32::to_string).collect::<Vec<_>>().join(";"),
        ])?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The state's fingerprint: the start of the SHA-256 of the index's manifest line followed by
/// the payload manifest's lines (paths relative to the payload) but the `UNFINGERPRINTED` ones.
/// What the evidence is, where it goes and what the 目录 says of it, but not the 起止页:
/// printing does not change it; `verify-bundle` recomputes it from the bundle.
pub fn state_fingerprint<'a>(index: &[u8], payload: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines = format!("{}  {INDEX}\n", sha256_bytes(index));
    for (sha, path) in payload.into_iter().filter(|(_, path)| !UNFINGERPRINTED.contains(path)) {
        let _ = writeln!(lines, "{sha}  {path}");
    }
    sha256_bytes(lines.as_bytes()).as_str()[..8].to_string()
}
