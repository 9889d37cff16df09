//! The reading bench (`BENCH_ONLY=reading`): the project's own corpus (`yingjian_reader::corpus`:
//! LibreOffice red-header notices and reports, scans of them, phone photos, Word files) read by
//! `yingjian_aggregator::ReadJob`, the code the server's worker runs, field by field against the
//! truth; the OCR beside Debian's tesseract and, when installed, RapidOCR on the same page images;
//! the scan checks against a labelled set; the near-duplicate pairing. Method and figures in
//! docs/performance.md, *Reading*.
//!
//! Environment: `BENCH_READING_SEED` (the corpus, default 1), `BENCH_READING_KEEP=DIR` (keep the
//! generated files and page images there, to look at).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use yingjian_aggregator::ReadJob;
use yingjian_reader::corpus::{self, Degrade, Spec, Truth, labelled_set};
use yingjian_reader::fields::{self, Fields};
use yingjian_reader::pages::{self, Budget};
use yingjian_reader::quality::{self, Code, Thresholds};
use yingjian_reader::{OcrOnDemand, Reading, read_file, similar};

use super::{Table, env_num};
use engines::{Engine, ocr_pages, ours, rapidocr, tesseract};

mod engines;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Layer,
    Scan200,
    Scan300,
    Photo,
    Word,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Layer => "text-layer PDFs",
            Source::Scan200 => "OCR, 200-dpi scans",
            Source::Scan300 => "OCR, 300-dpi scans",
            Source::Photo => "OCR, phone photos",
            Source::Word => "Word (.docx)",
        }
    }

    fn ocr(self) -> bool {
        matches!(self, Source::Scan200 | Source::Scan300 | Source::Photo)
    }
}

/// The reading corpus: 12 documents. Scans carry a seal over the date, skew and noise.
const LAYOUT: [Source; 12] = [
    Source::Layer,
    Source::Layer,
    Source::Layer,
    Source::Scan200,
    Source::Scan300,
    Source::Scan200,
    Source::Scan300,
    Source::Photo,
    Source::Photo,
    Source::Word,
    Source::Word,
    Source::Word,
];

/// One generated document and what it says.
struct Doc {
    name: String,
    path: PathBuf,
    truth: Truth,
    source: Source,
    /// The text of each page: the text layer of the PDF the document was made from.
    page_texts: Vec<String>,
    /// The same paper (the near-duplicate pairing expects the same id for a rescan).
    paper: usize,
}

/// `YYYY-MM-DD` of the day `unix` seconds fall on, at `offset_hours` from UTC.
fn day_of(unix: i64, offset_hours: i64) -> String {
    // Howard Hinnant's days → civil date.
    let z = (unix + offset_hours * 3600).div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// CPU seconds of this process (`/proc/self/stat` utime + stime: every thread) and of the
/// children it has waited for (cutime + cstime), at 100 ticks a second.
fn cpu_self_and_children() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest: Vec<&str> =
        stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN) / 100.0;
    (field(11) + field(12), field(13) + field(14))
}

fn self_cpu() -> f64 {
    cpu_self_and_children().0
}

fn children_cpu() -> f64 {
    cpu_self_and_children().1
}

/// The text of each page of a text PDF, lines joined.
fn layer_texts(pdf: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(pdf)?;
    let pages = yingjian_reader::text::pdf_layer(&bytes, 50)?;
    Ok(pages
        .into_iter()
        .map(|p| p.unwrap_or_default().into_iter().map(|l| l.text).collect::<Vec<_>>().join("\n"))
        .collect())
}

/// The reading corpus (`LAYOUT`): two LibreOffice runs, then scans and photos of the PDFs.
fn reading_corpus(seed: u64, dir: &Path) -> Result<Vec<Doc>> {
    let mut specs = Vec::new();
    for (k, source) in LAYOUT.iter().enumerate() {
        let mut spec = Spec::random(seed * 1000 + k as u64);
        match source {
            Source::Photo => spec = spec.one_page(),
            Source::Scan200 | Source::Scan300 => spec.seal = true,
            Source::Layer | Source::Word => {}
        }
        specs.push(spec);
    }
    // The hard cases of the issue on scans: a 密级 mark, and a Chinese-numeral date under the seal.
    specs[3].classification = Some("秘密★1年".to_owned());
    specs[4].chinese_date = true;
    let made = corpus::text_pdfs(&specs, dir)?;
    let mut word_inputs = Vec::new();
    for (k, spec) in specs.iter().enumerate() {
        if LAYOUT[k] == Source::Word {
            let path = dir.join(format!("word-{k}.fodt"));
            std::fs::write(&path, spec.fodt())?;
            word_inputs.push(path);
        }
    }
    let mut words = corpus::convert(&word_inputs, "docx", dir)?.into_iter();
    let mut docs = Vec::new();
    for (k, (pdf, mut truth)) in made.into_iter().enumerate() {
        let source = LAYOUT[k];
        let page_texts = layer_texts(&pdf)?;
        let path = match source {
            Source::Layer => pdf,
            Source::Scan200 | Source::Scan300 => {
                let mut how = Degrade::random(seed ^ (k as u64 * 7919));
                // Every scan askew and noisy (within what the checks let pass).
                how.angle = how.angle.signum() * how.angle.abs().max(0.5);
                how.noise = how.noise.max(3.0);
                let dpi = if source == Source::Scan200 { 200 } else { 300 };
                corpus::scan_of(&pdf, dir, dpi, &how)?
            }
            Source::Photo => {
                // The photo is of the first page: what it shows must be the whole document.
                anyhow::ensure!(
                    page_texts.len() == 1,
                    "{} is not one page long: its photo would hide the rest",
                    pdf.display()
                );
                truth.pages = 1;
                corpus::photo_of(&pdf, dir, seed * 1000 + k as u64 + 77)?
            }
            Source::Word => words.next().context("a .docx for every Word document")?,
        };
        docs.push(Doc {
            name: format!("{}{k:02}", short(source)),
            path,
            truth,
            source,
            page_texts,
            paper: k,
        });
    }
    Ok(docs)
}

fn short(source: Source) -> &'static str {
    match source {
        Source::Layer => "text",
        Source::Scan200 => "scan200-",
        Source::Scan300 => "scan300-",
        Source::Photo => "photo",
        Source::Word => "word",
    }
}

const FIELDS: [&str; 6] = ["文号", "责任者", "日期", "题名", "页数", "密级"];

/// 页数 as an engine tells it.
#[derive(Clone, Copy)]
enum Pages {
    /// An OCR engine alone does not count pages: left out of the comparison.
    Uncounted,
    Counted(Option<u32>),
}

/// Found against wanted, field by field.
fn pairs(found: &Fields, pages: Pages, truth: &Truth) -> Vec<(usize, Option<String>, Option<String>)> {
    let v = |f: &Option<fields::Field>| f.as_ref().map(|f| f.value.clone());
    let mut out = vec![
        (0, v(&found.doc_number), truth.doc_number.clone()),
        (1, v(&found.issuer), Some(truth.issuer.clone())),
        (2, v(&found.date), Some(truth.date.clone())),
        (3, v(&found.title), Some(truth.title.clone())),
        (5, v(&found.classification), truth.classification.clone()),
    ];
    if let Pages::Counted(pages) = pages {
        out.push((4, pages.map(|p| p.to_string()), Some(truth.pages.to_string())));
    }
    out
}

/// Field outcomes: right, blank (nothing found where something was printed) and wrong (a
/// different value, or one invented where nothing was printed). Wrong is worse than blank.
#[derive(Default, Clone)]
struct Tally {
    docs: usize,
    counted: [usize; 6],
    right: [usize; 6],
    blank: [usize; 6],
    wrong: [usize; 6],
}

impl Tally {
    fn add(
        &mut self,
        doc: &str,
        pairs: &[(usize, Option<String>, Option<String>)],
        misses: &mut Vec<String>,
    ) {
        self.docs += 1;
        for (i, got, want) in pairs {
            self.counted[*i] += 1;
            if got == want {
                self.right[*i] += 1;
            } else if got.is_none() {
                self.blank[*i] += 1;
                misses.push(format!("{doc} {} blank, want {want:?}", FIELDS[*i]));
            } else {
                self.wrong[*i] += 1;
                misses.push(format!("{doc} {} WRONG {got:?}, want {want:?}", FIELDS[*i]));
            }
        }
    }

    fn total(&self) -> (usize, usize, usize, usize) {
        let sum = |a: &[usize; 6]| a.iter().sum::<usize>();
        (sum(&self.right), sum(&self.counted), sum(&self.blank), sum(&self.wrong))
    }

    fn score(&self) -> String {
        let (right, counted, _, wrong) = self.total();
        if wrong > 0 { format!("{right}/{counted} ({wrong} wrong)") } else { format!("{right}/{counted}") }
    }

    /// 「文号 3/3, 日期 2/3 (1 blank)…」 for the fields counted.
    fn by_field(&self) -> String {
        let mut out = Vec::new();
        for (i, field) in FIELDS.iter().enumerate() {
            if self.counted[i] == 0 {
                continue;
            }
            let mut s = format!("{field} {}/{}", self.right[i], self.counted[i]);
            match (self.blank[i], self.wrong[i]) {
                (0, 0) => {}
                (b, 0) => {
                    let _ = write!(s, " ({b} blank)");
                }
                (0, w) => {
                    let _ = write!(s, " ({w} wrong)");
                }
                (b, w) => {
                    let _ = write!(s, " ({b} blank, {w} wrong)");
                }
            }
            out.push(s);
        }
        out.join(", ")
    }
}

/// Characters as compared: whitespace dropped (engines space CJK differently), full-width
/// ASCII folded to half-width (「（」 and 「(」 are the same character on paper).
fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match u32::from(c) {
            code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Edit distance to the truth, the truth's length, and how many of its characters were found
/// (multiset intersection, whatever their order).
fn compare(truth: &str, got: &str) -> (usize, usize, usize) {
    let (t, g) = (normalise(truth), normalise(got));
    let mut left: HashMap<char, usize> = HashMap::new();
    for c in &g {
        *left.entry(*c).or_default() += 1;
    }
    let mut found = 0;
    for c in &t {
        if let Some(n) = left.get_mut(c)
            && *n > 0
        {
            *n -= 1;
            found += 1;
        }
    }
    (edit_distance(&t, &g), t.len(), found)
}

/// Decoding and checking every page of a scan or picture, as the worker does: (pages, seconds,
/// CPU-seconds).
fn check_pages(path: &Path, t: &Thresholds) -> Result<(u32, f64, f64)> {
    let bytes = std::fs::read(path)?;
    let budget = Budget::default();
    let is_pdf = bytes.starts_with(b"%PDF");
    let count =
        if is_pdf { yingjian_reader::text::pdf_layer(&bytes, budget.max_pages)?.len() as u32 } else { 0 };
    let (start, cpu) = (Instant::now(), self_cpu());
    let mut n = 0;
    if is_pdf {
        for i in 0..count {
            let page = pages::pdf_page(&bytes, i, &budget)?;
            quality::check_page(&page, i + 1, t);
            n += 1;
        }
    } else {
        for (i, page) in pages::picture_pages(&bytes, &budget)?.iter().enumerate() {
            quality::check_page(page, i as u32 + 1, t);
            n += 1;
        }
    }
    Ok((n, start.elapsed().as_secs_f64(), self_cpu() - cpu))
}

fn findings_text(reading: &Reading) -> String {
    let list: Vec<String> =
        reading.quality.iter().map(|f| format!("{:?} p{} ({:.2})", f.code, f.page, f.value)).collect();
    if list.is_empty() { "none".into() } else { list.join(", ") }
}

pub fn reading(scratch: &Path, t: &mut Table) -> Result<()> {
    corpus::require("soffice")?;
    corpus::require("pdftoppm")?;
    let seed = env_num("BENCH_READING_SEED", 1);
    let dir = match std::env::var_os("BENCH_READING_KEEP") {
        Some(keep) => PathBuf::from(keep),
        None => scratch.join("reading"),
    };
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let run_days = {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
        // The day of the run on this machine (UTC) and in China, where a scan's date would be set.
        [day_of(now, 0), day_of(now, 8)]
    };
    let mut details = Vec::new();

    // 1. The corpus read as the worker reads it.
    let docs = reading_corpus(seed, &dir)?;
    let labelled = labelled_set(seed, &dir)?;
    let made = started.elapsed();
    let thresholds = Thresholds::default();
    let ocr = OcrOnDemand::default();
    let mut readings: Vec<Option<Reading>> = Vec::new();
    let mut per_source: HashMap<Source, (Tally, f64, f64)> = HashMap::new();
    for doc in &docs {
        // As the worker reads it: the models loaded for the file, LibreOffice laying out a Word
        // file to count its pages (its CPU is not in the figure: another process).
        let job = ReadJob {
            blob: doc.path.clone(),
            quality: thresholds.clone(),
            models: None,
            soffice: Some(PathBuf::from("soffice")),
            office_limit: std::time::Duration::from_mins(2),
        };
        let job_dir = tempfile::tempdir_in(&dir)?;
        let (t0, c0) = (Instant::now(), self_cpu());
        let read = job.run(job_dir.path());
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), self_cpu() - c0);
        let entry = per_source.entry(doc.source).or_default();
        entry.1 += wall;
        entry.2 += cpu;
        match read {
            Ok(reading) => {
                entry.0.add(
                    &doc.name,
                    &pairs(&reading.fields, Pages::Counted(reading.pages), &doc.truth),
                    &mut details,
                );
                readings.push(Some(reading));
            }
            Err(e) => {
                details.push(format!("{} could not be read: {e}", doc.name));
                entry.0.add(
                    &doc.name,
                    &pairs(&Fields::default(), Pages::Counted(None), &doc.truth),
                    &mut details,
                );
                readings.push(None);
            }
        }
    }

    // 2. The same OCR pages through each engine.
    let pages = ocr_pages(&docs, &dir)?;
    let our_ocr = ours(&pages)?;
    let tess = tesseract(&pages)?;
    let rapid = rapidocr(&pages).unwrap_or_else(|e| {
        details.push(format!("RapidOCR did not run: {e}"));
        None
    });
    let anchor_fields = match &tess {
        Some(tess) => {
            let (per_source, _, misses) = tess.fields(&pages, &docs);
            details.extend(misses.into_iter().map(|m| format!("tesseract: {m}")));
            per_source
        }
        None => HashMap::new(),
    };

    for source in [Source::Layer, Source::Scan200, Source::Scan300, Source::Photo, Source::Word] {
        let Some((tally, wall, cpu)) = per_source.get(&source) else { continue };
        let anchor = anchor_fields.get(&source).map_or_else(|| "-".to_owned(), Tally::score);
        let (_, _, blank, wrong) = tally.total();
        t.row(
            &format!("fields, {} ({} docs)", source.label(), tally.docs),
            tally.score(),
            anchor,
            format!(
                "{}; blank {blank}, wrong {wrong}; {:.2} s, {:.2} CPU-s a document{}",
                tally.by_field(),
                wall / tally.docs.max(1) as f64,
                cpu / tally.docs.max(1) as f64,
                if source.ocr() {
                    "; anchor: tesseract's lines through the same rules, 页数 not counted"
                } else {
                    ""
                }
            ),
        );
    }
    let mut all = Tally::default();
    for (tally, _, _) in per_source.values() {
        for i in 0..6 {
            all.counted[i] += tally.counted[i];
            all.right[i] += tally.right[i];
            all.blank[i] += tally.blank[i];
            all.wrong[i] += tally.wrong[i];
        }
        all.docs += tally.docs;
    }
    let percent = |i: usize| 100.0 * all.right[i] as f64 / all.counted[i].max(1) as f64;
    t.row(
        &format!("fields, all {} documents", all.docs),
        all.score(),
        "-".into(),
        format!(
            "文号 {:.0}% (bar 90), 日期 {:.0}% (bar 90), 责任者 {:.0}% (bar 80), 页数 {:.0}% (bar 100); {}",
            percent(0),
            percent(2),
            percent(1),
            percent(4),
            all.by_field()
        ),
    );

    // 3. The labelled scans, read the same way.
    let mut labelled_readings = Vec::new();
    for l in &labelled {
        let reading = read_file(&l.path, Some(&ocr), &thresholds)
            .with_context(|| format!("reading the labelled scan {}", l.name))?;
        labelled_readings.push(reading);
    }
    let dates: Vec<&str> = readings
        .iter()
        .flatten()
        .chain(&labelled_readings)
        .filter_map(|r| r.fields.date.as_ref().map(|f| f.value.as_str()))
        .collect();
    let on_run_day = dates.iter().filter(|d| run_days.iter().any(|r| r == *d)).count();
    t.row(
        "日期 equal to the day of the run",
        on_run_day.to_string(),
        "0".into(),
        format!(
            "of {} dates found; the run's day {} (UTC), {} (China)",
            dates.len(),
            run_days[0],
            run_days[1]
        ),
    );

    let n = pages.len();
    let rate = |e: &Engine| e.pages.len() as f64 / e.wall();
    let anchor = tess.as_ref().map_or_else(|| "absent".to_owned(), |e| format!("{:.3}", rate(e)));
    let (load_wall, load_cpu) = our_ocr.load.unwrap_or_default();
    t.row(
        &format!("OCR, {n} pages (pages/s)"),
        format!("{:.3}", rate(&our_ocr)),
        anchor,
        format!(
            "{:.2} CPU-s/page against tesseract's {}; models loaded + a first page {load_wall:.1} s, {load_cpu:.1} CPU-s",
            our_ocr.cpu() / n.max(1) as f64,
            tess.as_ref().map_or_else(|| "-".into(), |e| format!("{:.2}", e.cpu() / n.max(1) as f64)),
        ),
    );
    let (our_acc, _, _) = our_ocr.accuracy(&pages);
    t.row(
        &format!("OCR character accuracy, {n} pages"),
        format!("{our_acc:.3}"),
        tess.as_ref().map_or_else(|| "absent".into(), |e| format!("{:.3}", e.accuracy(&pages).0)),
        format!(
            "ours: {}; tesseract: {}",
            our_ocr.summary(&pages),
            tess.as_ref().map_or_else(
                || "not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)".into(),
                |e| format!("{}; {}", e.version, e.summary(&pages))
            )
        ),
    );
    match &rapid {
        Some(r) => {
            let (_, fields, misses) = r.fields(&pages, &docs);
            details.extend(misses.into_iter().map(|m| format!("RapidOCR: {m}")));
            let (_, ours, _) = our_ocr.fields(&pages, &docs);
            let (load_wall, load_cpu) = r.load.unwrap_or_default();
            t.row(
                "the same pages through RapidOCR (pages/s)",
                format!("{:.3}", rate(&our_ocr)),
                format!("{:.3}", rate(r)),
                format!(
                    "{}; {}; fields by the same rules {} (ours {}, 页数 not counted); loaded + a first page {load_wall:.1} s, {load_cpu:.1} CPU-s",
                    r.version,
                    r.summary(&pages),
                    fields.score(),
                    ours.score(),
                ),
            );
        }
        None => t.row(
            "the same pages through RapidOCR",
            "-".into(),
            "absent".into(),
            "not on this machine (pip install rapidocr-onnxruntime==1.4.4 onnxruntime)".into(),
        ),
    }
    for (i, page) in pages.iter().enumerate() {
        let acc = |e: &Engine| {
            let text: String = e.pages[i].0.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join("\n");
            let (d, l, _) = compare(&page.truth, &text);
            format!("{:.3}", 1.0 - d as f64 / l.max(1) as f64)
        };
        details.push(format!(
            "page {} p{}: accuracy ours {}, tesseract {}, RapidOCR {}; {:.1} / {} / {} CPU-s",
            docs[page.doc].name,
            page.page,
            acc(&our_ocr),
            tess.as_ref().map_or_else(|| "-".into(), acc),
            rapid.as_ref().map_or_else(|| "-".into(), acc),
            our_ocr.pages[i].2,
            tess.as_ref().map_or_else(|| "-".into(), |e| format!("{:.1}", e.pages[i].2)),
            rapid.as_ref().map_or_else(|| "-".into(), |e| format!("{:.1}", e.pages[i].2)),
        ));
    }

    // 4. Scan checks: speed over every scanned page and picture, agreement with the labels.
    let (mut checked, mut check_wall, mut check_cpu) = (0, 0.0, 0.0);
    let scanned =
        docs.iter().filter(|d| d.source.ocr()).map(|d| &d.path).chain(labelled.iter().map(|l| &l.path));
    for path in scanned {
        let (n, wall, cpu) = check_pages(path, &thresholds)?;
        checked += n;
        check_wall += wall;
        check_cpu += cpu;
    }
    t.row(
        &format!("scan checks, {checked} pages (pages/s)"),
        format!("{:.2}", f64::from(checked) / check_wall),
        "-".into(),
        format!(
            "{:.2} CPU-s a page: each page decoded or rendered at 200 dpi, then measured",
            check_cpu / f64::from(checked)
        ),
    );
    let (mut bad, mut bad_flagged, mut clean, mut clean_flagged) = (0, 0, 0, 0);
    for (l, reading) in labelled.iter().zip(&labelled_readings) {
        for page in 1..=l.pages {
            let wanted: Vec<Code> = l.expected.iter().filter(|(_, p)| *p == page).map(|(c, _)| *c).collect();
            let got: Vec<Code> = reading.quality.iter().filter(|f| f.page == page).map(|f| f.code).collect();
            if wanted.is_empty() {
                clean += 1;
                clean_flagged += usize::from(!got.is_empty());
            } else {
                bad += 1;
                bad_flagged += usize::from(wanted.iter().all(|c| got.contains(c)));
            }
        }
        details.push(format!("labelled {}: want {:?}, found {}", l.name, l.expected, findings_text(reading)));
    }
    // The corpus's scans are clean pages too (skew within ±1.5°, light noise), but for colour_lost
    // on the grey or black-and-white ones; a photo's estimated resolution is its own matter.
    for (doc, reading) in docs.iter().zip(&readings) {
        let Some(reading) = reading else { continue };
        if matches!(doc.source, Source::Scan200 | Source::Scan300) {
            for page in 1..=doc.truth.pages {
                let unexpected = reading.quality.iter().any(|f| f.page == page && f.code != Code::ColourLost);
                clean += 1;
                clean_flagged += usize::from(unexpected);
            }
        }
        if doc.source.ocr() {
            details.push(format!("corpus {}: findings {}", doc.name, findings_text(reading)));
        }
    }
    t.row(
        "scan checks against labels (bad pages flagged)",
        format!("{bad_flagged}/{bad}"),
        "-".into(),
        format!(
            "clean pages flagged: {clean_flagged} of {clean} (the labelled set's and the corpus's scans); bar: every bad page with its code, no clean page"
        ),
    );

    // 5. Near-duplicates: every pair of documents read.
    let signed: Vec<(String, usize, &Reading)> = docs
        .iter()
        .zip(&readings)
        .filter_map(|(d, r)| r.as_ref().map(|r| (d.name.clone(), d.paper, r)))
        .chain(labelled.iter().zip(&labelled_readings).map(|(l, r)| (l.name.to_owned(), l.paper, r)))
        .collect();
    let (mut same, mut same_grouped, mut different, mut different_grouped) = (0, 0, 0, 0);
    let (mut lowest_same, mut highest_different) = (f32::MAX, (0.0f32, String::new()));
    for (i, a) in signed.iter().enumerate() {
        for b in &signed[i + 1..] {
            let s = similar::similarity(&a.2.signature, &b.2.signature);
            let grouped = s >= similar::SAME_PAPER;
            if a.1 == b.1 {
                same += 1;
                same_grouped += usize::from(grouped);
                lowest_same = lowest_same.min(s);
                details.push(format!("same paper: {} ~ {}: similarity {s:.2}", a.0, b.0));
            } else {
                different += 1;
                different_grouped += usize::from(grouped);
                if s > highest_different.0 {
                    highest_different = (s, format!("{} ~ {}", a.0, b.0));
                }
            }
        }
    }
    t.row(
        "near-duplicates: rescans grouped",
        format!("{same_grouped}/{same}"),
        "-".into(),
        format!(
            "similarity {lowest_same:.2} (bar {:.2}); different papers grouped: {different_grouped} of {different} pairs, highest {:.2} ({})",
            similar::SAME_PAPER,
            highest_different.0,
            highest_different.1
        ),
    );

    println!();
    println!(
        "Reading corpus (seed {seed}): {} documents + {} labelled scans made in {:.0} s; the whole mode {:.0} s. Details:",
        docs.len(),
        labelled.len(),
        made.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    for line in details {
        println!("  {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day_of(0, 0), "1970-01-01");
        assert_eq!(day_of(951_782_400, 0), "2000-02-29");
        // 2021-03-04 20:00 UTC is already 2021-03-05 in China.
        assert_eq!(day_of(1_614_888_000, 0), "2021-03-04");
        assert_eq!(day_of(1_614_888_000, 8), "2021-03-05");
    }

    #[test]
    fn comparison_ignores_spacing_and_width() {
        assert_eq!(compare("平市监〔2021〕12号", "平 市 监 〔2021〕 12 号"), (0, 12, 12));
        assert_eq!(compare("各县（市、区）", "各县(市、区)"), (0, 7, 7));
        let (d, l, f) = compare("关于开展", "开展关于");
        assert_eq!((l, f), (4, 4), "every character found");
        assert_eq!(d, 4, "but out of order");
    }

    #[test]
    fn blank_and_wrong_are_told_apart() {
        let truth = Truth {
            doc_number: None,
            issuer: "平顶山市商务局".into(),
            date: "2021-03-05".into(),
            title: "关于开展质量月活动的通知".into(),
            classification: None,
            pages: 2,
        };
        let field = |v: &str| Some(fields::Field { value: v.into(), confidence: 0.9 });
        let found = Fields {
            doc_number: field("平商务〔2021〕3号"),
            issuer: None,
            date: field("2021-03-05"),
            title: field("关于开展质量月活动的通知"),
            classification: None,
        };
        let (mut tally, mut misses) = (Tally::default(), Vec::new());
        tally.add("x", &pairs(&found, Pages::Counted(Some(2)), &truth), &mut misses);
        assert_eq!(tally.total(), (4, 6, 1, 1), "{misses:?}");
        assert_eq!(
            tally.by_field(),
            "文号 0/1 (1 wrong), 责任者 0/1 (1 blank), 日期 1/1, 题名 1/1, 页数 1/1, 密级 1/1"
        );
    }
}
