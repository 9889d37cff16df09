//! The OCR engines the reading bench compares on the same page images: the reader's own, Debian's
//! tesseract and, when installed, RapidOCR.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};
use image::RgbImage;
use yingjian_reader::fields::{self, Line};
use yingjian_reader::ocr::Ocr;
use yingjian_reader::pages::{self, Budget, PageImage};

use super::{Doc, Pages, Source, Tally, children_cpu, compare, pairs, self_cpu};

/// One page as an engine read it: the lines (text, confidence), seconds, CPU-seconds.
type PageRead = (Vec<(String, f32)>, f64, f64);

/// One OCR engine over the comparison pages.
#[derive(Default)]
pub(super) struct Engine {
    pub(super) pages: Vec<PageRead>,
    /// Loading the models (and one warm-up page where the engine keeps them): seconds, CPU-s.
    pub(super) load: Option<(f64, f64)>,
    pub(super) version: String,
}

impl Engine {
    pub(super) fn wall(&self) -> f64 {
        self.pages.iter().map(|p| p.1).sum()
    }

    pub(super) fn cpu(&self) -> f64 {
        self.pages.iter().map(|p| p.2).sum()
    }

    /// Character accuracy (1 − edit distance ÷ truth length, over all pages), share of the truth's
    /// characters found, and the worst page's accuracy.
    pub(super) fn accuracy(&self, pages: &[OcrPage]) -> (f64, f64, f64) {
        let (mut dist, mut len, mut found, mut worst) = (0, 0, 0, f64::MAX);
        for (page, (lines, _, _)) in pages.iter().zip(&self.pages) {
            let text: String = lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join("\n");
            let (d, l, f) = compare(&page.truth, &text);
            dist += d;
            len += l;
            found += f;
            worst = worst.min(1.0 - d as f64 / l.max(1) as f64);
        }
        (1.0 - dist as f64 / len.max(1) as f64, found as f64 / len.max(1) as f64, worst)
    }

    /// The fields the reader's rules find in this engine's lines: per document (by index), and
    /// tallied per source and over all, with the misses.
    pub(super) fn fields(
        &self,
        pages: &[OcrPage],
        docs: &[Doc],
    ) -> (HashMap<Source, Tally>, Tally, Vec<String>) {
        let mut by_doc: HashMap<usize, Vec<Line>> = HashMap::new();
        for (page, (lines, _, _)) in pages.iter().zip(&self.pages) {
            let into = by_doc.entry(page.doc).or_default();
            into.extend(lines.iter().map(|(text, confidence)| Line {
                text: text.clone(),
                page: page.page,
                confidence: *confidence,
            }));
        }
        let (mut per_source, mut all, mut misses) = (HashMap::new(), Tally::default(), Vec::new());
        let mut keys: Vec<usize> = by_doc.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let found = pairs(&fields::extract(&by_doc[&k]), Pages::Uncounted, &docs[k].truth);
            all.add(&docs[k].name, &found, &mut misses);
            per_source.entry(docs[k].source).or_insert_with(Tally::default).add(
                &docs[k].name,
                &found,
                &mut Vec::new(),
            );
        }
        (per_source, all, misses)
    }

    pub(super) fn summary(&self, pages: &[OcrPage]) -> String {
        let (accuracy, found, worst) = self.accuracy(pages);
        format!(
            "{:.2} CPU-s/page, accuracy {accuracy:.3} (worst page {worst:.3}), {:.1}% of characters found",
            self.cpu() / self.pages.len().max(1) as f64,
            100.0 * found
        )
    }
}

/// A page OCR'd by every engine: the image the reader OCRs (`pages::pdf_page` or
/// `pages::picture_pages` at the reader's budget), saved as PNG for the other engines.
pub(super) struct OcrPage {
    pub(super) doc: usize,
    pub(super) page: u32,
    pub(super) image: RgbImage,
    pub(super) png: PathBuf,
    pub(super) truth: String,
}

pub(super) fn ocr_pages(docs: &[Doc], dir: &Path) -> Result<Vec<OcrPage>> {
    let budget = Budget::default();
    let mut out = Vec::new();
    for (k, doc) in docs.iter().enumerate().filter(|(_, d)| d.source.ocr()) {
        let bytes = std::fs::read(&doc.path)?;
        let images: Vec<PageImage> = if doc.source == Source::Photo {
            pages::picture_pages(&bytes, &budget)?
        } else {
            (0..doc.truth.pages.min(yingjian_reader::read::OCR_PAGES))
                .map(|i| pages::pdf_page(&bytes, i, &budget))
                .collect::<Result<_, _>>()?
        };
        for (i, page) in images.into_iter().enumerate() {
            let png = dir.join(format!("{}-p{}.png", doc.name, i + 1));
            page.image.save(&png)?;
            let truth = doc.page_texts.get(i).cloned().unwrap_or_default();
            out.push(OcrPage { doc: k, page: i as u32 + 1, image: page.image, png, truth });
        }
    }
    Ok(out)
}

/// The reader's OCR on each page, models loaded and one page read first (its plans optimised).
pub(super) fn ours(pages: &[OcrPage]) -> Result<Engine> {
    let (t, c) = (Instant::now(), self_cpu());
    let ocr = Ocr::load(None)?;
    if let Some(first) = pages.first() {
        ocr.read(&first.image)?;
    }
    let mut engine = Engine {
        load: Some((t.elapsed().as_secs_f64(), self_cpu() - c)),
        version: "PP-OCRv4, tract".into(),
        ..Engine::default()
    };
    for page in pages {
        let (t, c) = (Instant::now(), self_cpu());
        let lines = ocr.read(&page.image)?;
        let (wall, cpu) = (t.elapsed().as_secs_f64(), self_cpu() - c);
        engine.pages.push((lines.into_iter().map(|l| (l.text, l.confidence)).collect(), wall, cpu));
    }
    Ok(engine)
}

/// Debian's tesseract, one process a page as it is used (`tesseract IMG - -l chi_sim`); its plain
/// output has no confidence, so its lines count as sure (the rules' bar never blanks them).
pub(super) fn tesseract(pages: &[OcrPage]) -> Result<Option<Engine>> {
    let Ok(version) = Command::new("tesseract").arg("--version").output() else { return Ok(None) };
    let langs = Command::new("tesseract").arg("--list-langs").output()?;
    if !String::from_utf8_lossy(&langs.stdout).lines().any(|l| l.trim() == "chi_sim") {
        return Ok(None);
    }
    let mut engine = Engine {
        version: String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or("tesseract").to_owned(),
        ..Engine::default()
    };
    for page in pages {
        let (t, c) = (Instant::now(), children_cpu());
        let out = Command::new("tesseract").arg(&page.png).args(["-", "-l", "chi_sim"]).output()?;
        let (wall, cpu) = (t.elapsed().as_secs_f64(), children_cpu() - c);
        if !out.status.success() {
            bail!("tesseract failed on {}: {}", page.png.display(), String::from_utf8_lossy(&out.stderr));
        }
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| (l.trim().to_owned(), 1.0))
            .collect();
        engine.pages.push((lines, wall, cpu));
    }
    Ok(Some(engine))
}

/// RapidOCR (`rapidocr_onnxruntime`, the Python reference for the same PP-OCR models, on
/// onnxruntime), on the same PNGs in one Python process; models loaded and one page read first.
const RAPIDOCR: &str = r#"
import json, sys, time
from importlib.metadata import version
t, c = time.perf_counter(), time.process_time()
from rapidocr_onnxruntime import RapidOCR
engine = RapidOCR()
engine(sys.argv[1])
print(json.dumps({"load": [time.perf_counter() - t, time.process_time() - c],
    "version": "rapidocr-onnxruntime " + version("rapidocr-onnxruntime") + ", onnxruntime " + version("onnxruntime")}), flush=True)
for path in sys.argv[1:]:
    t, c = time.perf_counter(), time.process_time()
    result, _ = engine(path)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    lines = [[r[1], float(r[2])] for r in (result or [])]
    print(json.dumps({"lines": lines, "wall": wall, "cpu": cpu}, ensure_ascii=False), flush=True)
"#;

pub(super) fn rapidocr(pages: &[OcrPage]) -> Result<Option<Engine>> {
    let present = Command::new("python3")
        .args(["-c", "import rapidocr_onnxruntime"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present || pages.is_empty() {
        return Ok(None);
    }
    let out = Command::new("python3").args(["-c", RAPIDOCR]).args(pages.iter().map(|p| &p.png)).output()?;
    if !out.status.success() {
        bail!("RapidOCR failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut engine = Engine::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if let Some(load) = v["load"].as_array() {
            engine.load = Some((load[0].as_f64().unwrap_or(f64::NAN), load[1].as_f64().unwrap_or(f64::NAN)));
            v["version"].as_str().unwrap_or("RapidOCR").clone_into(&mut engine.version);
            continue;
        }
        let lines = v["lines"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        (l[0].as_str().unwrap_or_default().to_owned(), l[1].as_f64().unwrap_or(0.0) as f32)
                    })
                    .collect()
            })
            .unwrap_or_default();
        engine.pages.push((
            lines,
            v["wall"].as_f64().unwrap_or(f64::NAN),
            v["cpu"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    if engine.pages.len() != pages.len() {
        bail!("RapidOCR answered {} of {} pages", engine.pages.len(), pages.len());
    }
    Ok(Some(engine))
}
