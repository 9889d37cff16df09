//! The external tools: LibreOffice (`soffice`) converting flat ODT into PDF or .docx, and poppler
//! (`pdftoppm`) rendering a PDF's pages; each run under a deadline, a missing tool named.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::RgbImage;
use lopdf::Document;

use super::spec::{Spec, Truth};

static CALLS: AtomicU64 = AtomicU64::new(0);

/// How long one LibreOffice conversion may take (a first run creates its profile).
const SOFFICE_TIMEOUT: Duration = Duration::from_mins(4);

/// Fails with a message that names the tool and its package if `program` cannot run.
pub fn require(program: &str) -> io::Result<()> {
    let package = match program {
        "soffice" => "LibreOffice (Debian: libreoffice-writer, fonts-noto-cjk)",
        "pdftoppm" => "poppler (Debian: poppler-utils)",
        _ => program,
    };
    let ok = Command::new(program)
        .arg(if program == "pdftoppm" { "-v" } else { "--version" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{program}` is needed to generate the reader's test corpus: install {package}"),
        ))
    }
}

/// Runs a command with a deadline, killing it when it passes.
fn run(command: &mut Command, timeout: Duration) -> io::Result<()> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = io::Read::read_to_string(&mut stderr, &mut err);
            }
            return Err(io::Error::other(format!("{command:?} failed ({status}): {err}")));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{command:?} took over {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Converts flat ODT files with LibreOffice (one process for all, with a fresh profile so that
/// parallel runs do not share one), into `format` ("pdf", "docx"); returns the outputs in order.
pub fn convert(inputs: &[PathBuf], format: &str, out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    require("soffice")?;
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("yingjian-corpus-lo-{}-{call}", std::process::id()));
    let filter = match format {
        "docx" => "docx:MS Word 2007 XML",
        "pdf" => "pdf:writer_pdf_Export",
        other => other,
    };
    let mut command = Command::new("soffice");
    command
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", filter, "--outdir"])
        .arg(out_dir)
        .args(inputs);
    let result = run(&mut command, SOFFICE_TIMEOUT);
    let _ = std::fs::remove_dir_all(&profile);
    result?;
    let extension = format.split(':').next().unwrap_or(format);
    inputs
        .iter()
        .map(|input| {
            let out = out_dir.join(input.file_stem().unwrap_or_default()).with_extension(extension);
            if out.exists() {
                Ok(out)
            } else {
                Err(io::Error::other(format!("soffice made no {}", out.display())))
            }
        })
        .collect()
}

pub(super) fn write_fodt(spec: &Spec, dir: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.fodt"));
    std::fs::write(&path, spec.fodt())?;
    Ok(path)
}

pub(super) fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", CALLS.fetch_add(1, Ordering::Relaxed))
}

fn pdf_pages(path: &Path) -> io::Result<u32> {
    let doc = Document::load(path).map_err(io::Error::other)?;
    u32::try_from(doc.get_pages().len()).map_err(io::Error::other)
}

/// A text PDF as LibreOffice exports it.
pub fn text_pdf(spec: &Spec, dir: &Path) -> io::Result<(PathBuf, Truth)> {
    let mut made = text_pdfs(std::slice::from_ref(spec), dir)?;
    made.pop().ok_or_else(|| io::Error::other("no PDF"))
}

/// Several text PDFs in one LibreOffice run (a run costs seconds).
pub fn text_pdfs(specs: &[Spec], dir: &Path) -> io::Result<Vec<(PathBuf, Truth)>> {
    let inputs: Vec<PathBuf> =
        specs.iter().map(|s| write_fodt(s, dir, &unique_name("doc"))).collect::<io::Result<_>>()?;
    let pdfs = convert(&inputs, "pdf", dir)?;
    specs.iter().zip(pdfs).map(|(spec, pdf)| Ok((pdf.clone(), spec.truth(pdf_pages(&pdf)?)))).collect()
}

/// A Word file (.docx) converted by LibreOffice; `Truth::pages` from the same document as PDF.
pub fn docx(spec: &Spec, dir: &Path) -> io::Result<(PathBuf, Truth)> {
    let input = write_fodt(spec, dir, &unique_name("word"))?;
    let docx = convert(std::slice::from_ref(&input), "docx", dir)?
        .pop()
        .ok_or_else(|| io::Error::other("no docx"))?;
    let pdf = convert(&[input], "pdf", dir)?.pop().ok_or_else(|| io::Error::other("no PDF"))?;
    Ok((docx, spec.truth(pdf_pages(&pdf)?)))
}

/// Renders a PDF's pages to images at `dpi` with pdftoppm.
pub fn rasterise(pdf: &Path, dpi: u32, dir: &Path) -> io::Result<Vec<RgbImage>> {
    require("pdftoppm")?;
    let prefix = dir.join(unique_name("page"));
    run(
        Command::new("pdftoppm").arg("-r").arg(dpi.to_string()).arg("-tiff").arg(pdf).arg(&prefix),
        Duration::from_mins(2),
    )?;
    let stem = prefix.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{stem}-"))
                    && Path::new(n).extension().is_some_and(|e| e.eq_ignore_ascii_case("tif"))
            })
        })
        .collect();
    // pdftoppm pads page numbers to the same width, so names sort in page order (uncompressed
    // TIFF: PNG would cost more to write and read than the page is worth).
    pages.sort();
    pages
        .iter()
        .map(|p| {
            let img = image::open(p).map_err(io::Error::other)?.to_rgb8();
            let _ = std::fs::remove_file(p);
            Ok(img)
        })
        .collect()
}
