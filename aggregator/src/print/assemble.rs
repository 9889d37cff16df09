//! A volume whose files include PDFs, put together by qpdf (in the worker) so that those pages
//! are copied as the objects they are, streamed from their files, never drawn again nor held in
//! memory: a file of any size prints. krilla draws the frame — the cover, the 目录, pictures,
//! placeholders, and for each page of a PDF a page with only its footer (第 N 页 and the
//! fingerprint) — and qpdf, in one pass, puts the PDFs' pages in the places of those footer pages,
//! lays each footer over its page (scaled to the page's size, upright whatever its /Rotate) and
//! flattens the pages' annotations (a seal added as a stamp prints). The outline, whose
//! destinations are pages qpdf makes, is then appended as an incremental update, so the volume
//! is written once.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use pdf_writer::{Chunk, Ref, TextStr};

/// A bookmark: its title, the page it opens (from 0) and those under it.
#[derive(Debug, Clone)]
pub struct Mark {
    pub title: String,
    pub page: usize,
    pub children: Vec<Mark>,
}

/// The pages of one PDF placed in a volume: which (from 0) of the `counted` it was taken to
/// have, from the frame's page `first` (from 1).
#[derive(Debug)]
pub struct Placed<'a> {
    pub path: &'a Path,
    pub pages: &'a [usize],
    pub counted: usize,
    pub first: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("qpdf: {0}")]
    Qpdf(String),
    /// The volume qpdf wrote does not read cleanly: a source's pages did not copy whole.
    #[error("qpdf wrote an unsound volume: {0}")]
    Unsound(String),
    /// The PDFs' pages were not those counted: their counts are to be taken from qpdf.
    #[error("the volume has {made} pages, not the {expected} laid out")]
    Pages { made: usize, expected: usize },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("qpdf's account of the volume: {0}")]
    Json(#[from] serde_json::Error),
}

impl AssembleError {
    /// Why, as a placeholder page says it (the detail goes to the log).
    pub fn reason_zh(&self) -> &'static str {
        match self {
            AssembleError::Qpdf(_) | AssembleError::Unsound(_) | AssembleError::Pages { .. } => {
                "PDF 文件已损坏或结构异常，页面未能完整合并"
            }
            AssembleError::Io(_) | AssembleError::Json(_) => "合并打印文件时出错",
        }
    }
}

/// How many pages qpdf finds in `pdf`; `None` when it cannot read it (damaged, or a password).
pub fn count(qpdf: &Path, pdf: &Path) -> Option<usize> {
    let out = quiet(qpdf).arg("--show-npages").arg(pdf).output().ok()?;
    if !matches!(out.status.code(), Some(0 | 3)) {
        return None;
    }
    std::str::from_utf8(&out.stdout).ok()?.trim().parse().ok()
}

fn quiet(qpdf: &Path) -> Command {
    let mut command = Command::new(qpdf);
    command.stdin(Stdio::null()).stderr(Stdio::piped()).arg("--warning-exit-0");
    command
}

/// A volume to put together.
pub struct Volume<'a> {
    /// What krilla drew: every page, those of PDFs as their footers only.
    pub frame: &'a Path,
    /// Its pages.
    pub total: usize,
    /// Each PDF's pages and where they go.
    pub placed: &'a [Placed<'a>],
    /// The outline.
    pub marks: &'a [Mark],
    /// The file identifier (32 hex digits): the same volume of the same state has the same.
    pub id: &'a str,
}

/// Writes `volume` to `out` (`scratch` is the job's own folder): the frame's pages, each run of
/// PDF pages in the place of its footer pages with the footers laid over them, and the outline.
/// Not synced: the server syncs it and renames it into place.
pub fn assemble(qpdf: &Path, volume: &Volume<'_>, out: &Path, scratch: &Path) -> Result<(), AssembleError> {
    let frame = volume.frame.display().to_string();
    // One argument a line: hundreds of files and ranges, whatever their names.
    let mut args = vec![frame.clone(), "--pages".into()];
    let (mut next, mut over) = (1, Vec::new());
    for p in volume.placed {
        if p.first > next {
            args.extend([frame.clone(), format!("{next}-{}", p.first - 1)]);
        }
        args.extend([p.path.display().to_string(), ranges(p.pages.iter().map(|i| i + 1), p.counted)]);
        over.push(format!("{}-{}", p.first, p.first + p.pages.len() - 1));
        next = p.first + p.pages.len();
    }
    if next <= volume.total {
        args.extend([frame.clone(), format!("{next}-{}", volume.total)]);
    }
    args.extend(["--".into(), "--overlay".into(), frame]);
    args.extend([format!("--to={}", over.join(",")), format!("--from={}", over.join(",")), "--".into()]);
    args.extend(
        [
            // Streams copied as they are: nothing decoded and compressed again.
            "--stream-data=preserve",
            // A cross-reference table the outline's update can follow.
            "--object-streams=disable",
            // Seals and signatures added as annotations print as part of their page.
            "--generate-appearances",
            "--flatten-annotations=print",
            // The identifier is the update's (`id`): qpdf's own deterministic one would hash
            // the whole volume again.
            "--static-id",
        ]
        .map(String::from),
    );
    args.push(out.display().to_string());
    let argfile = scratch.join("qpdf-args");
    std::fs::write(&argfile, args.join("\n") + "\n")?;
    let run = quiet(qpdf).arg(format!("@{}", argfile.display())).output()?;
    if !matches!(run.status.code(), Some(0 | 3)) {
        return Err(AssembleError::Qpdf(String::from_utf8_lossy(&run.stderr).trim().to_string()));
    }
    outline(qpdf, out, volume)
}

/// `1-3,5,7-z` for pages numbered from 1, in order, of a file counted to have `counted`: its
/// last page is qpdf's `z`, so that a file with more or fewer pages than counted makes a
/// volume of another length, which the read-back finds, instead of pages left out unseen.
fn ranges(pages: impl Iterator<Item = usize>, counted: usize) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for p in pages {
        match runs.last_mut() {
            Some((_, to)) if *to + 1 == p => *to = p,
            _ => runs.push((p, p)),
        }
    }
    let run = |&(from, to): &(usize, usize)| match (from == to, to == counted) {
        (_, true) => format!("{from}-z"),
        (true, false) => from.to_string(),
        (false, false) => format!("{from}-{to}"),
    };
    runs.iter().map(run).collect::<Vec<_>>().join(",")
}

/// What qpdf says of the volume it wrote: its pages, its catalog's outline root, its trailer.
struct Written {
    pages: Vec<Ref>,
    outlines: Ref,
    root: Ref,
    size: i32,
}

/// Reading the volume it wrote, qpdf must find nothing amiss: a source's page that qpdf could
/// only half read (a structure nested too deep, say) is written as a broken page, and is warned
/// about here, whereas the warnings qpdf gives of a source it repaired (a damaged cross-reference
/// table) are not carried into the volume.
fn written(qpdf: &Path, pdf: &Path, root: i32) -> Result<(Written, Option<i32>), AssembleError> {
    let run = Command::new(qpdf)
        .stdin(Stdio::null())
        .args(["--json=2", "--json-key=pages", "--json-key=qpdf", "--json-object=trailer"])
        .arg(format!("--json-object={root}"))
        .arg(pdf)
        .output()?;
    if !run.status.success() {
        return Err(AssembleError::Unsound(String::from_utf8_lossy(&run.stderr).trim().to_string()));
    }
    let json: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let bad = |what: &str| AssembleError::Qpdf(format!("no {what} in qpdf's JSON"));
    let reference = |v: &serde_json::Value| -> Option<Ref> {
        let number = v.as_str()?.strip_suffix(" 0 R")?.parse().ok()?;
        Some(Ref::new(number))
    };
    let pages = json["pages"]
        .as_array()
        .ok_or_else(|| bad("pages"))?
        .iter()
        .map(|p| reference(&p["object"]).ok_or_else(|| bad("page object")))
        .collect::<Result<Vec<_>, _>>()?;
    let objects = &json["qpdf"][1];
    let trailer = &objects["trailer"]["value"];
    let actual_root = reference(&trailer["/Root"]).ok_or_else(|| bad("/Root"))?;
    if actual_root.get() != root {
        return Ok((
            Written { pages, outlines: actual_root, root: actual_root, size: 0 },
            Some(actual_root.get()),
        ));
    }
    let catalog = &objects[format!("obj:{root} 0 R")]["value"];
    let outlines = reference(&catalog["/Outlines"]).ok_or_else(|| bad("/Outlines"))?;
    let size = trailer["/Size"].as_i64().and_then(|s| i32::try_from(s).ok()).ok_or_else(|| bad("/Size"))?;
    Ok((Written { pages, outlines, root: actual_root, size }, None))
}

/// A bookmark with its object's number, and those under it with theirs.
type Numbered<'m> = (Ref, &'m Mark, Vec<(Ref, &'m Mark)>);

/// Appends the outline to the volume qpdf wrote, as an update replacing its outline root.
fn outline(qpdf: &Path, pdf: &Path, volume: &Volume<'_>) -> Result<(), AssembleError> {
    let (total, marks) = (volume.total, volume.marks);
    // qpdf writes the catalog first: asked about object 1, it is asked again if not.
    let written = match written(qpdf, pdf, 1)? {
        (_, Some(root)) => written(qpdf, pdf, root)?.0,
        (w, None) => w,
    };
    if written.pages.len() != total {
        return Err(AssembleError::Pages { made: written.pages.len(), expected: total });
    }
    let page = |mark: &Mark| written.pages[mark.page.min(total - 1)];
    let mut next = written.size;
    let mut fresh = || {
        next += 1;
        Ref::new(next - 1)
    };
    // Every bookmark's reference first, so that each can name its neighbours.
    let top: Vec<Numbered<'_>> =
        marks.iter().map(|m| (fresh(), m, m.children.iter().map(|c| (fresh(), c)).collect())).collect();
    let mut objects: Vec<(Ref, Chunk)> = Vec::new();
    let mut chunk = Chunk::new();
    let mut root = chunk.outline(written.outlines);
    if let (Some(first), Some(last)) = (top.first(), top.last()) {
        root.first(first.0).last(last.0);
    }
    root.count(int(top.len()));
    drop(root);
    objects.push((written.outlines, chunk));
    for (k, (r, mark, children)) in top.iter().enumerate() {
        let mut chunk = Chunk::new();
        let siblings = (k.checked_sub(1).map(|j| top[j].0), top.get(k + 1).map(|t| t.0));
        let mut it = item(&mut chunk, *r, mark, written.outlines, siblings);
        if let (Some(first), Some(last)) = (children.first(), children.last()) {
            // Open, as krilla writes an item with children.
            it.first(first.0).last(last.0).count(int(children.len()));
        }
        it.dest().page(page(mark)).fit();
        drop(it);
        objects.push((*r, chunk));
        for (j, (c, child)) in children.iter().enumerate() {
            let mut chunk = Chunk::new();
            let siblings = (j.checked_sub(1).map(|i| children[i].0), children.get(j + 1).map(|t| t.0));
            item(&mut chunk, *c, child, *r, siblings).dest().page(page(child)).fit();
            objects.push((*c, chunk));
        }
    }
    let mut file = std::fs::OpenOptions::new().read(true).append(true).open(pdf)?;
    let previous = last_xref(&mut file)?;
    let base = file.seek(SeekFrom::End(0))?;
    let mut update = b"\n".to_vec();
    let mut offsets: Vec<(i32, u64)> = Vec::new();
    for (r, chunk) in &objects {
        offsets.push((r.get(), base + update.len() as u64));
        update.extend_from_slice(chunk.as_bytes());
    }
    let xref = base + update.len() as u64;
    offsets.sort_unstable();
    update.extend_from_slice(b"xref\n0 1\n0000000000 65535 f \n");
    // Subsections of consecutive numbers: the replaced root, then the new objects.
    for run in offsets.chunk_by(|a, b| b.0 == a.0 + 1) {
        writeln!(update, "{} {}", run[0].0, run.len())?;
        for (_, offset) in run {
            writeln!(update, "{offset:010} 00000 n ")?;
        }
    }
    write!(update, "trailer\n<< /Size {next} /Root {} 0 R /Prev {previous}", written.root.get())?;
    write!(update, " /ID [<{id}><{id}>] >>\nstartxref\n{xref}\n%%EOF\n", id = volume.id)?;
    file.write_all(&update)?;
    Ok(())
}

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A bookmark's entry, its destination still to be given.
fn item<'c>(
    chunk: &'c mut Chunk,
    r: Ref,
    mark: &Mark,
    parent: Ref,
    (prev, next): (Option<Ref>, Option<Ref>),
) -> pdf_writer::writers::OutlineItem<'c> {
    let mut item = chunk.outline_item(r);
    item.title(TextStr(&mark.title)).parent(parent);
    if let Some(prev) = prev {
        item.prev(prev);
    }
    if let Some(next) = next {
        item.next(next);
    }
    item
}

/// Where the file's last cross-reference section starts (its `startxref`).
fn last_xref(file: &mut std::fs::File) -> Result<u64, AssembleError> {
    let len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(len.saturating_sub(64)))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    tail.rsplit_once("startxref")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| AssembleError::Qpdf("no startxref at the end of qpdf's volume".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_are_runs() {
        assert_eq!(ranges([1, 2, 3, 5, 7, 8].into_iter(), 9), "1-3,5,7-8");
        assert_eq!(ranges([4].into_iter(), 9), "4");
        assert_eq!(ranges([1, 2, 4].into_iter(), 4), "1-2,4-z");
    }
}
