//! The print-volume job, in the worker: a volume's files read and drawn into one PDF written where
//! the server asked. Before it reads or draws each file it notes which in a progress file, so
//! that when a file kills the worker (a crash, a limit, the time) the server knows which one
//! cost the volume and prints it as a placeholder instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Printed, assemble, draw, flatten};
use crate::layout::page;
use crate::plan::PlannedFile;

/// A file of more pages is not placed in a volume (its pages would be held until the volume is
/// written): it gets a placeholder page.
pub const MAX_PRINTED_PAGES: usize = 3000;

/// A volume to draw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeJob {
    /// The CJK font file and the face in it.
    pub font: (PathBuf, u32),
    /// The cover's lines.
    pub heading: String,
    pub title: String,
    pub as_of: String,
    /// The state's fingerprint, on the cover and every page's footer: the zip's name has it.
    pub fingerprint: String,
    /// How the pages are numbered (the cover's last line), and the 目录 pages' title.
    pub numbering: String,
    pub toc_title: String,
    /// An area's 总目录 instead of a volume: each file's 页数 and where it is (`续01 5–6`);
    /// nothing is read.
    pub index: Option<Vec<(Option<usize>, String)>>,
    /// Each item's line in the 目录 and the outline.
    pub headings: BTreeMap<String, String>,
    pub files: Vec<PlannedFile>,
    /// What each file is read from, in the same order.
    pub inputs: Vec<Input>,
    /// Where the PDF is written (whole or not at all).
    pub target: PathBuf,
    /// Where the worker notes the file it is at (in the job's folder).
    pub progress: PathBuf,
    /// qpdf, which puts PDFs' pages in the volume as they are (`assemble`); without it they are
    /// drawn again by krilla, read whole.
    pub qpdf: Option<PathBuf>,
}

impl crate::worker::Job for VolumeJob {
    const NAME: &'static str = "print_volume";
}

/// What a file of a volume is read from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Input {
    /// The stored file (or a copy of it): placed as the PDF or the picture it is, its format as
    /// the server found it from its first bytes (`sniff`).
    File(PathBuf, Option<String>),
    /// The PDF LibreOffice made of an Office file.
    Converted(PathBuf),
    /// A page saying why the file is not printed here.
    Placeholder(String),
}

/// What a drawn volume holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeDone {
    /// The pages each file took.
    pub pages: Vec<usize>,
    /// The volume's pages.
    pub total: usize,
    /// For each file that got a placeholder page, why (in Chinese).
    pub placeholders: Vec<Option<String>>,
}

/// Where a worker was when it stopped: reading or drawing the file at this index, or neither.
pub fn progress_of(path: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let last = text.lines().last()?;
    let (step, index) = last.split_once(' ')?;
    matches!(step, "load" | "draw").then(|| index.parse().ok()).flatten()
}

/// Draws the volume (in the worker).
pub fn render(job: &VolumeJob) -> Result<VolumeDone, String> {
    let font = super::font::load(&job.font.0, job.font.1)?;
    let mut progress = std::fs::File::create(&job.progress).map_err(|e| e.to_string())?;
    let mut note = |step: &str, i: Option<usize>| {
        // Unbuffered: the line is in the file however this process ends.
        let line = i.map_or_else(|| format!("{step}\n"), |i| format!("{step} {i}\n"));
        let _ = progress.write_all(line.as_bytes());
    };
    let cover = draw::Cover {
        heading: &job.heading,
        volume: &job.title,
        as_of: &job.as_of,
        fingerprint: &job.fingerprint,
        numbering: &job.numbering,
        toc_title: &job.toc_title,
    };
    let files: Vec<&PlannedFile> = job.files.iter().collect();
    if let Some(index) = &job.index {
        let (pages, spans): (Vec<Option<usize>>, Vec<String>) = index.iter().cloned().unzip();
        let contents = draw::Contents::Index { pages: &pages, spans: &spans };
        let drawn = draw::volume(&font, &job.headings, &cover, &files, contents, &mut |_| {})?;
        std::fs::write(part_of(&job.target), &drawn.bytes).map_err(|e| e.to_string())?;
        return Ok(VolumeDone { pages: Vec::new(), total: drawn.total, placeholders: Vec::new() });
    }
    // A PDF's pages are first taken as the content examination counted them (qpdf counting
    // each would cost more than the merge); if qpdf finds otherwise, it counts them all.
    let kinds: Vec<Option<&str>> = job.inputs.iter().map(Input::format).collect();
    let mut counted = Counted::AsRead;
    loop {
        let counts = counts(job, &kinds, counted);
        let mut printed = Vec::with_capacity(job.files.len());
        for (i, (f, input)) in job.files.iter().zip(&job.inputs).enumerate() {
            note("load", Some(i));
            printed.push(load(f, input, kinds[i], counts[i]).without(&f.unprinted));
        }
        let placeholders = printed
            .iter()
            .map(|p| if let Printed::Placeholder(why) = p { Some(why.clone()) } else { None })
            .collect();
        let pages: Vec<usize> = printed.iter().map(Printed::pages).collect();
        let sources: Vec<(usize, PathBuf, Vec<usize>, usize)> = printed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Printed::Source(path, pages, counted) => Some((i, path.clone(), pages.clone(), *counted)),
                _ => None,
            })
            .collect();
        let contents = draw::Contents::Files { printed, pages: &pages };
        let drawn =
            draw::volume(&font, &job.headings, &cover, &files, contents, &mut |i| note("draw", Some(i)))?;
        let done = VolumeDone { pages: pages.clone(), total: drawn.total, placeholders };
        let (Some(marks), Some(qpdf)) = (drawn.marks, job.qpdf.as_deref()) else {
            note("write", None);
            std::fs::write(part_of(&job.target), &drawn.bytes).map_err(|e| e.to_string())?;
            return Ok(done);
        };
        note("merge", None);
        let headings = |item: &str| job.headings.get(item).cloned().unwrap_or_else(|| item.to_string());
        let (starts, _) = page::layout(&files, &pages, &headings);
        let placed: Vec<assemble::Placed<'_>> = sources
            .iter()
            .map(|(i, path, pages, counted)| assemble::Placed {
                path,
                pages,
                counted: *counted,
                first: starts[*i],
            })
            .collect();
        match put_together(job, qpdf, &drawn.bytes, drawn.total, &placed, &marks) {
            Ok(()) => return Ok(done),
            Err(e)
                if counted == Counted::AsRead
                    && sources.iter().any(|(i, ..)| job.files[*i].pages.is_some()) =>
            {
                tracing::info!(error = %e, "the PDFs' pages are counted by qpdf and the volume made again");
                counted = Counted::ByQpdf;
            }
            Err(e) => {
                tracing::warn!(error = %e, "a volume could not be put together");
                return Err(e.reason_zh().to_string());
            }
        }
    }
}

/// The drawn frame and the PDFs' pages made one volume by qpdf, its identifier the state's
/// fingerprint and the volume's name (the same volume of the same state, the same bytes).
fn put_together(
    job: &VolumeJob,
    qpdf: &Path,
    frame: &[u8],
    total: usize,
    placed: &[assemble::Placed<'_>],
    marks: &[assemble::Mark],
) -> Result<(), assemble::AssembleError> {
    let scratch = job.progress.parent().unwrap_or(Path::new("."));
    let frame_file = scratch.join("frame.pdf");
    std::fs::write(&frame_file, frame)?;
    let name = job.target.file_name().unwrap_or_default().to_string_lossy();
    let id = yingjian_shared::sha256_reader(format!("{} {name}", job.fingerprint).as_bytes())?.0;
    let volume = assemble::Volume { frame: &frame_file, total, placed, marks, id: &id.as_str()[..32] };
    assemble::assemble(qpdf, &volume, &part_of(&job.target), scratch)
}

/// Where a PDF's page count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    /// The content examination's count, when it has one.
    AsRead,
    ByQpdf,
}

/// Where the worker writes a volume: beside its place, for the server to sync and rename.
pub fn part_of(target: &Path) -> PathBuf {
    target.with_extension("pdf.part")
}

impl Input {
    /// What the input is (`sniff`'s name): `None` for a placeholder or a format not known.
    fn format(&self) -> Option<&str> {
        match self {
            Input::File(_, format) => format.as_deref(),
            Input::Converted(_) => Some("pdf"),
            Input::Placeholder(_) => None,
        }
    }
}

/// Whether qpdf puts a file's pages in, and how many there are.
#[derive(Debug, Clone, Copy)]
enum ForQpdf {
    /// Not a PDF, or no qpdf: the file is drawn.
    No,
    Pages(usize),
    /// A PDF qpdf cannot read (damaged, or a password).
    Unreadable,
}

/// The pages of each PDF qpdf is to put in: as the content examination counted them, or
/// counted by qpdf, a few at a time.
fn counts(job: &VolumeJob, kinds: &[Option<&str>], counted: Counted) -> Vec<ForQpdf> {
    let Some(qpdf) = job.qpdf.as_deref() else { return vec![ForQpdf::No; kinds.len()] };
    let asked: Vec<(usize, &Path, Option<usize>)> = job
        .inputs
        .iter()
        .zip(&job.files)
        .enumerate()
        .filter(|(i, _)| kinds[*i] == Some("pdf"))
        .filter_map(|(i, (input, f))| match input {
            // A conversion's pages are LibreOffice's, not those the original's metadata claims.
            Input::File(path, _) => Some((i, path.as_path(), f.pages.filter(|_| counted == Counted::AsRead))),
            Input::Converted(path) => Some((i, path.as_path(), None)),
            Input::Placeholder(_) => None,
        })
        .map(|(i, path, known)| (i, path, known.map(|n| n as usize)))
        .collect();
    let mut out = vec![ForQpdf::No; kinds.len()];
    let unknown: Vec<&(usize, &Path, Option<usize>)> =
        asked.iter().filter(|(.., known)| known.is_none()).collect();
    let found: Vec<(usize, Option<usize>)> = std::thread::scope(|scope| {
        let per_thread = unknown.len().div_ceil(COUNTING_AT_ONCE).max(1);
        let threads: Vec<_> = unknown
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().map(|(i, path, _)| (*i, assemble::count(qpdf, path))).collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect()
    });
    for (i, _, known) in &asked {
        out[*i] = known.map_or(ForQpdf::Unreadable, ForQpdf::Pages);
    }
    for (i, n) in found {
        out[i] = n.map_or(ForQpdf::Unreadable, ForQpdf::Pages);
    }
    out
}

/// qpdf processes counting pages at once.
const COUNTING_AT_ONCE: usize = 4;

/// What a file prints as: a PDF's pages put in by qpdf when there is qpdf (`pdf_pages`, as
/// `counts` found them), else the file read whole (within the budget) and drawn.
fn load(f: &PlannedFile, input: &Input, kind: Option<&str>, pdf_pages: ForQpdf) -> Printed {
    let name = f.path.rsplit('/').next().unwrap_or(&f.path);
    let (path, converted) = match input {
        Input::Placeholder(why) => return Printed::Placeholder(why.clone()),
        Input::File(path, _) => (path, false),
        Input::Converted(path) => (path, true),
    };
    let unread = || Printed::Placeholder(format!("《{name}》读取失败，请查阅电子版材料包。"));
    let damaged = || {
        Printed::Placeholder(if converted {
            format!("《{name}》转换为 PDF 后无法读取，原件见电子版材料包。")
        } else {
            format!("《{name}》是损坏或加密的 PDF 文件，无法合并打印，请查阅电子版材料包中的原件。")
        })
    };
    let too_many = |n: usize| {
        Printed::Placeholder(format!(
            "《{name}》页数过多（{n} 页，超过 {MAX_PRINTED_PAGES} 页），未合并打印，请查阅电子版材料包。"
        ))
    };
    match pdf_pages {
        ForQpdf::No => {}
        ForQpdf::Unreadable | ForQpdf::Pages(0) => return damaged(),
        ForQpdf::Pages(n) if n > MAX_PRINTED_PAGES => return too_many(n),
        ForQpdf::Pages(n) => return Printed::Source(path.clone(), (0..n).collect(), n),
    }
    match std::fs::metadata(path) {
        Ok(m) if m.len() <= crate::blobs::MAX_READ_WHOLE => {}
        Ok(_) => {
            return Printed::Placeholder(format!(
                "《{name}》较大（超过 64 MB），未合并打印，请查阅电子版材料包。"
            ));
        }
        Err(_) => return unread(),
    }
    let Ok(bytes) = std::fs::read(path) else { return unread() };
    match kind {
        Some("pdf") => pdf(bytes).unwrap_or_else(|why| match why {
            PdfRefusal::Unreadable => damaged(),
            PdfRefusal::TooManyPages(n) => too_many(n),
        }),
        Some("jpeg" | "png" | "bmp" | "tiff" | "gif" | "webp") => match draw::pictures(bytes) {
            Ok(pictures) if !pictures.is_empty() => Printed::Pictures(pictures),
            Ok(_) => Printed::Placeholder(format!("《{name}》图片无法解码，请查阅电子版材料包。")),
            Err(why) => Printed::Placeholder(format!("《{name}》无法读取（{why}），请查阅电子版材料包。")),
        },
        _ => Printed::Placeholder(format!(
            "《{name}》为 Word、Excel、WPS、OFD 或视频等格式，此处不能直接打印，原件见电子版材料包。"
        )),
    }
}

enum PdfRefusal {
    Unreadable,
    TooManyPages(usize),
}

/// A PDF that reads and has pages, no more than a volume takes: counted before its annotations
/// are drawn in (which reads every page).
fn pdf(bytes: Vec<u8>) -> Result<Printed, PdfRefusal> {
    let pages = |bytes: Vec<u8>| -> Result<(krilla::pdf::Pdf, usize), PdfRefusal> {
        let pdf = krilla::pdf::Pdf::new(bytes).map_err(|_| PdfRefusal::Unreadable)?;
        match pdf.pages().len() {
            0 => Err(PdfRefusal::Unreadable),
            n if n > MAX_PRINTED_PAGES => Err(PdfRefusal::TooManyPages(n)),
            n => Ok((pdf, n)),
        }
    };
    drop(pages(bytes.clone())?);
    let (pdf, n) = pages(flatten::annotations_into_pages(bytes))?;
    Ok(Printed::Pdf(Arc::new(pdf), (0..n).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF of `pages` pages with a line of text on each.
    fn pdf_of(pages: u32) -> Vec<u8> {
        use lopdf::{Document, Object, Stream, dictionary};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let kids: Vec<Object> = (0..pages)
            .map(|i| {
                let content = doc.add_object(Stream::new(dictionary! {}, format!("% page {i}").into_bytes()));
                let media: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
                let page = dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => media, "Contents" => content };
                doc.add_object(page).into()
            })
            .collect();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages) },
            ),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    /// The volume of one two-page PDF whose page count the reading gave as `read`.
    fn volume_of_two_pages_read_as(read: u32, dir: &Path) -> (VolumeDone, usize) {
        let qpdf = crate::programs::qpdf(None).expect("qpdf (apt-get install qpdf)");
        let source = dir.join("source.pdf");
        std::fs::write(&source, pdf_of(2)).unwrap();
        let file = PlannedFile {
            path: "08.03 昆仑2021专项行动/通知.pdf".into(),
            sha256: "0".repeat(64),
            size: 1,
            number: 1,
            reference: "08.03-001".into(),
            item: "8.3".into(),
            department: "police".into(),
            kind: None,
            doc_number: None,
            author: "市公安局".into(),
            title: "通知".into(),
            date: None,
            pages: Some(read),
            printed: None,
            remarks: Vec::new(),
            unprinted: Vec::new(),
        };
        let job_dir = dir.join(format!("job-{read}"));
        std::fs::create_dir_all(&job_dir).unwrap();
        let target = dir.join(format!("volume-{read}.pdf"));
        let job = VolumeJob {
            font: super::super::font::locate(None).unwrap(),
            heading: "平顶山市".into(),
            title: "三、质量安全监管".into(),
            as_of: "2026年12月7日".into(),
            fingerprint: "1a2b3c4d".into(),
            numbering: super::super::NUMBERING.into(),
            toc_title: "目录".into(),
            index: None,
            headings: BTreeMap::from([("8.3".to_string(), "08.03 昆仑2021专项行动".to_string())]),
            files: vec![file],
            inputs: vec![Input::File(source, Some("pdf".into()))],
            target: target.clone(),
            progress: job_dir.join("progress"),
            qpdf: Some(qpdf.clone()),
        };
        let done = render(&job).unwrap();
        (done, assemble::count(&qpdf, &part_of(&target)).unwrap())
    }

    #[test]
    fn pages_the_reading_miscounted_are_counted_again_by_qpdf_never_left_out() {
        let dir = tempfile::tempdir().unwrap();
        for read in [1, 2, 5] {
            let (done, pages) = volume_of_two_pages_read_as(read, dir.path());
            assert_eq!(done.pages, [2], "read as {read}");
            // A cover, the 目录 and both pages.
            assert_eq!((done.total, pages), (4, 4), "read as {read}");
        }
    }
}
