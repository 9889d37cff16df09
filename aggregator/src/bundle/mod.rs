//! The submission bundle: one zip in catalogue order with its 目录, the contact list and a
//! BagIt-style manifest, streamed from the blob store and byte-identical for the same state.

mod names;
pub mod nightly;
mod plan;
mod shelf;
mod toc;
mod verify;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use yingjian_shared::{Contacts, EvidenceEntry, Status, china_time, format_of, sha256_reader};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::blobs::BlobStore;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub use plan::PlannedFile;
pub use shelf::{Bundles, Failure};
pub use verify::{VerifyReport, verify};

/// A bundle on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    pub files: usize,
    /// Built by this call; false when the bundle of this state was there already.
    pub fresh: bool,
}

/// Temporary files of a build under way start so: never listed, removed at start.
const PARTIAL_PREFIX: &str = ".partial-";

/// Names of the bag's own files at the bundle's root.
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const BAG_INFO: &str = "bag-info.txt";

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
fn as_of(rows: &[EvidenceEntry], contacts: &[(String, String, Timestamp)]) -> Timestamp {
    rows.iter().map(|r| r.received).chain(contacts.iter().map(|c| c.2)).max().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What a bundle of the current state holds, before anything is written.
struct Prepared {
    name: String,
    root: String,
    local: jiff::civil::DateTime,
    files: Vec<PlannedFile>,
    contacts: Vec<(String, Contacts)>,
    status: Status,
}

/// How often a plan is read again when the state changed while it was read.
const CONSISTENT_READS: usize = 5;

/// Plans the bundle of the current state, from one state: the records, the contacts and the
/// status are read again (a few times at most) until no change came between them, so the 目录
/// always agrees with the files. The name carries the time of the last change and a fingerprint
/// of what it holds: an unchanged state keeps its name, any change gives a new one.
async fn prepare(state: &AppState) -> AppResult<Prepared> {
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
    let contacts: Vec<(String, Contacts)> = data
        .contacts
        .iter()
        .filter_map(|(dept, body, _)| serde_json::from_str(body).ok().map(|c| (dept.clone(), c)))
        .collect();
    let local = china_time(as_of(&rows, &data.contacts));
    let year = state.catalogue.year;
    let city = if state.config.city.is_empty() { String::new() } else { names::sanitize(&state.config.city) };
    let root = format!("{city}{year}年度质量工作考核迎检材料");
    let files = plan::plan(&state.catalogue, &root, &rows);
    let mut fingerprint = String::new();
    for f in &files {
        let _ = writeln!(fingerprint, "{} {}", f.sha256, f.path);
    }
    for (_, body, _) in &data.contacts {
        fingerprint.push_str(body);
    }
    let digest = sha256_reader(fingerprint.as_bytes())?.0;
    let name = format!("yingjian-{year}-{}-{}.zip", local.strftime("%Y%m%d-%H%M%S"), &digest.as_str()[..8]);
    Ok(Prepared { name, root, local, files, contacts, status })
}

/// Builds the bundle of the current state into `out_dir` unless it is there already. Called
/// only by `Bundles::build`, which lets one build run at a time.
async fn build_into(
    state: &AppState,
    out_dir: &Path,
    progress: impl Fn(u64, u64) + Send + 'static,
) -> AppResult<Built> {
    let Prepared { name, root, local, files, contacts, status } = prepare(state).await?;
    let target = out_dir.join(&name);
    let count = files.len();
    if let Ok(meta) = fs::metadata(&target) {
        return Ok(Built { path: target, name, size: meta.len(), files: count, fresh: false });
    }
    let year = state.catalogue.year;
    let date = ((local.year().max(1980)) as u16, local.month() as u8, local.day() as u8);
    let title = format!("{}{}印证材料", state.config.city, state.catalogue.name);
    let generated: Vec<(String, Vec<u8>)> = vec![
        (
            "00 目录.html".into(),
            toc::toc_html(
                &state.catalogue,
                &title,
                &local.strftime("%Y-%m-%d %H:%M").to_string(),
                &status,
                &files,
            )
            .map_err(AppError::internal)?,
        ),
        (
            "00 目录.xlsx".into(),
            toc::toc_xlsx(&state.catalogue, &status, &files, date).map_err(AppError::internal)?,
        ),
        (
            "00 联系人名单.xlsx".into(),
            toc::contacts_xlsx(&state.catalogue, &contacts, date).map_err(AppError::internal)?,
        ),
    ];
    let bag_info = format!(
        "Source-Organization: {}\nBagging-Date: {}\nCatalogue-Year: {year}\nPoints-Covered: {}\nPoints-Total: {}\nEvidence-Files: {}\n",
        if state.config.city.is_empty() { &state.catalogue.name } else { &state.config.city },
        local.strftime("%Y-%m-%d"),
        status.points_covered,
        status.points_total,
        files.len(),
    );
    fs::create_dir_all(out_dir)?;
    let (blobs, dir, path) = (state.blobs.clone(), out_dir.to_path_buf(), target.clone());
    tokio::task::spawn_blocking(move || {
        let job = Job { root, generated, files, bag_info, date: zip_date(date), progress: &progress };
        write_zip(&job, &*blobs, &dir, &path)
    })
    .await
    .map_err(AppError::internal)??;
    let size = fs::metadata(&target)?.len();
    Ok(Built { path: target, name, size, files: count, fresh: true })
}

fn zip_date(date: (u16, u8, u8)) -> DateTime {
    DateTime::from_date_and_time(date.0, date.1, date.2, 0, 0, 0).unwrap_or_default()
}

struct Job<'a> {
    root: String,
    generated: Vec<(String, Vec<u8>)>,
    files: Vec<PlannedFile>,
    bag_info: String,
    date: DateTime,
    progress: &'a (dyn Fn(u64, u64) + Send),
}

/// Writes the zip to a temporary file beside `target`, syncs it and renames it into place; a
/// failure or a crash leaves no file under a bundle's name (and the temporary one goes).
fn write_zip(job: &Job<'_>, blobs: &dyn BlobStore, out_dir: &Path, target: &Path) -> AppResult<()> {
    let temp = tempfile::Builder::new().prefix(PARTIAL_PREFIX).tempfile_in(out_dir)?;
    {
        let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, temp));
        let options = |name: &str, size: u64| {
            SimpleFileOptions::default()
                .compression_method(compression_for(name))
                .last_modified_time(job.date)
                .unix_permissions(0o644)
                .large_file(size >= u64::from(u32::MAX))
        };
        let mut manifest = String::new();
        let mut payload_bytes = 0u64;
        let total: u64 = job.files.iter().map(|f| f.size).sum();
        for (name, bytes) in &job.generated {
            zip.start_file(format!("{}/{name}", job.root), options(name, bytes.len() as u64))
                .map_err(zip_error)?;
            zip.write_all(bytes)?;
            let (sha, _) = sha256_reader(&bytes[..])?;
            let _ = writeln!(manifest, "{sha}  {name}");
            payload_bytes += bytes.len() as u64;
        }
        let mut done = 0u64;
        for f in &job.files {
            zip.start_file(format!("{}/{}", job.root, f.path), options(&f.path, f.size))
                .map_err(zip_error)?;
            let copied = blobs.copy_verified(&f.sha256, &mut zip).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => AppError::Internal(format!("blob {} is missing", f.sha256)),
                io::ErrorKind::InvalidData => AppError::Internal(e.to_string()),
                _ => AppError::from(e),
            })?;
            if copied != f.size {
                return Err(AppError::Internal(format!(
                    "blob {} has {copied} bytes, not {}",
                    f.sha256, f.size
                )));
            }
            let _ = writeln!(manifest, "{}  {}", f.sha256, f.path);
            payload_bytes += f.size;
            done += f.size;
            (job.progress)(done, total);
        }
        let payload_files = job.generated.len() + job.files.len();
        let bag_info = format!("{}Payload-Oxum: {payload_bytes}.{payload_files}\n", job.bag_info);
        for (name, text) in [(MANIFEST, manifest.as_str()), (BAG_INFO, bag_info.as_str())] {
            zip.start_file(format!("{}/{name}", job.root), options(name, text.len() as u64))
                .map_err(zip_error)?;
            zip.write_all(text.as_bytes())?;
        }
        let mut writer = zip.finish().map_err(zip_error)?;
        writer.flush()?;
        let temp = writer.into_inner().map_err(|e| AppError::Io(e.into_error()))?;
        temp.as_file().sync_all()?;
        temp.persist(target).map_err(|e| AppError::Io(e.error))?;
    }
    Ok(crate::durable::sync_folder(out_dir)?)
}

fn zip_error(e: zip::result::ZipError) -> AppError {
    match e {
        zip::result::ZipError::Io(e) => AppError::Io(e),
        e => AppError::internal(format!("zip: {e}")),
    }
}
