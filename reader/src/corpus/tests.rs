//! The corpus generated and read back: text PDFs and Word files to their truth (also misread as
//! OCR would), scans and photos without a text layer.

use std::time::Instant;

use lopdf::Document;

use super::spec::{chinese, issuer};
use super::*;
use crate::{fields, text};

fn tools() {
    require("soffice").expect("soffice");
    require("pdftoppm").expect("pdftoppm");
}

/// Field by field, how many of the truths the reader matched.
#[derive(Default, Debug)]
struct Score {
    docs: usize,
    doc_number: usize,
    issuer: usize,
    date: usize,
    title: usize,
    classification: usize,
    misses: Vec<String>,
}

impl Score {
    fn add(&mut self, name: &str, found: &fields::Fields, truth: &Truth) {
        self.docs += 1;
        let v = |f: &Option<fields::Field>| f.as_ref().map(|f| f.value.clone());
        let date_truth = Some(truth.date.clone());
        for (label, got, want, count) in [
            ("文号", v(&found.doc_number), truth.doc_number.clone(), &mut self.doc_number),
            ("责任者", v(&found.issuer), Some(truth.issuer.clone()), &mut self.issuer),
            ("日期", v(&found.date), date_truth, &mut self.date),
            ("题名", v(&found.title), Some(truth.title.clone()), &mut self.title),
            ("密级", v(&found.classification), truth.classification.clone(), &mut self.classification),
        ] {
            if got == want {
                *count += 1;
            } else {
                self.misses.push(format!("{name} {label}: got {got:?}, want {want:?}"));
            }
        }
    }

    fn report(&self) -> String {
        format!(
            "{} documents: 文号 {}/{n}, 责任者 {}/{n}, 日期 {}/{n}, 题名 {}/{n}, 密级 {}/{n}\n{}",
            self.docs,
            self.doc_number,
            self.issuer,
            self.date,
            self.title,
            self.classification,
            self.misses.join("\n"),
            n = self.docs
        )
    }
}

/// `YINGJIAN_CORPUS_DIR=/tmp/c cargo test -p yingjian-reader --features corpus -- --ignored
/// city_set_to_look_at`: writes a city set where it can be looked at, with its truths.
#[test]
#[ignore = "writes files for a person to look at"]
fn city_set_to_look_at() {
    tools();
    let dir =
        PathBuf::from(std::env::var("YINGJIAN_CORPUS_DIR").unwrap_or_else(|_| "/tmp/yingjian-corpus".into()));
    let start = Instant::now();
    let set = city_set(1, &dir).expect("city set");
    println!("{} documents in {:?}", set.len(), start.elapsed());
    for (path, truth, made) in set {
        println!("{} {made:?} {truth:?}", path.display());
    }
}

#[test]
fn specs_vary_and_repeat() {
    let a = Spec::random(7);
    let b = Spec::random(7);
    assert_eq!(a.fodt(), b.fodt());
    let kinds: std::collections::HashSet<_> =
        (0..40).map(|s| format!("{:?}", Spec::random(s).kind)).collect();
    assert_eq!(kinds.len(), 2);
    assert!((0..40).any(|s| Spec::random(s).issuers.len() == 2));
    assert!((0..40).any(|s| Spec::random(s).classification.is_some()));
    assert!((0..40).any(|s| Spec::random(s).chinese_date));
    assert_eq!(chinese(5), "五");
    assert_eq!(chinese(12), "十二");
    assert_eq!(chinese(28), "二十八");
    assert_eq!(chinese(30), "三十");
}

#[test]
fn generated_text_pdfs_read_back_to_their_truth() {
    tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut specs: Vec<Spec> = (0..24).map(Spec::random).collect();
    specs.extend(hard_cases());
    let made = text_pdfs(&specs, dir.path()).expect("text PDFs");
    let (mut score, mut misread) = (Score::default(), Score::default());
    let mut rng = Rng::new(42);
    for (path, truth) in &made {
        let bytes = std::fs::read(path).expect("read");
        let pages = text::pdf_layer(&bytes, 50).expect("layer");
        assert_eq!(pages.len(), truth.pages as usize);
        assert!(pages.iter().all(Option::is_some), "{}: every page has a layer", path.display());
        let lines: Vec<fields::Line> = pages.into_iter().flatten().flatten().collect();
        let name = path.display().to_string();
        score.add(&name, &fields::extract(&lines), truth);
        let ocr: Vec<fields::Line> = lines.iter().map(|l| misread_like_ocr(l, &mut rng)).collect();
        misread.add(&name, &fields::extract(&ocr), truth);
    }
    let report = score.report();
    println!("text PDFs: {report}");
    println!("the same lines misread as OCR would: {}", misread.report());
    assert!(score.misses.is_empty(), "{report}");
    assert!(misread.misses.is_empty(), "{}", misread.report());
}

/// The variations most likely to trip the rules, each made sure of.
fn hard_cases() -> Vec<Spec> {
    let mut wrapped = Spec::random(1);
    wrapped.kind = Kind::Notice;
    wrapped.issuers = vec![issuer(2)]; // 平顶山市人力资源和社会保障局: wraps at 36 pt
    wrapped.header_size = 36.0;
    wrapped.title = "关于做好2021年度职称评审工作的通知".to_owned();
    wrapped.chinese_date = true;
    wrapped.date = (2021, 12, 28);
    wrapped.classification = Some("秘密★1年".to_owned());
    wrapped.seal = true;
    let mut joint = wrapped.clone();
    joint.issuers = vec![issuer(6), issuer(2)];
    joint.header_size = 0.0;
    joint.chinese_date = false;
    joint.classification = None;
    let mut report = Spec::random(2);
    report.kind = Kind::Report;
    report.issuers = vec![issuer(1)];
    report.title = "平顶山市商务局2021年度质量工作自评报告".to_owned();
    report.date = (2022, 1, 12);
    report.dated_heading = true;
    report.classification = None;
    report.print_block = false;
    vec![wrapped, joint, report]
}

/// A line as OCR might read it: 〔〕 as other brackets or lost, 〇 as O or 0, ★ as * or
/// lost, spaces between characters, confidence below 1.
fn misread_like_ocr(line: &fields::Line, rng: &mut Rng) -> fields::Line {
    let brackets =
        [("【", "】"), ("[", "]"), ("(", ")"), ("［", "］"), ("（", "）"), ("「", "」"), ("〔", "")];
    let (open, close) = *rng.pick(&brackets);
    let mut text = line.text.replace('〔', open).replace('〕', close);
    let zero = *rng.pick(&["O", "0", "○", "〇"]);
    text = text.replace('〇', zero);
    let star = *rng.pick(&["*", "", "★"]);
    text = text.replace('★', star);
    if rng.chance(15) {
        let mut spaced = String::new();
        for c in text.chars() {
            spaced.push(c);
            spaced.push(' ');
        }
        text = spaced.trim_end().to_owned();
    }
    fields::Line { text, page: line.page, confidence: rng.float(0.7, 0.99) }
}

#[test]
fn generated_word_files_read_back_to_their_truth() {
    tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut score = Score::default();
    for seed in [3, 11, 19, 101] {
        let spec = Spec::random(seed);
        let (path, truth) = docx(&spec, dir.path()).expect("docx");
        let bytes = std::fs::read(&path).expect("read");
        let lines = text::office(&bytes, "docx").expect("docx text");
        score.add(&path.display().to_string(), &fields::extract(&lines), &truth);
    }
    let report = score.report();
    println!("Word files: {report}");
    assert!(score.misses.is_empty(), "{report}");
}

#[test]
fn scans_and_pictures_have_no_text_layer() {
    tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = Spec::random(5);
    let (pdf, truth) = scanned_pdf(&spec, dir.path(), 100, &Degrade::random(5)).expect("scan");
    let bytes = std::fs::read(&pdf).expect("read");
    let pages = text::pdf_layer(&bytes, 50).expect("layer");
    assert_eq!(pages.len(), truth.pages as usize);
    assert!(pages.iter().all(Option::is_none), "a scan has no usable text layer");
    let doc = Document::load_mem(&bytes).expect("PDF");
    let first = doc.get_pages()[&1];
    let images = doc.get_page_images(first).expect("images");
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].width, 827, "A4 at 100 dpi");

    let (photo, truth) = picture(&spec, dir.path(), 9).expect("picture");
    assert_eq!(truth.pages, 1);
    let img = image::open(&photo).expect("a JPEG");
    assert!(img.width() > 800);
}
