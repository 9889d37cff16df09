//! 纸质版: the submission as printable PDFs, from the same state as a bundle. One PDF per
//! 考核领域 (and one for the 自评报告, one for the 典型案例): a cover, the volume's 目录 with the
//! 起止页 of every file, then every file in 目录 order — PDF pages imported, pictures placed on
//! A4 with their caption, a placeholder page for what cannot be printed here — with a bookmark
//! per item and per file and 第 N 页 on every page.

mod draw;
mod flatten;
mod font;
mod office;
mod shelf;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yingjian_shared::{Catalogue, ItemCode, sniff};

use crate::blobs::{BlobStore, MAX_READ_WHOLE};
use crate::bundle::PlannedFile;
use crate::error::{AppError, AppResult};
use crate::facts::Facts;
use crate::state::AppState;

pub(crate) use font::find_font;
pub use shelf::{PRINTED, Printouts};

/// A volume's input is read into memory for the PDF writer, which holds what it embeds until the
/// volume is written: past this much, an area goes on in a second volume (（续）).
const MAX_VOLUME_INPUT: u64 = 128 << 20;

/// One printable PDF.
pub struct Volume<'a> {
    /// `01 质量水平状况.pdf`.
    pub file_name: String,
    /// `一、质量水平状况`, as the cover says it.
    pub title: String,
    pub files: Vec<&'a PlannedFile>,
}

/// What a file becomes on paper.
pub enum Printed {
    /// Pages of a PDF that reads.
    Pdf(Arc<krilla::pdf::Pdf>, usize),
    /// Pictures, each on a page of its own with the caption under it (a TIFF may hold several).
    Pictures(Vec<draw::Picture>),
    /// One page saying where the file is instead, and why.
    Placeholder(String),
}

impl Printed {
    fn pages(&self) -> usize {
        match self {
            Printed::Pdf(_, n) => *n,
            Printed::Pictures(p) => p.len().max(1),
            Printed::Placeholder(_) => 1,
        }
    }
}

/// What a print build made and met.
#[derive(Debug, Default)]
pub struct PrintReport {
    /// Each PDF written, with its pages.
    pub written: Vec<(PathBuf, usize)>,
    /// Files that got a placeholder instead of their pages, and why (in Chinese).
    pub problems: Vec<String>,
}

/// The volumes of a plan, in catalogue order. What counts towards a volume's input is what will
/// be embedded: files whose pages the content examination could tell (`facts`).
pub fn volumes<'a, S: std::hash::BuildHasher>(
    catalogue: &Catalogue,
    files: &'a [PlannedFile],
    facts: &HashMap<String, Facts, S>,
) -> Vec<Volume<'a>> {
    let input =
        |f: &PlannedFile| if facts.get(&f.sha256).is_some_and(|x| x.pages.is_some()) { f.size } else { 0 };
    let mut out: Vec<Volume<'a>> = Vec::new();
    let mut push = |key: (String, String), f: &'a PlannedFile| {
        let fits = out.last().is_some_and(|v| {
            let same = v.file_name.starts_with(&key.0);
            let held: u64 = v.files.iter().map(|f| input(f)).sum();
            same && (held + input(f) <= MAX_VOLUME_INPUT || v.files.is_empty())
        });
        if !fits {
            let part = out.iter().filter(|v| v.file_name.starts_with(&key.0)).count();
            let (file_name, title) = if part == 0 {
                (format!("{}.pdf", key.0), key.1.clone())
            } else {
                (format!("{}（续{}）.pdf", key.0, part), format!("{}（续{}）", key.1, part))
            };
            out.push(Volume { file_name, title, files: Vec::new() });
        }
        out.last_mut().expect("just pushed").files.push(f);
    };
    for f in files {
        let key = match f.item.parse::<ItemCode>().ok().and_then(|code| area_of(catalogue, code)) {
            Some((code, name)) => {
                (format!("{code:02} {name}"), format!("{}、{name}", yingjian_shared::chinese_numeral(code)))
            }
            None => (format!("00 {}", f.item), f.item.clone()),
        };
        push(key, f);
    }
    out
}

fn area_of(catalogue: &Catalogue, code: ItemCode) -> Option<(u8, String)> {
    catalogue
        .areas
        .iter()
        .find(|a| a.key_points.iter().any(|k| k.items.iter().any(|i| i.code == code)))
        .map(|a| (a.code, a.name.clone()))
}

/// Reads what a file will print as (blocking).
fn load(blobs: &dyn BlobStore, office: Option<&office::Converter>, f: &PlannedFile) -> Printed {
    let name = f.path.rsplit('/').next().unwrap_or(&f.path);
    if f.size > MAX_READ_WHOLE {
        return Printed::Placeholder(format!(
            "《{name}》较大（超过 64 MB），未合并打印，请查阅电子版材料包。"
        ));
    }
    let unread = || Printed::Placeholder(format!("《{name}》读取失败，请查阅电子版材料包。"));
    let Ok(mut reader) = blobs.open_blob(&f.sha256) else { return unread() };
    // What the first bytes say decides whether the rest is read at all.
    let mut bytes = Vec::with_capacity(f.size as usize);
    if (&mut reader).take(16).read_to_end(&mut bytes).is_err() {
        return unread();
    }
    let kind = sniff(&bytes);
    let wanted = matches!(kind, Some("pdf" | "jpeg" | "png" | "bmp" | "tiff" | "gif" | "webp"))
        || (office.is_some() && office::is_convertible(name));
    if wanted && reader.read_to_end(&mut bytes).is_err() {
        return unread();
    }
    let damaged = || {
        Printed::Placeholder(format!(
            "《{name}》是损坏或加密的 PDF 文件，无法合并打印，请查阅电子版材料包中的原件。"
        ))
    };
    match kind {
        Some("pdf") => pdf(bytes).unwrap_or_else(damaged),
        Some("jpeg" | "png" | "bmp" | "tiff" | "gif" | "webp") => match draw::pictures(bytes) {
            Ok(pictures) if !pictures.is_empty() => Printed::Pictures(pictures),
            _ => Printed::Placeholder(format!("《{name}》图片无法解码，请查阅电子版材料包。")),
        },
        _ => match office.filter(|_| office::is_convertible(name)) {
            Some(converter) => match converter.convert(name, &bytes) {
                Ok(as_pdf) => pdf(as_pdf).unwrap_or_else(|| {
                    Printed::Placeholder(format!("《{name}》转换为 PDF 后无法读取，原件见电子版材料包。"))
                }),
                Err(why) => {
                    tracing::warn!(%why, file = %f.path, "an Office file did not convert");
                    Printed::Placeholder(format!("《{name}》未能转换为可打印的页面，原件见电子版材料包。"))
                }
            },
            None => Printed::Placeholder(format!(
                "《{name}》为 Word、Excel、WPS、OFD 或视频等格式，此处不能直接打印，原件见电子版材料包。"
            )),
        },
    }
}

/// A PDF that reads and has pages.
fn pdf(bytes: Vec<u8>) -> Option<Printed> {
    let pdf = krilla::pdf::Pdf::new(flatten::annotations_into_pages(bytes)).ok()?;
    let pages = pdf.pages().len();
    (pages > 0).then(|| Printed::Pdf(Arc::new(pdf), pages))
}

/// Builds the printable PDFs of the current state into `out_dir`.
pub async fn build(state: &AppState, out_dir: &Path) -> AppResult<PrintReport> {
    let crate::bundle::Planned { files, facts, local, .. } = crate::bundle::planned(state).await?;
    let as_of = local.strftime("%Y年%-m月%-d日").to_string();
    let font = font::find_font(state.config.print.font.as_deref())?;
    let office = office::Converter::find(
        state.config.print.soffice.as_deref(),
        std::time::Duration::from_secs(state.config.print.office_timeout_secs.max(1)),
    );
    let catalogue = state.catalogue.clone();
    let heading = format!("{}{}", state.config.city, catalogue.name);
    let blobs = state.blobs.clone();
    let out_dir = out_dir.to_path_buf();
    let job = tokio::task::spawn_blocking(move || -> AppResult<(PrintReport, Vec<(String, u32)>)> {
        fs::create_dir_all(&out_dir)?;
        let mut report = PrintReport::default();
        let mut printed_pages = Vec::new();
        for volume in volumes(&catalogue, &files, &facts) {
            // All of a volume is read before it is drawn (its 目录 needs every page count); the
            // split at MAX_VOLUME_INPUT bounds what that holds.
            let printed: Vec<Printed> =
                volume.files.iter().map(|f| load(&*blobs, office.as_ref(), f)).collect();
            for (f, p) in volume.files.iter().zip(&printed) {
                if let Printed::Placeholder(why) = p {
                    report.problems.push(format!("{} {}：{why}", f.reference, f.path));
                }
            }
            let pages: Vec<usize> = printed.iter().map(Printed::pages).collect();
            printed_pages.extend(volume.files.iter().zip(&pages).map(|(f, p)| (f.sha256.clone(), *p as u32)));
            let cover = draw::Cover { heading: &heading, volume: &volume.title, as_of: &as_of };
            let (bytes, total) = draw::volume(&font, &catalogue, &cover, &volume.files, printed, &pages)
                .map_err(|e| AppError::internal(format!("{}: {e}", volume.file_name)))?;
            let target = out_dir.join(&volume.file_name);
            crate::durable::write(&target, &bytes)?;
            report.written.push((target, total));
        }
        crate::durable::sync_folder(&out_dir)?;
        Ok((report, printed_pages))
    });
    let (report, printed_pages) = job.await.map_err(AppError::internal)??;
    // So that the electronic 目录 gives the same 起止页 as the paper.
    state.db.set_printed_pages(printed_pages).await?;
    Ok(report)
}

/// Where each file of a plan is in the paper version (`03 质量安全监管 第5–6页`), by 序号, for
/// the electronic 目录: known for a volume once a print build has seen every file in it.
pub(crate) fn spans(
    catalogue: &Catalogue,
    files: &[PlannedFile],
    facts: &HashMap<String, Facts>,
) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    for volume in volumes(catalogue, files, facts) {
        let pages: Option<Vec<usize>> = volume
            .files
            .iter()
            .map(|f| facts.get(&f.sha256).and_then(|x| x.printed).map(|p| p as usize))
            .collect();
        let Some(pages) = pages else { continue };
        let (starts, _) = draw::layout(&volume.files, &pages);
        let stem = volume.file_name.trim_end_matches(".pdf");
        for ((f, start), n) in volume.files.iter().zip(starts).zip(pages) {
            let span = if n <= 1 { format!("{start}") } else { format!("{start}–{}", start + n - 1) };
            out.insert(f.number, format!("{stem} 第{span}页"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(number: usize, sha: &str, size: u64) -> PlannedFile {
        PlannedFile {
            path: format!("f{number}.pdf"),
            sha256: sha.into(),
            size,
            number,
            reference: format!("08.03-{number:03}"),
            item: "8.3".into(),
            department: "公安局".into(),
            doc_number: None,
            author: "公安局".into(),
            title: format!("f{number}"),
            date: None,
            pages: None,
            printed: None,
            remarks: Vec::new(),
        }
    }

    #[test]
    fn a_volume_goes_on_in_another_past_its_input_and_only_what_is_embedded_counts() {
        let catalogue = Catalogue::builtin();
        let files: Vec<PlannedFile> = (1..=3).map(|n| file(n, &format!("{n}"), 60 << 20)).collect();
        let readable = |shas: &[&str]| -> HashMap<String, Facts> {
            shas.iter().map(|s| ((*s).to_string(), Facts { pages: Some(10), ..Facts::default() })).collect()
        };
        let names = |facts: &HashMap<String, Facts>| -> Vec<String> {
            volumes(catalogue, &files, facts).into_iter().map(|v| v.file_name).collect()
        };
        assert_eq!(names(&readable(&["1", "2", "3"])), ["03 质量安全监管.pdf", "03 质量安全监管（续1）.pdf"]);
        // Files that will only get a placeholder take no room.
        assert_eq!(names(&readable(&["1"])), ["03 质量安全监管.pdf"]);
    }
}
