//! Office files (Word, Excel, PowerPoint, WPS, RTF) turned into PDF pages by LibreOffice when
//! the server has it (`soffice` on PATH, or `[print] soffice`), for the print (each conversion a
//! worker job, `ConvertJob`, of its own) and for the reading (a page count, or the text of a
//! .doc or .wps, inside the reading's job). Always in the worker, with a fresh profile in the
//! job's folder, no network, and a time limit (`[print] office_timeout_secs`: the print's job's,
//! or LibreOffice's own inside the reading, which then keeps what the crates read), past which
//! the whole process group (`soffice.bin` too) is killed. What a document links from outside (a picture at a URL, a file
//! on the server) is taken out of an OOXML file before LibreOffice sees it. Without LibreOffice,
//! or when a file does not convert, the print gives the file a placeholder page and the reading
//! leaves its page count blank.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

/// Extensions LibreOffice opens that a clerk may file.
const CONVERTIBLE: [&str; 13] =
    ["doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "rtf", "odt", "ods", "odp"];
/// OOXML, whose external relationships are taken out before conversion.
const OOXML: [&str; 3] = ["docx", "xlsx", "pptx"];
/// The most a part of an OOXML file rewritten here may hold (its relationships).
const MAX_RELS: u64 = 4 << 20;

pub fn is_convertible(name: &str) -> bool {
    CONVERTIBLE.contains(&extension(name).as_str())
}

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default()
}

/// The extension LibreOffice should see for a stored Office file, from its content (a stored
/// file has no name of its own): OLE files (.doc, .xls, .wps, .et) are told apart by
/// LibreOffice itself, zip files as the reader tells them (`office_format`). `None`: not an
/// Office file.
pub fn extension_of(path: &Path) -> Option<&'static str> {
    let mut prefix = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read(&mut prefix)).ok()?;
    match yingjian_shared::sniff(&prefix[..read])? {
        "ole" => Some("doc"),
        "rtf" => Some("rtf"),
        "zip" => yingjian_reader::text::office_format(std::fs::File::open(path).ok()?),
        _ => None,
    }
}

/// One conversion, in the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvertJob {
    pub soffice: PathBuf,
    /// The stored file (or a copy).
    pub input: PathBuf,
    /// Its name as filed (for its extension).
    pub name: String,
    /// Where the PDF goes.
    pub out: PathBuf,
}

impl crate::worker::Job for ConvertJob {
    const NAME: &'static str = "convert";
}

/// Converts, answers the PDF's size (in the worker: `dir`, the job's folder, holds the profile
/// and the copy LibreOffice reads). Within `limit`, when given, past which LibreOffice is
/// killed and the job goes on without its layout (the worker kills what it left behind);
/// without one, the job's own time limit is the conversion's.
pub fn convert(job: &ConvertJob, dir: &Path, limit: Option<Duration>) -> Result<u64, String> {
    let ext = extension(&job.name);
    let ext = if CONVERTIBLE.contains(&ext.as_str()) { ext } else { "bin".into() };
    let input = dir.join(format!("input.{ext}"));
    if OOXML.contains(&ext.as_str()) {
        let stripped = strip_external_links(&job.input, &input);
        if let Err(e) = stripped {
            tracing::info!(error = %e, "an OOXML file's relationships cannot be read: converted as it is");
            std::fs::copy(&job.input, &input).map_err(|e| e.to_string())?;
        }
    } else {
        std::fs::copy(&job.input, &input).map_err(|e| e.to_string())?;
    }
    let mut soffice = Command::new(&job.soffice)
        .arg(format!("-env:UserInstallation={}", url_of(&dir.join("profile"))))
        .args(["--headless", "--norestore", "--nolockcheck", "--convert-to", "pdf", "--outdir"])
        .arg(dir)
        .arg(&input)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("LibreOffice 未能启动（{e}）"))?;
    let status = match limit {
        None => soffice.wait(),
        Some(limit) => soffice.wait_timeout(limit).transpose().unwrap_or_else(|| {
            let _ = soffice.kill();
            let _ = soffice.wait();
            Err(std::io::Error::other(format!("LibreOffice 超过 {} 秒未完成排版", limit.as_secs())))
        }),
    }
    .map_err(|e| e.to_string())?;
    let made = dir.join("input.pdf");
    if !made.is_file() {
        return Err(format!("LibreOffice 未生成 PDF（{status}）"));
    }
    std::fs::copy(&made, &job.out).map_err(|e| e.to_string())
}

/// Copies the OOXML file `from` to `to` without its external relationships other than
/// hyperlinks: a linked picture or object would make LibreOffice fetch a URL, or read a file
/// of the server, while it converts.
fn strip_external_links(from: &Path, to: &Path) -> zip::result::ZipResult<usize> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from)?)?;
    let mut out = zip::ZipWriter::new(std::fs::File::create(to)?);
    let external = regex::Regex::new(r#"(?s)<Relationship\b[^>]*TargetMode\s*=\s*["']External["'][^>]*/>"#)
        .expect("a valid pattern");
    let mut taken = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index(i)?;
        let name = entry.name()?.to_string();
        if !Path::new(&name).extension().is_some_and(|e| e.eq_ignore_ascii_case("rels")) {
            out.raw_copy_file(entry)?;
            continue;
        }
        let mut text = String::new();
        let read = entry.take(MAX_RELS).read_to_string(&mut text)?;
        if read as u64 >= MAX_RELS {
            return Err(zip::result::ZipError::InvalidArchive("relationships too large".into()));
        }
        let kept = external.replace_all(&text, |found: &regex::Captures<'_>| {
            if found[0].contains("/hyperlink\"") || found[0].contains("/hyperlink'") {
                found[0].to_string()
            } else {
                taken += 1;
                String::new()
            }
        });
        out.start_file(name, zip::write::SimpleFileOptions::default())?;
        out.write_all(kept.as_bytes())?;
    }
    out.finish()?;
    Ok(taken)
}

/// A `file://` URL of a local folder, as LibreOffice's `-env:UserInstallation` wants it.
fn url_of(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    if text.starts_with('/') { format!("file://{text}") } else { format!("file:///{text}") }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A LibreOffice that never finishes.
    #[cfg(unix)]
    pub(crate) fn hanging_soffice(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let hanging = dir.join("soffice");
        std::fs::write(&hanging, "#!/bin/sh\nexec sleep 600\n").unwrap();
        std::fs::set_permissions(&hanging, std::fs::Permissions::from_mode(0o755)).unwrap();
        hanging
    }

    #[test]
    fn external_pictures_are_taken_out_and_hyperlinks_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a.docx"), dir.path().join("b.docx"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&from).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("word/document.xml", options).unwrap();
        zip.write_all(b"<w:document/>").unwrap();
        zip.start_file("word/_rels/document.xml.rels", options).unwrap();
        zip.write_all(
            br#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="http://127.0.0.1:9/x.png" TargetMode="External"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org/" TargetMode="External"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
        )
        .unwrap();
        zip.finish().unwrap();
        assert_eq!(strip_external_links(&from, &to).unwrap(), 1);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&to).unwrap()).unwrap();
        let mut rels = String::new();
        archive.by_name("word/_rels/document.xml.rels").unwrap().read_to_string(&mut rels).unwrap();
        assert!(!rels.contains("127.0.0.1") && rels.contains("example.org") && rels.contains("styles.xml"));
        let mut doc = String::new();
        archive.by_name("word/document.xml").unwrap().read_to_string(&mut doc).unwrap();
        assert_eq!(doc, "<w:document/>");
        // Not a zip: an error, not a panic.
        std::fs::write(&from, b"not a zip").unwrap();
        assert!(strip_external_links(&from, &to).is_err());
    }

    /// A LibreOffice that never finishes is killed at the limit, and said so.
    #[cfg(unix)]
    #[test]
    fn a_conversion_past_its_limit_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let hanging = hanging_soffice(dir.path());
        let input = dir.path().join("a.doc");
        std::fs::write(&input, b"\xD0\xCF\x11\xE0 not really").unwrap();
        let job = ConvertJob { soffice: hanging, input, name: "a.doc".into(), out: dir.path().join("a.pdf") };
        let refused = convert(&job, dir.path(), Some(Duration::from_secs(1))).unwrap_err();
        assert!(refused.contains("超过 1 秒"), "{refused}");
        assert!(!job.out.exists());
    }
}
