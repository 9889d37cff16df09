//! OCR of a rendered test notice: reading order, turned lines, blank and odd pages, the red
//! channel; a time and memory probe.

use std::sync::OnceLock;
use std::time::Instant;

use image::{Rgb, RgbImage};

use super::*;

/// The test page (see `fixtures/make_page.sh`): an A4 notice at 200 dpi with a red header and a
/// red seal multiplied over the date.
const NOTICE: &[u8] = include_bytes!("fixtures/notice.jpg");

const HEADER: &str = "平顶山市市场监督管理局文件";
const DOC_NUMBER: &str = "平市监〔2021〕12号";
const TITLE: &str = "关于开展食品安全专项检查的通知";
const BODY: [&str; 2] =
    ["各县（市、区）市场监督管理局：", "为切实做好食品安全监管工作，现将有关事项通知如下。"];
const ISSUER: &str = "平顶山市市场监督管理局";
const DATE: &str = "2021年3月5日";

fn ocr() -> &'static Ocr {
    static OCR: OnceLock<Ocr> = OnceLock::new();
    OCR.get_or_init(|| Ocr::load(None).expect("the embedded models load"))
}

fn notice() -> RgbImage {
    image::load_from_memory(NOTICE).expect("the fixture decodes").to_rgb8()
}

/// Edit distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// 1 − edit distance ÷ expected length.
fn accuracy(expected: &str, got: &str) -> f64 {
    1.0 - distance(expected, got) as f64 / expected.chars().count() as f64
}

/// The index of the read line closest to `expected`, and its accuracy.
fn best_match(lines: &[OcrLine], expected: &str) -> (usize, f64) {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i, accuracy(expected, &l.text)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("some lines")
}

#[test]
fn reads_the_notice_in_reading_order() {
    let page = notice();
    let ocr = ocr();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let lines = ocr.read(&page).expect("the page is read");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    for line in &lines {
        eprintln!("{:.3} {:?} {}", line.confidence, line.bbox, line.text);
    }
    // CPU time counts every test thread of this process; run alone for a clean figure.
    eprintln!(
        "OCR of a {}×{} page: {seconds:.2} s, {cpu:.2} CPU-s (models optimised for its shapes on the way)",
        page.width(),
        page.height()
    );

    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&DOC_NUMBER), "文号 read exactly: {texts:?}");
    assert!(texts.contains(&DATE), "date under the seal read exactly: {texts:?}");

    let expected = [HEADER, DOC_NUMBER, TITLE, BODY[0], BODY[1], ISSUER, DATE];
    let mut total_chars = 0;
    let mut total_errors = 0;
    let mut previous = None;
    for want in expected {
        let (at, acc) = best_match(&lines, want);
        eprintln!("{acc:.3} {want} → {}", lines[at].text);
        total_chars += want.chars().count();
        total_errors += distance(want, &lines[at].text);
        assert!(acc >= 0.85, "{want:?} read as {:?}", lines[at].text);
        assert!(previous < Some(at), "{want:?} out of reading order: {texts:?}");
        previous = Some(at);
    }
    for body in BODY {
        let (at, acc) = best_match(&lines, body);
        assert!(acc >= 0.9, "body {body:?} read as {:?}", lines[at].text);
    }
    eprintln!(
        "character accuracy {:.4} ({total_errors} errors in {total_chars} characters)",
        1.0 - total_errors as f64 / total_chars as f64
    );
    // Boxes are in page pixels: the 文号 sits in the top quarter, centred.
    let number = &lines[best_match(&lines, DOC_NUMBER).0];
    let [x0, y0, x1, y1] = number.bbox;
    assert!(y0 > 450.0 && y1 < 620.0 && x0 > 500.0 && x1 < 1150.0, "{:?}", number.bbox);
}

#[test]
fn upside_down_lines_are_turned_over() {
    let strip = image::imageops::crop_imm(&notice(), 0, 450, 1654, 350).to_image();
    let lines = ocr().read(&image::imageops::rotate180(&strip)).expect("read");
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(texts.contains(&DOC_NUMBER), "{texts:?}");
    assert!(texts.contains(&TITLE), "{texts:?}");
}

#[test]
fn a_blank_page_has_no_lines() {
    let page = RgbImage::from_pixel(1654, 2339, Rgb([255, 255, 255]));
    assert!(ocr().read(&page).expect("read").is_empty());
}

#[test]
fn odd_pages_do_not_panic() {
    let mut noise = RgbImage::new(300, 200);
    let mut state = 0x2545_f491_u32;
    for p in noise.pixels_mut() {
        // xorshift: reproducible noise without a dependency.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        *p = Rgb([a, b, c]);
    }
    let pages = [
        RgbImage::new(0, 0),
        RgbImage::new(1, 1),
        RgbImage::from_pixel(5000, 3, Rgb([0, 0, 0])),
        RgbImage::from_pixel(2, 4000, Rgb([255, 255, 255])),
        noise,
    ];
    for page in &pages {
        let lines = ocr().read(page).expect("read");
        eprintln!("{}×{}: {} lines", page.width(), page.height(), lines.len());
    }
    let huge = RgbImage::new(20_000, 10_000);
    assert!(matches!(ocr().read(&huge), Err(ReadError::TooLarge(_))));
}

#[test]
fn the_red_channel_fades_red_ink_and_keeps_black() {
    let mut page = RgbImage::from_pixel(3, 1, Rgb([255, 255, 255]));
    page.put_pixel(0, 0, Rgb([217, 36, 28]));
    page.put_pixel(1, 0, Rgb([20, 20, 20]));
    assert_eq!(red_channel(&page).as_raw(), &vec![217, 20, 255]);
}

#[test]
fn reading_order_is_by_line_then_left_to_right() {
    let quad = |x: f32, y: f32| [[x, y], [x + 50.0, y], [x + 50.0, y + 20.0], [x, y + 20.0]];
    let sorted = reading_order(
        vec![quad(300.0, 100.0), quad(10.0, 200.0), quad(10.0, 104.0), quad(500.0, 96.0)],
        1000,
    );
    let tops: Vec<[f32; 2]> = sorted.iter().map(|q| q[0]).collect();
    assert_eq!(tops, [[10.0, 104.0], [300.0, 100.0], [500.0, 96.0], [10.0, 200.0]]);
}

/// CPU seconds this process has used (user + system), from /proc; 0 elsewhere. Wall-clock time
/// means little on a shared machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11..13].iter().filter_map(|f| f.parse::<f64>().ok()).sum();
    ticks / 100.0
}

#[test]
#[ignore = "a timing and memory probe; run with --ignored --nocapture"]
fn probe_time_and_memory() {
    let page = notice();
    let started = cpu_seconds();
    let ocr = Ocr::load(None).expect("load");
    eprintln!("load: {:.2} CPU-s", cpu_seconds() - started);
    for max_side in [DEFAULT_MAX_SIDE, 1600, 1280] {
        let ocr = Ocr { max_side, ..Ocr::load(None).expect("load") };
        let started = cpu_seconds();
        let lines = ocr.read(&page).expect("first read");
        let first = cpu_seconds() - started;
        let runs = 2;
        let started = cpu_seconds();
        for _ in 0..runs {
            ocr.read(&page).expect("read");
        }
        let warm = (cpu_seconds() - started) / f64::from(runs);
        let got: String = lines.iter().map(|l| l.text.as_str()).collect();
        let want = [HEADER, DOC_NUMBER, TITLE, BODY[0], BODY[1], ISSUER, DATE].concat();
        eprintln!(
            "max side {max_side}: first page {first:.2} CPU-s (plans built), then {warm:.2} CPU-s a page, accuracy {:.4}",
            accuracy(&want, &got)
        );
    }
    let square = image::imageops::resize(&page, 2000, 2000, image::imageops::FilterType::Triangle);
    let started = cpu_seconds();
    let lines = ocr.read(&square).expect("read");
    eprintln!("2000×2000: {} lines, {:.2} CPU-s", lines.len(), cpu_seconds() - started);
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
            eprintln!("{line}");
        }
    }
}

#[test]
fn a_seal_ring_over_a_stroke_is_bridged_and_red_ink_elsewhere_stays() {
    // A black line crossing a 5-pixel red ring, and a red stroke with paper on both sides.
    let mut page = RgbImage::from_pixel(400, 400, Rgb([255, 255, 255]));
    for x in 10..60 {
        page.put_pixel(x, 10, Rgb([10, 10, 10]));
    }
    for y in 0..40 {
        for x in 30..35 {
            page.put_pixel(x, y, Rgb([228, 0, 14]));
        }
    }
    for x in 100..105 {
        page.put_pixel(x, 100, Rgb([228, 0, 14]));
    }
    let gray = red_channel(&page);
    assert!((30..35).all(|x| gray.get_pixel(x, 10).0[0] == 10), "the stroke goes on under the ring");
    assert_eq!(gray.get_pixel(32, 20).0[0], 228, "the ring over paper stays pale");
    assert_eq!(gray.get_pixel(102, 100).0[0], 228, "a red stroke between paper stays as it is");
}
