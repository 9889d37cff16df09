//! 纸质版: the submission as printable PDFs, from the same state as a bundle. One PDF per
//! 考核领域 (and one for the 自评报告, one for the 典型案例): a cover, the volume's 目录 with the
//! 起止页 of every file, then every file in 目录 order — PDF pages imported, pictures placed on
//! A4 with their caption, a placeholder page for what cannot be printed here — with a bookmark
//! per item and per file and 第 N 页 on every page.

mod assemble;
mod draw;
mod flatten;
pub(crate) mod font;
mod render;
mod shelf;

use std::collections::BTreeMap;

use futures_util::StreamExt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use yingjian_shared::sniff;

use crate::blobs::MAX_READ_WHOLE;
use crate::db::AuditEntry;
use crate::error::{AppError, AppResult};
use crate::layout::{Volume, page, volumes};
use crate::libreoffice::{self, ConvertJob};
use crate::plan::PlannedFile;
use crate::services::Services;
use crate::worker::{JobDir, Worker, WorkerError, blob_input};

pub use render::{Input, VolumeDone, VolumeJob, render};
pub use shelf::{PRINTED, Printouts};

/// A volume's worker holds its input and the PDF it makes: twice a job's usual memory.
const VOLUME_MEMORY_FACTOR: u64 = 2;

/// How a volume's pages are numbered, as its cover says it.
const NUMBERING: &str = "页码：本册从封面起连续编排，目录中的起止页即本册页码";

/// A volume as drawn, for its area's 总目录: each file's 页数 on paper and where it is.
struct Placed<'v, 'a> {
    volume: &'v Volume<'a>,
    rows: Vec<(Option<usize>, String)>,
}

/// Where in an area's volumes: `首册 5–6`, `续01 1–3`.
fn place(part: usize, from: usize, to: usize) -> String {
    let volume = if part == 0 { "首册".to_string() } else { format!("续{part:02}") };
    if from == to { format!("{volume} {from}") } else { format!("{volume} {from}–{to}") }
}

/// What a file becomes on paper.
pub enum Printed {
    /// Pages of a PDF that reads: the indices of those printed.
    Pdf(Arc<krilla::pdf::Pdf>, Vec<usize>),
    /// Pages of a PDF that qpdf puts in the volume as they are (`assemble`): the indices of
    /// those printed, and how many the file was counted to have.
    Source(PathBuf, Vec<usize>, usize),
    /// Pictures, each on a page of its own with the caption under it (a TIFF may hold several).
    Pictures(Vec<draw::Picture>),
    /// One page saying where the file is instead, and why.
    Placeholder(String),
}

impl Printed {
    /// Without the pages (numbered from 1) the office left out; a file is never left with none.
    fn without(self, unprinted: &[u32]) -> Printed {
        let kept = |i: usize| !unprinted.contains(&u32::try_from(i + 1).unwrap_or(u32::MAX));
        match self {
            Printed::Pdf(pdf, pages) => Printed::Pdf(pdf, Self::kept(pages, kept)),
            Printed::Source(path, pages, counted) => Printed::Source(path, Self::kept(pages, kept), counted),
            Printed::Pictures(pictures) if (0..pictures.len()).any(kept) => Printed::Pictures(
                pictures.into_iter().enumerate().filter(|(i, _)| kept(*i)).map(|(_, p)| p).collect(),
            ),
            other => other,
        }
    }

    /// The pages `kept`, or all of them if none is.
    fn kept(pages: Vec<usize>, kept: impl Fn(usize) -> bool) -> Vec<usize> {
        let left: Vec<usize> = pages.iter().copied().filter(|&i| kept(i)).collect();
        if left.is_empty() { pages } else { left }
    }

    fn pages(&self) -> usize {
        match self {
            Printed::Pdf(_, pages) | Printed::Source(_, pages, _) => pages.len(),
            Printed::Pictures(p) => p.len().max(1),
            Printed::Placeholder(_) => 1,
        }
    }
}

/// 页数 in a 目录 on paper: what was printed of the file, unless only a page about it was, or the
/// office left its blank pages out (the document still has them): then its page count as read.
fn pages_shown(f: &PlannedFile, printed: usize, placeholder: bool) -> Option<usize> {
    let read = f.pages.map(|p| p as usize);
    match (placeholder, f.unprinted.is_empty()) {
        (true, _) => read,
        (false, false) => read.or(Some(printed)),
        (false, true) => Some(printed),
    }
}

/// Whether a build is the office's print of record, whose 起止页 the 目录 then gives, or a copy
/// made elsewhere (`print --out`), which changes nothing of the hand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    Record,
    Copy,
}

/// What a print build made and met.
#[derive(Debug, Default)]
pub struct PrintReport {
    /// Each PDF written, with its pages.
    pub written: Vec<(PathBuf, usize)>,
    /// Files that got a placeholder instead of their pages, and why (in Chinese).
    pub problems: Vec<String>,
}

/// Builds the printable PDFs of the current state into `out_dir`. Every file is read and every
/// volume drawn by the worker; a file that makes the worker crash, exceed a limit or time out
/// costs that file alone: it gets a placeholder page 「无法读取（原因）」 naming it, an audit
/// entry, and the volume is drawn again without it.
pub async fn build(state: &Services, out_dir: &Path, of: Of) -> AppResult<PrintReport> {
    let crate::bundle::Planned { mut files, facts, local, fingerprint, .. } =
        crate::bundle::planned(state).await?;
    // The paper counts its own pages: what an earlier print counted is not read here, so the same
    // state prints the same bytes whether or not it was printed before.
    for f in &mut files {
        f.pages = facts.get(&f.sha256).and_then(|x| x.pages);
    }
    let as_of = local.strftime("%Y年%-m月%-d日").to_string();
    let font = font::locate(state.config.print.font.as_deref())?;
    let soffice = crate::programs::soffice(state.config.print.soffice.as_deref());
    let qpdf = crate::programs::qpdf(state.config.print.qpdf.as_deref());
    let office_timeout = Duration::from_secs(state.config.print.office_timeout_secs.max(1));
    let catalogue = state.catalogue.clone();
    let heading = format!("{}{}", state.config.city, catalogue.name);
    let out = out_dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::create_dir_all(&out))
        .await
        .map_err(AppError::internal)??;
    let mut report = PrintReport::default();
    let mut printed_pages = Vec::new();
    let heading_of = |item: &str| page::heading(&catalogue, item);
    // Where each file went, for the 总目录 of an area printed in several volumes.
    let mut placed: Vec<Placed<'_, '_>> = Vec::new();
    let all = volumes(&catalogue, &files, &facts, state.config.print.volume_pages, qpdf.is_some());
    // As many volumes made at once as the worker runs jobs; each synced while others are made.
    let common = Common {
        font: font.clone(),
        heading: heading.clone(),
        as_of: as_of.clone(),
        fingerprint: fingerprint.clone(),
        soffice,
        qpdf: qpdf.clone(),
        office_timeout,
        out_dir,
    };
    // By index: a closure taking a reference would not be `Send` for every lifetime (the build
    // runs in a spawned task).
    let made: Vec<AppResult<_>> = futures_util::stream::iter(0..all.len())
        .map(|i| make(state, &common, &all[i]))
        .buffered(state.config.worker.slots.max(1))
        .collect()
        .await;
    let mut settling = Vec::new();
    for (volume, made) in all.iter().zip(made) {
        let (done, settled) = made?;
        settling.push(settled);
        for (f, why) in volume.files.iter().zip(&done.placeholders) {
            if let Some(why) = why {
                report.problems.push(format!("{} {}：{why}", f.reference, f.path));
            }
        }
        printed_pages
            .extend(volume.files.iter().zip(&done.pages).map(|(f, p)| (f.sha256.clone(), *p as u32)));
        report.written.push((out_dir.join(&volume.file_name), done.total));
        let (starts, _) = page::layout(&volume.files, &done.pages, &heading_of);
        let rows = volume.files.iter().enumerate().map(|(i, f)| {
            let shown = pages_shown(f, done.pages[i], done.placeholders[i].is_some());
            (shown, place(volume.part, starts[i], starts[i] + done.pages[i] - 1))
        });
        placed.push(Placed { volume, rows: rows.collect() });
    }
    // An area in several volumes gets a 总目录 across them, sorting before its first volume.
    for (area, title) in all.iter().filter(|v| v.part == 1).map(|v| &v.area) {
        let of_area: Vec<&Placed<'_, '_>> = placed.iter().filter(|p| p.volume.area.0 == *area).collect();
        let parts = of_area.len();
        let file_name = format!("{area} 总目录.pdf");
        let dir = state.worker.folder()?;
        let job = VolumeJob {
            font: font.clone(),
            heading: heading.clone(),
            title: format!("{title}（总目录）"),
            as_of: as_of.clone(),
            fingerprint: fingerprint.clone(),
            numbering: format!(
                "本领域材料共 {parts} 册（首册、续01 至 续{:02}），起止页为所在册的页码",
                parts - 1
            ),
            toc_title: format!("{title} 总目录"),
            index: Some(of_area.iter().flat_map(|p| p.rows.iter().cloned()).collect()),
            headings: of_area
                .iter()
                .flat_map(|p| &p.volume.files)
                .map(|f| (f.item.clone(), heading_of(&f.item)))
                .collect(),
            files: of_area.iter().flat_map(|p| p.volume.files.iter().map(|f| (*f).clone())).collect(),
            inputs: Vec::new(),
            target: out_dir.join(&file_name),
            progress: dir.path().join("progress"),
            qpdf: None,
        };
        let limits = state.worker.limits();
        let done = state
            .worker
            .run_limited::<VolumeDone, _>(&dir, &job, state.worker.timeout(), limits)
            .await
            .map_err(|e| AppError::Internal(format!("{file_name}: {e}")))?;
        report.written.push((out_dir.join(&file_name), done.total));
        settling.push(settle(out_dir.join(&file_name)));
    }
    for settled in settling {
        settled.await.map_err(AppError::internal)??;
    }
    let out = out_dir.to_path_buf();
    tokio::task::spawn_blocking(move || crate::durable::sync_folder(&out))
        .await
        .map_err(AppError::internal)??;
    // So that the electronic 目录 gives the same 起止页 as the paper of record.
    if of == Of::Record {
        state.db.set_printed_pages(printed_pages, fingerprint).await?;
    }
    Ok(report)
}

/// What every volume of a build shares.
struct Common<'a> {
    font: (PathBuf, u32),
    heading: String,
    as_of: String,
    fingerprint: String,
    soffice: Option<PathBuf>,
    qpdf: Option<PathBuf>,
    office_timeout: Duration,
    out_dir: &'a Path,
}

/// Makes one volume: its files' inputs (Office files converted), then drawn by the worker; the
/// syncing of what it wrote is under way when this returns.
async fn make(
    state: &Services,
    common: &Common<'_>,
    volume: &Volume<'_>,
) -> AppResult<(VolumeDone, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let dir = state.worker.folder()?;
    let mut inputs = Vec::with_capacity(volume.files.len());
    for f in &volume.files {
        let tools = (common.soffice.as_deref(), common.qpdf.is_some());
        inputs.push(input(state, &dir, f, tools, common.office_timeout).await?);
    }
    let job = VolumeJob {
        font: common.font.clone(),
        heading: common.heading.clone(),
        title: volume.title.clone(),
        as_of: common.as_of.clone(),
        fingerprint: common.fingerprint.clone(),
        numbering: NUMBERING.into(),
        toc_title: format!("{} 目录", volume.title),
        index: None,
        headings: volume
            .files
            .iter()
            .map(|f| (f.item.clone(), page::heading(&state.catalogue, &f.item)))
            .collect::<BTreeMap<_, _>>(),
        files: volume.files.iter().map(|f| (*f).clone()).collect(),
        inputs,
        target: common.out_dir.join(&volume.file_name),
        progress: dir.path().join("progress"),
        qpdf: common.qpdf.clone(),
    };
    let target = common.out_dir.join(&volume.file_name);
    let done = match draw_volume(state, &dir, job).await {
        Ok(done) => done,
        Err(e) => {
            // What a failed attempt left beside the volume's place goes with it.
            let _ = std::fs::remove_file(render::part_of(&target));
            return Err(match e {
                AppError::Internal(why) => AppError::Internal(format!("{}: {why}", volume.file_name)),
                other => other,
            });
        }
    };
    Ok((done, settle(target)))
}

/// Syncs the volume the worker wrote beside `target` and renames it into place: a crash leaves
/// the old volume or the new one, never half of one. The caller syncs the folder.
fn settle(target: PathBuf) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::task::spawn_blocking(move || {
        let part = render::part_of(&target);
        std::fs::OpenOptions::new().write(true).open(&part)?.sync_all()?;
        std::fs::rename(part, target)
    })
}

/// What the worker reads a file of a volume from: the stored file (staged into `dir` when the
/// store is not a local folder), the PDF LibreOffice made of it, or a placeholder's text.
/// `tools`: LibreOffice if there is, and whether qpdf puts PDFs in (then a PDF of any size is).
async fn input(
    state: &Services,
    dir: &JobDir,
    f: &PlannedFile,
    (soffice, qpdf): (Option<&Path>, bool),
    office_timeout: Duration,
) -> AppResult<Input> {
    let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
    let sha = f.sha256.clone();
    let head = crate::blobs::blocking(&state.blobs, move |b| {
        let mut head = Vec::with_capacity(16);
        b.open_blob(&sha)?.take(16).read_to_end(&mut head)?;
        Ok(head)
    })
    .await;
    let Ok(head) = head else {
        return Ok(Input::Placeholder(format!("《{name}》读取失败，请查阅电子版材料包。")));
    };
    let kind = sniff(&head);
    if f.size > MAX_READ_WHOLE && !(qpdf && kind == Some("pdf")) {
        return Ok(Input::Placeholder(format!(
            "《{name}》较大（超过 64 MB），未合并打印，请查阅电子版材料包。"
        )));
    }
    let printable = matches!(kind, Some("pdf" | "jpeg" | "png" | "bmp" | "tiff" | "gif" | "webp"));
    let convertible = soffice.is_some() && libreoffice::is_convertible(&name);
    if !printable && !convertible {
        return Ok(Input::Placeholder(format!(
            "《{name}》为 Word、Excel、WPS、OFD 或视频等格式，此处不能直接打印，原件见电子版材料包。"
        )));
    }
    let (sha, at) = (f.sha256.clone(), dir.path().to_path_buf());
    let staged = crate::blobs::blocking(&state.blobs, move |b| blob_input(b, &sha, &at)).await;
    let Ok(path) = staged else {
        return Ok(Input::Placeholder(format!("《{name}》读取失败，请查阅电子版材料包。")));
    };
    // Not printable as it is: convertible, so LibreOffice is there.
    let Some(soffice) = soffice.filter(|_| !printable) else {
        return Ok(Input::File(path, kind.map(String::from)));
    };
    let out = dir.path().join(format!("office-{}.pdf", f.number));
    let job =
        ConvertJob { soffice: soffice.to_path_buf(), input: path, name: name.clone(), out: out.clone() };
    match state.worker.run::<u64>(&job, office_timeout).await {
        Ok(_) => Ok(Input::Converted(out)),
        Err(e) => {
            tracing::warn!(error = %e, file = %f.path, "an Office file did not convert");
            if !matches!(e, WorkerError::Refused(_)) {
                unreadable(state, f, &e).await;
            }
            let why = e.reason_zh();
            Ok(Input::Placeholder(format!("《{name}》未能转换为可打印的页面（{why}），原件见电子版材料包。")))
        }
    }
}

/// Draws a volume in the worker. When the worker fails, the file it was at (its progress file
/// says), or else each file the worker fails on alone, is given a placeholder and the volume is
/// drawn again; a volume that fails with every file a placeholder fails the build by its name.
async fn draw_volume(state: &Services, dir: &JobDir, mut job: VolumeJob) -> AppResult<VolumeDone> {
    let worker = &state.worker;
    let limits = crate::worker::Limits {
        memory: worker.limits().memory.saturating_mul(VOLUME_MEMORY_FACTOR),
        ..worker.limits()
    };
    for _ in 0..=job.files.len() {
        let _ = std::fs::remove_file(&job.progress);
        let failure = match worker.run_limited::<VolumeDone, _>(dir, &job, worker.timeout(), limits).await {
            Ok(done) => return Ok(done),
            Err(e) => e,
        };
        tracing::warn!(error = %failure, target = %job.target.display(), "a volume's worker failed");
        let said = failure.to_string();
        // Where it stopped is a good guess, not proof (the PDF writer does some of a file's work
        // later): the file is tried alone before it is blamed, and every file when it passes.
        let guess = render::progress_of(&job.progress)
            .filter(|i| matches!(job.inputs.get(*i), Some(Input::File(..) | Input::Converted(_))));
        let culprits: Vec<(usize, WorkerError)> = match guess {
            Some(i) => match alone(worker, dir, &job, limits, Some(i)).await.pop() {
                Some(blamed) => vec![blamed],
                None => alone(worker, dir, &job, limits, None).await,
            },
            None => alone(worker, dir, &job, limits, None).await,
        };
        if culprits.is_empty() {
            return Err(AppError::Internal(format!("the worker failed ({said})")));
        }
        for (i, e) in culprits {
            let f = &job.files[i];
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            unreadable(state, f, &e).await;
            job.inputs[i] =
                Input::Placeholder(format!("《{name}》无法读取（{}），请查阅电子版材料包。", e.reason_zh()));
        }
    }
    Err(AppError::Internal("the worker failed on every file".into()))
}

/// The files of a volume (or only file `only`) the worker fails on when each is drawn alone.
async fn alone(
    worker: &Worker,
    dir: &JobDir,
    job: &VolumeJob,
    limits: crate::worker::Limits,
    only: Option<usize>,
) -> Vec<(usize, WorkerError)> {
    let mut out = Vec::new();
    for (i, input) in job.inputs.iter().enumerate() {
        if matches!(input, Input::Placeholder(_)) || only.is_some_and(|o| o != i) {
            continue;
        }
        let single = VolumeJob {
            files: vec![job.files[i].clone()],
            inputs: vec![input.clone()],
            target: dir.path().join("alone.pdf"),
            progress: dir.path().join("alone-progress"),
            ..job.clone()
        };
        if let Err(e) = worker.run_limited::<VolumeDone, _>(dir, &single, worker.timeout(), limits).await {
            out.push((i, e));
        }
    }
    out
}

/// Logs that a file could not be read, and why: the office finds it in the audit log.
async fn unreadable(state: &Services, f: &PlannedFile, e: &WorkerError) {
    let entry = AuditEntry {
        department: Some(f.department.clone()),
        ..AuditEntry::by_server("unreadable", format!("{} sha256={} {}", f.path, f.sha256, e.reason_zh()))
    };
    if let Err(e) = state.db.log(entry).await {
        tracing::warn!(error = %e, "cannot log an unreadable file");
    }
}
