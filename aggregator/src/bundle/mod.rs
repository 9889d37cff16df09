//! The submission bundle: one zip in catalogue order with its 目录, the contact list and a
//! BagIt manifest, streamed from the blob store and byte-identical for the same state. The
//! same content is also written as a BagIt 1.0 bag (`Layout::BagIt`) for standard validators.
//! What the city still lacks is not in it: that is the office's own report (`report`).

mod index;
pub mod nightly;
pub mod preflight;
mod readahead;
pub mod report;
mod sheet;
mod shelf;
mod toc;
mod verify;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use yingjian_shared::{Contacts, EvidenceEntry, QuestionedFile, SendDecision, format_of, sha256_bytes};
use zip::write::FullFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::blobs::BlobStore;
use crate::db::FiledContacts;
use crate::error::{AppError, AppResult};
use crate::facts::Facts;
use crate::services::Services;
use readahead::Piece;

pub use crate::plan::PlannedFile;
pub use crate::plan::names::unicode_named;
pub use shelf::{Bundles, Failure};
pub use toc::contacts_xlsx;
pub use verify::{Lang, VerifyError, VerifyReport, verify};

/// How the bundle's files are laid out in the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The folder a person opens: the 目录 and the evidence at the root, the manifest beside them.
    #[default]
    Plain,
    /// A BagIt 1.0 bag (RFC 8493): the same files under `data/`, with `bagit.txt`.
    BagIt,
}

impl Layout {
    /// The bag's payload folder, as manifests write it.
    fn payload_prefix(self) -> &'static str {
        match self {
            Layout::Plain => "",
            Layout::BagIt => "data/",
        }
    }

    fn name_suffix(self) -> &'static str {
        match self {
            Layout::Plain => "",
            Layout::BagIt => "-bagit",
        }
    }
}

/// A bundle on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    pub files: usize,
    /// The points its state covered (`42.5/100`): for the office, never inside the bundle.
    pub coverage: String,
    /// Built by this call; false when the bundle of this state was there already.
    pub fresh: bool,
}

/// Temporary files of a build under way start so: never listed, removed at start.
const PARTIAL_PREFIX: &str = ".partial-";

/// Names of the bag's own files (tag files) at the bundle's root.
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
pub const BAG_INFO: &str = "bag-info.txt";
pub const BAGIT_TXT: &str = "bagit.txt";
const BAGIT_DECLARATION: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// The contact list in the payload.
const CONTACTS: &str = "00 联系人名单.xlsx";

/// What a bundle's name ends with when its 目录 has the 起止页 of the paper of record.
const PAGED_SUFFIX: &str = "-含页码";

/// A bundle's name: `平顶山市2021年度质量工作考核材料-20220117-173000-1a2b3c4d[-含页码][-bagit].zip`,
/// the time of the state's last change and the state's fingerprint (both layouts of one state
/// share it, and printing the paper does not change it).
fn bundle_name(
    state: &Services,
    local: jiff::civil::DateTime,
    fingerprint: &str,
    paged: bool,
    layout: Layout,
) -> String {
    let city = city_prefix(state);
    format!(
        "{city}{}年度质量工作考核材料-{}-{fingerprint}{}{}.zip",
        state.catalogue.year,
        local.strftime("%Y%m%d-%H%M%S"),
        if paged { PAGED_SUFFIX } else { "" },
        layout.name_suffix()
    )
}

/// The city as the bundle's root folder and name begin with it (nothing when none is set).
fn city_prefix(state: &Services) -> String {
    if state.config.city.is_empty() {
        String::new()
    } else {
        crate::plan::names::sanitize(&state.config.city)
    }
}

/// What a bundle's name says, read back (`bundle_name`); `None` for any other name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts<'a> {
    /// `20220117`, `173000`.
    pub date: &'a str,
    pub time: &'a str,
    pub fingerprint: &'a str,
    pub paged: bool,
    pub layout: Layout,
    /// Built before the state's fingerprint (`yingjian-2021-…`): still listed and served, its
    /// fingerprint of an older kind that `verify-bundle` does not check.
    pub legacy: bool,
}

impl NameParts<'_> {
    pub fn of(name: &str) -> Option<NameParts<'_>> {
        let stem = name.strip_suffix(".zip")?;
        let (stem, layout) =
            stem.strip_suffix("-bagit").map_or((stem, Layout::Plain), |s| (s, Layout::BagIt));
        let (stem, paged) = stem.strip_suffix(PAGED_SUFFIX).map_or((stem, false), |s| (s, true));
        let mut parts = stem.rsplitn(4, '-');
        let (fingerprint, time, date, prefix) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let legacy = !paged && prefix.strip_prefix("yingjian-").is_some_and(|year| digits(year, 4));
        let ok = (prefix.ends_with("年度质量工作考核材料") || legacy)
            && !prefix.starts_with('.')
            && !prefix.contains(['/', '\\', ':'])
            && digits(date, 8)
            && digits(time, 6)
            && fingerprint.len() == 8
            && fingerprint.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then_some(NameParts { date, time, fingerprint, paged, layout, legacy })
    }
}

/// Content already compressed (or a scan) is stored as it is; the rest is deflated.
fn compression_for(name: &str) -> CompressionMethod {
    if format_of(name).is_some_and(|f| !f.compressed) {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    }
}

/// The moment the state last changed: the bundle's name, dates and zip timestamps come from it,
/// never from the clock, so building twice gives the same bytes.
fn as_of(rows: &[EvidenceEntry], contacts: &[FiledContacts]) -> Timestamp {
    rows.iter()
        .map(|r| r.received)
        .chain(contacts.iter().map(|c| c.updated))
        .max()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What a bundle of the current state holds, before anything is written.
struct Prepared {
    name: String,
    root: String,
    local: jiff::civil::DateTime,
    /// The 目录 and the contact list, made in memory (they are small).
    generated: Vec<(String, Vec<u8>)>,
    files: Vec<PlannedFile>,
    /// The index tag file (`index::INDEX`).
    index: Vec<u8>,
    fingerprint: String,
    /// When the paper of record of this state was printed, if it was.
    printed: Option<Timestamp>,
    /// `sha256  path` per payload file, paths relative to the payload.
    manifest: String,
    payload_bytes: u64,
    coverage: String,
}

/// How often a plan is read again when the state changed while it was read.
const CONSISTENT_READS: usize = 5;

/// The state a bundle (or the printed volumes) is made of: the files in 目录 order with what
/// their contents say, read from one state.
pub(crate) struct Planned {
    pub files: Vec<PlannedFile>,
    pub facts: HashMap<String, Facts>,
    /// The state's last change, in China time.
    pub local: jiff::civil::DateTime,
    root: String,
    /// `00 联系人名单.xlsx`, and the index tag file.
    contacts: Vec<u8>,
    index: Vec<u8>,
    coverage: String,
    /// The state's fingerprint (`index::state_fingerprint`): the bundle's name, the paper's
    /// covers and footers.
    pub fingerprint: String,
    /// When the paper of record of this very state was printed: the 起止页 are its own.
    pub printed: Option<Timestamp>,
    /// The files with a question over them, and the office's choice for each (`preflight`).
    pub questioned: Vec<QuestionedFile>,
}

/// Plans the files of the current state, from one state: the records, the contacts and the
/// status are read again (a few times at most) until no change came between them, so the 目录
/// always agrees with the files.
pub(crate) async fn planned(state: &Services) -> AppResult<Planned> {
    let mut attempt = 0;
    let (rows, data) = loop {
        let before = state.generation();
        let data = state.status_data().await?;
        let rows = state.db.evidence(None).await?;
        attempt += 1;
        if state.generation() == before || attempt == CONSISTENT_READS {
            break (rows, data);
        }
    };
    let status = state.status_of(&data, None);
    let contacts: Vec<(String, Contacts)> =
        data.contacts.iter().filter_map(|c| Some((c.department.clone(), c.contacts.clone()?))).collect();
    let local = yingjian_shared::china_time(as_of(&rows, &data.contacts));
    let city = city_prefix(state);
    let root = format!("{city}{}年度质量工作考核迎检材料", state.catalogue.year);
    let knowledge = state.knowledge().await?;
    let facts = state.db.facts().await?;
    let told = state.told();
    // A file with a question over it (`preflight`) goes out only when the office chose to send it.
    let choices = state.db.send_choices().await?;
    let questioned = preflight::questioned(&state.catalogue, &rows, &data, &knowledge, &choices);
    let out: HashSet<(&str, &str)> = questioned
        .iter()
        .filter(|q| q.decision != SendDecision::Send)
        .map(|q| (q.department.as_str(), q.path.as_str()))
        .collect();
    let rows: Vec<EvidenceEntry> =
        rows.iter().filter(|r| !out.contains(&(r.department.as_str(), r.path.as_str()))).cloned().collect();
    let mut files = crate::plan::plan(&state.catalogue, &root, &rows, &|r| knowledge.of(r, &told));
    let contacts = toc::contacts_xlsx(&state.catalogue, &state.config.city, &contacts, workbook_date(local))
        .map_err(AppError::internal)?;
    // 页数 counted by the print (an Office file's converted pages) is the paper's, like the
    // 起止页: not part of the state, and given only with the paper of record.
    let counted: Vec<Option<u32>> = files.iter().map(|f| f.pages).collect();
    for f in &mut files {
        f.pages = facts.get(&f.sha256).and_then(|x| x.pages);
    }
    let index = index::index_csv(&files).map_err(AppError::internal)?;
    let contacts_sha = sha256_bytes(&contacts);
    let payload = std::iter::once((contacts_sha.as_str(), CONTACTS))
        .chain(files.iter().map(|f| (f.sha256.as_str(), f.path.as_str())));
    let fingerprint = index::state_fingerprint(&index, payload);
    // The 起止页 are those of the paper of record, and only when it is of this state.
    let printed = state.db.print_record().await?.filter(|(of, _)| *of == fingerprint).map(|(_, at)| at);
    if printed.is_some() {
        let mut spans = crate::layout::spans(&state.catalogue, &files, &facts, &state.config.print);
        for (f, pages) in files.iter_mut().zip(counted) {
            f.printed = spans.remove(&f.number);
            f.pages = pages;
        }
    }
    let coverage = format!("{}/{}", status.points_complete, status.points_total);
    Ok(Planned { files, facts, local, root, contacts, index, coverage, fingerprint, printed, questioned })
}

/// Plans the bundle of the current state. The name carries the time of the last change and a
/// fingerprint of what it holds: an unchanged state keeps its name, any change gives a new one.
async fn prepare(state: &Services, layout: Layout) -> AppResult<Prepared> {
    let Planned { files, local, root, contacts, index, coverage, fingerprint, printed, .. } =
        planned(state).await?;
    let day = workbook_date(local);
    let title = format!("{}{}印证材料目录", state.config.city, state.catalogue.name);
    let as_of_text = local.strftime("%Y年%-m月%-d日").to_string();
    let print_line = match printed {
        Some(at) => format!(
            "状态校验码 {fingerprint}；起止页依据 {} 生成的纸质版（封面和页脚印有同一校验码）。",
            yingjian_shared::china_time(at).strftime("%Y年%-m月%-d日 %H:%M")
        ),
        None => format!("状态校验码 {fingerprint}；本状态尚未生成纸质版，起止页空缺。"),
    };
    let generated: Vec<(String, Vec<u8>)> = vec![
        (
            "00 目录.html".into(),
            toc::toc_html(&state.catalogue, &title, &as_of_text, &print_line, &files)
                .map_err(AppError::internal)?,
        ),
        (
            "00 目录.xlsx".into(),
            toc::toc_xlsx(&state.catalogue, &title, &files, day).map_err(AppError::internal)?,
        ),
        (CONTACTS.into(), contacts),
        ("00 校验信息.xlsx".into(), toc::checks_xlsx(&title, &files, day).map_err(AppError::internal)?),
    ];
    let mut manifest = String::new();
    let mut payload_bytes = 0;
    for (name, bytes) in &generated {
        let _ = writeln!(manifest, "{}  {name}", sha256_bytes(bytes));
        payload_bytes += bytes.len() as u64;
    }
    for f in &files {
        let _ = writeln!(manifest, "{}  {}", f.sha256, f.path);
        payload_bytes += f.size;
    }
    let name = bundle_name(state, local, &fingerprint, printed.is_some(), layout);
    Ok(Prepared {
        name,
        root,
        local,
        generated,
        files,
        index,
        fingerprint,
        printed,
        manifest,
        payload_bytes,
        coverage,
    })
}

fn workbook_date(local: jiff::civil::DateTime) -> (u16, u8, u8) {
    ((local.year().max(1980)) as u16, local.month() as u8, local.day() as u8)
}

/// Builds the bundle of the current state into the shelf's folder unless the shelf has it
/// already (in its folder, or in the store it shares with other instances). Called only by
/// `Bundles::build`, which lets one build run at a time.
async fn build_into(
    state: &Services,
    shelf: &Bundles,
    layout: Layout,
    progress: impl Fn(u64, u64) + Send + 'static,
) -> AppResult<Built> {
    let prepared = prepare(state, layout).await?;
    let out_dir = shelf.dir();
    let target = out_dir.join(&prepared.name);
    let count = prepared.files.len();
    let name = prepared.name.clone();
    let coverage = prepared.coverage.clone();
    let there = match fs::metadata(&target) {
        Ok(meta) => Some(meta.len()),
        Err(_) => shelf.shared_size(&name).await,
    };
    if let Some(size) = there {
        return Ok(Built { path: target, name, size, files: count, coverage, fresh: false });
    }
    let organization = if state.config.city.is_empty() { &state.catalogue.name } else { &state.config.city };
    // Which paper this bundle goes with: the fingerprint on the covers and footers.
    let paper = prepared.printed.map_or_else(
        || "none".to_string(),
        |at| yingjian_shared::china_time(at).strftime("%Y-%m-%d %H:%M").to_string(),
    );
    let bag_info = format!(
        "Source-Organization: {organization}\nBagging-Date: {}\nExternal-Description: {}{}印证材料\nExternal-Identifier: {}\nYingjian-Paper-Printed: {paper}\nPayload-Oxum: {}.{}\n",
        prepared.local.strftime("%Y-%m-%d"),
        state.config.city,
        state.catalogue.name,
        prepared.fingerprint,
        prepared.payload_bytes,
        prepared.generated.len() + prepared.files.len(),
    );
    fs::create_dir_all(out_dir)?;
    let (blobs, dir, path) = (state.blobs.clone(), out_dir.to_path_buf(), target.clone());
    tokio::task::spawn_blocking(move || {
        let job = Job { prepared, layout, bag_info, progress: &progress };
        write_zip(&job, &*blobs, &dir, &path)
    })
    .await
    .map_err(AppError::internal)??;
    let size = fs::metadata(&target)?.len();
    Ok(Built { path: target, name, size, files: count, coverage, fresh: true })
}

struct Job<'a> {
    prepared: Prepared,
    layout: Layout,
    bag_info: String,
    progress: &'a (dyn Fn(u64, u64) + Send),
}

/// Writes the zip to a temporary file beside `target`, syncs it and renames it into place; a
/// failure or a crash leaves no file under a bundle's name (and the temporary one goes).
fn write_zip(job: &Job<'_>, blobs: &dyn BlobStore, out_dir: &Path, target: &Path) -> AppResult<()> {
    let p = &job.prepared;
    let (y, m, d) = workbook_date(p.local);
    let date = DateTime::from_date_and_time(y, m, d, 0, 0, 0).unwrap_or_default();
    let payload = format!("{}/{}", p.root, job.layout.payload_prefix());
    let temp = tempfile::Builder::new().prefix(PARTIAL_PREFIX).tempfile_in(out_dir)?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, temp));
    // `entry` is the whole name in the zip: a name beyond ASCII also goes in a Unicode Path field.
    let options = |entry: &str, size: u64| -> AppResult<FullFileOptions<'static, 'static>> {
        let options = FullFileOptions::default()
            .compression_method(compression_for(entry))
            .last_modified_time(date)
            .unix_permissions(0o644)
            .large_file(size >= u64::from(u32::MAX));
        unicode_named(options, entry).map_err(zip_error)
    };
    // The tag files are known before the payload is copied: they go first, so a bag reader
    // finds bagit.txt at once.
    let mut manifest = String::new();
    for line in p.manifest.lines() {
        let (sha, path) = line.split_once("  ").unwrap_or((line, ""));
        let _ = writeln!(manifest, "{sha}  {}{path}", job.layout.payload_prefix());
    }
    let mut tags: Vec<(&str, &str)> = Vec::new();
    if job.layout == Layout::BagIt {
        tags.push((BAGIT_TXT, BAGIT_DECLARATION));
    }
    let index = std::str::from_utf8(&p.index).map_err(AppError::internal)?;
    tags.extend([(BAG_INFO, job.bag_info.as_str()), (MANIFEST, manifest.as_str()), (index::INDEX, index)]);
    let mut tag_manifest = String::new();
    for (name, text) in &tags {
        let _ = writeln!(tag_manifest, "{}  {name}", sha256_bytes(text.as_bytes()));
    }
    tags.push((TAG_MANIFEST, &tag_manifest));
    for (name, text) in tags {
        let entry = format!("{}/{name}", p.root);
        zip.start_file(entry.as_str(), options(&entry, text.len() as u64)?).map_err(zip_error)?;
        zip.write_all(text.as_bytes())?;
    }
    for (name, bytes) in &p.generated {
        let entry = format!("{payload}{name}");
        zip.start_file(entry.as_str(), options(&entry, bytes.len() as u64)?).map_err(zip_error)?;
        zip.write_all(bytes)?;
    }
    let total: u64 = p.files.iter().map(|f| f.size).sum();
    let blobs_in_order: Vec<&str> = p.files.iter().map(|f| f.sha256.as_str()).collect();
    readahead::with_read_ahead(blobs, &blobs_in_order, |pieces, emptied| -> AppResult<()> {
        let mut done = 0u64;
        for f in &p.files {
            let entry = format!("{payload}{}", f.path);
            zip.start_file(entry.as_str(), options(&entry, f.size)?).map_err(zip_error)?;
            let copied = loop {
                match pieces.recv() {
                    Ok(Piece::Bytes(mut chunk)) => {
                        zip.write_all(&chunk)?;
                        chunk.clear();
                        let _ = emptied.send(chunk);
                    }
                    Ok(Piece::End(copied)) => break copied,
                    Err(_) => break Err(io::Error::other("the blob reader stopped")),
                }
            };
            let copied = copied.map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => AppError::BlobUnavailable(format!("blob {} is missing", f.sha256)),
                io::ErrorKind::InvalidData => AppError::BlobUnavailable(e.to_string()),
                _ => AppError::from(e),
            })?;
            if copied != f.size {
                return Err(AppError::BlobUnavailable(format!(
                    "blob {} has {copied} bytes, not {}",
                    f.sha256, f.size
                )));
            }
            done += f.size;
            (job.progress)(done, total);
        }
        Ok(())
    })?;
    let mut writer = zip.finish().map_err(zip_error)?;
    writer.flush()?;
    let temp = writer.into_inner().map_err(|e| AppError::Io(e.into_error()))?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| AppError::Io(e.error))?;
    Ok(crate::durable::sync_folder(out_dir)?)
}

fn zip_error(e: zip::result::ZipError) -> AppError {
    match e {
        zip::result::ZipError::Io(e) => AppError::Io(e),
        e => AppError::internal(format!("zip: {e}")),
    }
}
