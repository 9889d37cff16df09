//! Every kind of bad page made in code from the text fixture, each flagged with its code and page
//! number, and clean pages (200/300 dpi, grey, bilevel, colour, slightly skewed) not flagged.

use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center};

use super::*;
use crate::pages::ColourMode;
use crate::pages::tests::{a4, colophon_page, page_image, red_header_page, rgb, text_page};

/// The page turned counter-clockwise (as seen) by `degrees`.
fn turned(page: &GrayImage, degrees: f32) -> GrayImage {
    rotate_about_center(page, -degrees.to_radians(), Interpolation::Bilinear, Border::Constant(Luma([255])))
}

fn grey_page(g: &GrayImage, dpi: f32) -> PageImage {
    page_image(rgb(g), dpi, Some(dpi), ColourMode::Grey)
}

fn codes(findings: &[Finding]) -> Vec<Code> {
    findings.iter().map(|f| f.code).collect()
}

#[test]
fn bad_pages_are_flagged_and_clean_pages_are_not() {
    let t = Thresholds::default();
    let clean200 = text_page(200.0);
    let clean300 = text_page(300.0);
    let mut bilevel = clean200.clone();
    bilevel.pixels_mut().for_each(|p| p.0[0] = if p.0[0] < 128 { 0 } else { 255 });
    let (w, h) = a4(150.0);
    let upscaled_150 = image::imageops::resize(
        &image::imageops::resize(&clean200, w, h, image::imageops::FilterType::Triangle),
        clean200.width(),
        clean200.height(),
        image::imageops::FilterType::CatmullRom,
    );
    let mut dark = clean200.clone();
    dark.pixels_mut().for_each(|p| p.0[0] = (f32::from(p.0[0]) * 0.38) as u8);
    let mut grey_paper = clean200.clone();
    grey_paper.pixels_mut().for_each(|p| p.0[0] = (f32::from(p.0[0]) * 0.8) as u8);

    let cases: Vec<(&str, PageImage, Vec<Code>)> = vec![
        ("clean 200 dpi", grey_page(&clean200, 200.0), vec![]),
        ("clean 300 dpi", grey_page(&clean300, 300.0), vec![]),
        ("clean bilevel", page_image(rgb(&bilevel), 200.0, Some(200.0), ColourMode::Bilevel), vec![]),
        (
            "clean colour red header",
            page_image(red_header_page(200.0), 200.0, Some(200.0), ColourMode::Colour),
            vec![],
        ),
        ("版记 only", grey_page(&colophon_page(200.0), 200.0), vec![]),
        ("turned +0.8°", grey_page(&turned(&clean200, 0.8), 200.0), vec![]),
        ("turned −1.5°", grey_page(&turned(&clean200, -1.5), 200.0), vec![]),
        ("grey paper (bg 204)", grey_page(&grey_paper, 200.0), vec![]),
        (
            "150 dpi blown up to 200",
            page_image(rgb(&upscaled_150), 200.0, Some(200.0), ColourMode::Grey),
            vec![],
        ),
        ("vector page (no source dpi)", page_image(rgb(&clean200), 200.0, None, ColourMode::Grey), vec![]),
        ("100 dpi", grey_page(&text_page(100.0), 100.0), vec![Code::LowResolution]),
        ("blank", grey_page(&GrayImage::from_pixel(1654, 2339, Luma([250])), 200.0), vec![Code::BlankPage]),
        ("turned +4°", grey_page(&turned(&clean200, 4.0), 200.0), vec![Code::Skewed]),
        ("turned −2.5°", grey_page(&turned(&clean200, -2.5), 200.0), vec![Code::Skewed]),
        ("blurred σ 1", grey_page(&imageproc::filter::gaussian_blur_f32(&clean200, 1.0), 200.0), vec![]),
        (
            "blurred σ 2",
            grey_page(&imageproc::filter::gaussian_blur_f32(&clean200, 2.0), 200.0),
            vec![Code::Blurred],
        ),
        (
            "blurred σ 3",
            grey_page(&imageproc::filter::gaussian_blur_f32(&clean200, 3.0), 200.0),
            vec![Code::Blurred],
        ),
        (
            "blurred σ 4.5 at 300 dpi",
            grey_page(&imageproc::filter::gaussian_blur_f32(&clean300, 4.5), 300.0),
            vec![Code::Blurred],
        ),
        ("dark", grey_page(&dark, 200.0), vec![Code::TooDark]),
    ];
    let mut failures = Vec::new();
    for (index, (name, page, expected)) in cases.iter().enumerate() {
        let number = index as u32 + 1;
        let m = measure(page);
        let findings = check_page(page, number, &t);
        println!(
            "{number:2} {name:28} ink {:6.3} %  background {:5.1}  skew {:>6}  sharpness {:>7}  → {:?}",
            m.ink_percent,
            m.background,
            m.skew_degrees.map_or("-".into(), |s| format!("{s:+.2}")),
            m.sharpness.map_or("-".into(), |s| format!("{s:.0}")),
            codes(&findings)
        );
        if codes(&findings) != *expected || findings.iter().any(|f| f.page != number) {
            failures.push(format!("{name}: expected {expected:?}, got {findings:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn skew_is_measured_to_a_tenth_of_a_degree_with_its_sign() {
    // At 100 dpi, the scale the skew is measured at (rotating in a debug build is slow).
    let page = text_page(100.0);
    for truth in [0.0f32, 0.8, -0.8, 2.5, -2.5, 4.0, -5.5] {
        let m = measure(&grey_page(&turned(&page, truth), 100.0));
        let got = m.skew_degrees.expect("text page");
        println!("true {truth:+.1}° measured {got:+.2}°");
        assert!((got - truth).abs() <= 0.1, "true {truth} measured {got}");
    }
}

#[test]
fn red_share_tells_red_headers_from_black_text() {
    let red = red_share(&red_header_page(200.0));
    let black = red_share(&rgb(&text_page(200.0)));
    println!("red share: red header {:.2} %, black text {:.2} %", red * 100.0, black * 100.0);
    assert!(red > 0.01 && red < 0.05, "{red}");
    assert!(black < 0.000_1, "{black}");
}

#[test]
fn thresholds_deserialize_with_defaults() {
    let t: Thresholds = serde_json::from_str(r#"{"max_skew_degrees": 3.0}"#).expect("json");
    assert!((t.max_skew_degrees - 3.0).abs() < f32::EPSILON);
    assert!((t.min_dpi - 200.0).abs() < f32::EPSILON);
    let f = Finding { code: Code::LowResolution, page: 2, value: 100.0 };
    assert_eq!(
        serde_json::to_string(&f).expect("json"),
        r#"{"code":"low_resolution","page":2,"value":100.0}"#
    );
}

#[test]
fn tiny_and_odd_images_do_not_panic() {
    let t = Thresholds::default();
    for (w, h) in [(1, 1), (3, 2000), (2000, 3), (70, 70)] {
        let page = page_image(
            RgbImage::from_pixel(w, h, image::Rgb([0, 0, 0])),
            200.0,
            Some(200.0),
            ColourMode::Grey,
        );
        let _ = check_page(&page, 1, &t);
        let page = page_image(
            RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255])),
            f32::NAN,
            None,
            ColourMode::Grey,
        );
        let _ = check_page(&page, 1, &t);
    }
}

#[test]
fn pages_per_second_of_the_whole_check() {
    let page = grey_page(&text_page(200.0), 200.0);
    let t = Thresholds::default();
    let started = std::time::Instant::now();
    let rounds = 3;
    for _ in 0..rounds {
        assert!(check_page(&page, 1, &t).is_empty());
    }
    let each = started.elapsed().as_secs_f32() / rounds as f32;
    println!("check_page of a 200-dpi A4 page: {:.0} ms, {:.1} pages/s", each * 1000.0, 1.0 / each);
}
