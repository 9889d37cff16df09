//! Test pages made in code (A4 text pages from a committed strip of real glyphs, red headers,
//! encoded files of every kind, hostile headers) and the decoding tests. The page makers are
//! shared with the quality checks' tests.

use std::io::Cursor;

use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::{GrayImage, ImageEncoder, Luma, Rgb, RgbImage};
use imageproc::rect::Rect;

use super::*;

/// Eight lines of 3号 Noto Serif CJK at 200 dpi (1228×672), rendered once by ImageMagick.
const STRIP: &[u8] = include_bytes!("../../testdata/text_strip_200dpi.png");
/// The same strip as a 1-bit CCITT G4 TIFF at 200 dpi (min-is-white), by ImageMagick.
const STRIP_G4: &[u8] = include_bytes!("../../testdata/text_strip_g4.tif");

pub(crate) fn strip(dpi: f32) -> GrayImage {
    let s = image::load_from_memory(STRIP).expect("fixture").into_luma8();
    if (dpi - 200.0).abs() < 0.5 {
        return s;
    }
    let (w, h) =
        ((s.width() as f32 * dpi / 200.0).round() as u32, (s.height() as f32 * dpi / 200.0).round() as u32);
    image::imageops::resize(&s, w, h, image::imageops::FilterType::CatmullRom)
}

pub(crate) fn a4(dpi: f32) -> (u32, u32) {
    ((8.27 * dpi).round() as u32, (11.69 * dpi).round() as u32)
}

/// A white A4 page at `dpi` with three copies of the strip (24 lines of text).
pub(crate) fn text_page(dpi: f32) -> GrayImage {
    let (width, height) = a4(dpi);
    let mut page = GrayImage::from_pixel(width, height, Luma([255]));
    let text = strip(dpi);
    let left = i64::from((width - text.width()) / 2);
    for k in 0..3 {
        let top = (1.0 * dpi + k as f32 * (text.height() as f32 + 0.1 * dpi)) as i64;
        image::imageops::replace(&mut page, &text, left, top);
    }
    page
}

/// A page with only the 版记: two lines of text near the bottom.
pub(crate) fn colophon_page(dpi: f32) -> GrayImage {
    let (w, h) = a4(dpi);
    let mut page = GrayImage::from_pixel(w, h, Luma([255]));
    let s = strip(dpi);
    let two_lines = image::imageops::crop_imm(&s, 0, 0, s.width(), (s.height() / 4).max(1)).to_image();
    image::imageops::replace(
        &mut page,
        &two_lines,
        i64::from((w - s.width()) / 2),
        i64::from(h) - (2.0 * dpi) as i64,
    );
    page
}

pub(crate) fn rgb(grey: &GrayImage) -> RgbImage {
    DynamicImage::ImageLuma8(grey.clone()).to_rgb8()
}

/// The text page with a red header (ten stroked “characters” and the red rule) and a red seal.
pub(crate) fn red_header_page(dpi: f32) -> RgbImage {
    let mut page = rgb(&text_page(dpi));
    let red = Rgb([205, 35, 40]);
    let px = |inches: f32| (inches * dpi).round() as i32;
    let stroke = px(0.06) as u32;
    let side = px(0.55);
    let left = (page.width() as i32 - 10 * px(0.62)) / 2;
    for k in 0..10 {
        let (x, y) = (left + k * px(0.62), px(0.25));
        for bar in 0..3 {
            imageproc::drawing::draw_filled_rect_mut(
                &mut page,
                Rect::at(x, y + bar * (side / 2 - 3)).of_size(side as u32, stroke),
                red,
            );
        }
        for bar in 0..2 {
            imageproc::drawing::draw_filled_rect_mut(
                &mut page,
                Rect::at(x + bar * (side - stroke as i32), y).of_size(stroke, side as u32),
                red,
            );
        }
    }
    imageproc::drawing::draw_filled_rect_mut(
        &mut page,
        Rect::at(px(1.0), px(0.92)).of_size(px(6.27) as u32, px(0.03) as u32),
        red,
    );
    let centre = (page.width() as i32 - px(2.0), page.height() as i32 - px(1.6));
    for r in 0..px(0.04) {
        imageproc::drawing::draw_hollow_circle_mut(&mut page, centre, px(0.8) - r, red);
    }
    page
}

pub(crate) fn page_image(image: RgbImage, dpi: f32, source_dpi: Option<f32>, mode: ColourMode) -> PageImage {
    PageImage { image, dpi, source_dpi, mode }
}

fn jpeg(image: &RgbImage, density: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(d) = density {
        encoder.set_pixel_density(PixelDensity::dpi(d));
    }
    encoder
        .write_image(image.as_raw(), image.width(), image.height(), ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

fn png_grey(image: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(image.as_raw(), image.width(), image.height(), ExtendedColorType::L8)
        .expect("encode");
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8], body: &[u8]) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    c.extend_from_slice(&crc32(&[kind, body].concat()).to_be_bytes());
    c
}

/// A pHYs chunk (pixels per metre) inserted after IHDR.
fn with_phys(png: &[u8], dpi: f32) -> Vec<u8> {
    let ppm = (dpi / 0.0254).round() as u32;
    let mut body = ppm.to_be_bytes().to_vec();
    body.extend_from_slice(&ppm.to_be_bytes());
    body.push(1);
    let ihdr_end = 8 + 12 + 13;
    [&png[..ihdr_end], &png_chunk(b"pHYs", &body), &png[ihdr_end..]].concat()
}

/// An EXIF APP1 segment with the given Orientation, inserted after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

/// One IFD of a hand-written little-endian TIFF.
struct RawPage {
    width: u32,
    height: u32,
    bits: u16,
    compression: u16,
    /// NewSubfileType (1 = reduced-resolution copy).
    subfile: u32,
    dpi: u32,
    data: Vec<u8>,
}

/// A TIFF of the given pages (1-bit pages min-is-white, others min-is-black).
fn raw_tiff(pages: &[RawPage]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    for (i, p) in pages.iter().enumerate() {
        let ifd_at = out.len() as u32;
        let entries: u16 = 13;
        let ifd_len = 2 + 12 * u32::from(entries) + 4;
        let res_at = ifd_at + ifd_len;
        let data_at = res_at + 8;
        let photometric = u32::from(p.bits != 1);
        let tags: [(u16, u16, u32); 13] = [
            (254, 4, p.subfile),
            (256, 4, p.width),
            (257, 4, p.height),
            (258, 3, u32::from(p.bits)),
            (259, 3, u32::from(p.compression)),
            (262, 3, photometric),
            (273, 4, data_at),
            (277, 3, 1),
            (278, 4, p.height),
            (279, 4, p.data.len() as u32),
            (282, 5, res_at),
            (283, 5, res_at),
            (296, 3, 2),
        ];
        out.extend_from_slice(&entries.to_le_bytes());
        for (tag, kind, value) in tags {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        // Each directory starts on a word boundary.
        let next = if i + 1 < pages.len() { data_at + p.data.len().next_multiple_of(2) as u32 } else { 0 };
        out.extend_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&p.dpi.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&p.data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

/// 1-bit rows, min-is-white (1 = black), of a grey page thresholded at 128.
fn pack_bits(page: &GrayImage) -> Vec<u8> {
    let stride = page.width().div_ceil(8) as usize;
    let mut out = vec![0u8; stride * page.height() as usize];
    for (x, y, p) in page.enumerate_pixels() {
        if p.0[0] < 128 {
            out[y as usize * stride + x as usize / 8] |= 0x80 >> (x % 8);
        }
    }
    out
}

fn share_dark(image: &RgbImage) -> f32 {
    let dark = image.pixels().filter(|p| p.0[0] < 128).count();
    dark as f32 / (image.width() * image.height()) as f32
}

#[test]
fn colour_jpeg_of_a_grey_page_at_300_dpi_comes_out_grey_at_200() {
    let page = rgb(&text_page(300.0));
    let pages = picture_pages(&jpeg(&page, Some(300)), &Budget::default()).expect("decode");
    assert_eq!(pages.len(), 1);
    let p = &pages[0];
    println!(
        "300-dpi colour JPEG of grey text: {}×{} at {:.1} dpi, source {:?}, {:?}",
        p.image.width(),
        p.image.height(),
        p.dpi,
        p.source_dpi,
        p.mode
    );
    assert_eq!(p.source_dpi, Some(300.0));
    assert!((p.dpi - 200.0).abs() < 1.0);
    assert_eq!((p.image.width(), p.image.height()), a4(200.0));
    assert_eq!(p.mode, ColourMode::Grey);
}

#[test]
fn red_header_jpeg_is_colour() {
    let pages = picture_pages(&jpeg(&red_header_page(200.0), Some(200)), &Budget::default()).expect("decode");
    assert_eq!(pages[0].mode, ColourMode::Colour);
    assert_eq!(pages[0].source_dpi, Some(200.0));
}

#[test]
fn png_phys_100_dpi_is_not_upscaled_and_two_levels_are_bilevel() {
    let grey = text_page(100.0);
    let p = &picture_pages(&with_phys(&png_grey(&grey), 100.0), &Budget::default()).expect("decode")[0];
    println!("100-dpi PNG: source {:?}, {:?}", p.source_dpi, p.mode);
    assert!((p.source_dpi.expect("dpi") - 100.0).abs() < 0.1);
    assert_eq!(p.image.dimensions(), grey.dimensions());
    assert_eq!(p.mode, ColourMode::Grey);
    let mut two = text_page(200.0);
    two.pixels_mut().for_each(|p| p.0[0] = if p.0[0] < 128 { 0 } else { 255 });
    let p = &picture_pages(&with_phys(&png_grey(&two), 200.0), &Budget::default()).expect("decode")[0];
    assert_eq!(p.mode, ColourMode::Bilevel);
}

#[test]
fn bmp_density_and_jpeg_without_density_estimated_from_a4() {
    let page = rgb(&text_page(150.0));
    let mut bmp = Vec::new();
    DynamicImage::ImageRgb8(page.clone())
        .write_to(&mut Cursor::new(&mut bmp), ImageFormat::Bmp)
        .expect("bmp");
    let ppm = (150.0f32 / 0.0254).round() as i32;
    bmp[38..42].copy_from_slice(&ppm.to_le_bytes());
    bmp[42..46].copy_from_slice(&ppm.to_le_bytes());
    let p = &picture_pages(&bmp, &Budget::default()).expect("bmp")[0];
    assert!((p.source_dpi.expect("dpi") - 150.0).abs() < 0.1);
    // A camera's 72 dpi on a 300-dpi-sized page is not a scan density: estimated from A4.
    let p = &picture_pages(&jpeg(&rgb(&text_page(300.0)), Some(72)), &Budget::default()).expect("jpeg")[0];
    println!("72-dpi-tagged 300-dpi page: source {:?}", p.source_dpi);
    assert!((p.source_dpi.expect("dpi") - 300.0).abs() < 1.0);
}

#[test]
fn exif_orientation_turns_the_photo_upright() {
    // Stored landscape (the camera held sideways), EXIF 6 = rotate 90° clockwise to view.
    let upright = rgb(&text_page(100.0));
    let stored = image::imageops::rotate270(&upright);
    let file = with_orientation(&jpeg(&stored, None), 6);
    let p = &picture_pages(&file, &Budget::default()).expect("decode")[0];
    assert_eq!(p.image.dimensions(), upright.dimensions());
    // The text starts near the top: the top third holds more ink than the bottom fifth.
    let (w, h) = p.image.dimensions();
    let dark_rows = |y0: u32, y1: u32| {
        (y0..y1).map(|y| (0..w).filter(|&x| p.image.get_pixel(x, y).0[0] < 100).count()).sum::<usize>()
    };
    assert!(dark_rows(0, h / 3) > dark_rows(h * 4 / 5, h));
}

#[test]
fn three_page_bilevel_tiff_skips_its_thumbnail() {
    let page = text_page(300.0);
    let (w, h) = page.dimensions();
    let full = || RawPage {
        width: w,
        height: h,
        bits: 1,
        compression: 1,
        subfile: 0,
        dpi: 300,
        data: pack_bits(&page),
    };
    let thumb = RawPage {
        width: 64,
        height: 90,
        bits: 1,
        compression: 1,
        subfile: 1,
        dpi: 300,
        data: vec![0; 8 * 90],
    };
    let file = raw_tiff(&[full(), thumb, full(), full()]);
    println!("3-page 1-bit TIFF at 300 dpi: {} bytes", file.len());
    let pages = picture_pages(&file, &Budget::default()).expect("decode");
    assert_eq!(pages.len(), 3);
    for p in &pages {
        assert_eq!(p.mode, ColourMode::Bilevel);
        assert_eq!(p.source_dpi, Some(300.0));
        assert_eq!(p.image.dimensions(), a4(200.0));
        let dark = share_dark(&p.image);
        assert!(dark > 0.02 && dark < 0.2, "{dark}");
    }
    let two = picture_pages(&file, &Budget { max_pages: 2, ..Budget::default() }).expect("decode");
    assert_eq!(two.len(), 2);
}

#[test]
fn g4_fax_tiff_decodes_as_bilevel() {
    let p = &picture_pages(STRIP_G4, &Budget::default()).expect("decode")[0];
    assert_eq!(p.mode, ColourMode::Bilevel);
    assert_eq!(p.source_dpi, Some(200.0));
    assert_eq!(p.image.dimensions(), (1228, 672));
    // Black text on white, not inverted.
    let dark = share_dark(&p.image);
    println!("G4 strip: {:.1} % dark", dark * 100.0);
    assert!(dark > 0.03 && dark < 0.3, "{dark}");
}

#[test]
fn huge_declared_sizes_are_refused_before_decoding() {
    // 3.6 KB-class bomb: a 1-bit G4 page declaring 32000×32000.
    let bomb = raw_tiff(&[RawPage {
        width: 32_000,
        height: 32_000,
        bits: 1,
        compression: 4,
        subfile: 0,
        dpi: 300,
        data: vec![0; 3_000],
    }]);
    assert!(matches!(picture_pages(&bomb, &Budget::default()), Err(ReadError::TooLarge(_))));
    // A PNG header declaring 100000×100000 with no data.
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let png = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00]),
        &png_chunk(b"IEND", &[]),
    ]
    .concat();
    assert!(
        matches!(picture_pages(&png, &Budget::default()), Err(ReadError::TooLarge(_))),
        "{:?}",
        picture_pages(&png, &Budget::default()).err()
    );
    // A page within the default budget but over a small one.
    let small = Budget { max_pixels: 1_000_000, ..Budget::default() };
    let page = jpeg(&rgb(&text_page(200.0)), Some(200));
    assert!(matches!(picture_pages(&page, &small), Err(ReadError::TooLarge(_))));
}

#[test]
fn truncated_and_garbage_pictures_give_errors_not_panics() {
    let page = text_page(100.0);
    let files = [
        jpeg(&rgb(&page), Some(100)),
        with_phys(&png_grey(&page), 100.0),
        raw_tiff(&[RawPage {
            width: page.width(),
            height: page.height(),
            bits: 1,
            compression: 1,
            subfile: 0,
            dpi: 100,
            data: pack_bits(&page),
        }]),
        STRIP_G4.to_vec(),
    ];
    for file in &files {
        for cut in [0, 1, 8, 16, 40, 100, 300, file.len() / 2, file.len() - 10] {
            let _ = picture_pages(&file[..cut.min(file.len())], &Budget::default());
        }
        let mut flipped = file.clone();
        for i in (0..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5A;
        }
        let _ = picture_pages(&flipped, &Budget::default());
    }
    assert!(matches!(
        picture_pages(b"not a picture at all", &Budget::default()),
        Err(ReadError::Unsupported)
    ));
    // The truncated TIFF page misses rows: an error naming it, not a half page.
    let tiff = &files[2];
    assert!(picture_pages(&tiff[..tiff.len() - 5_000], &Budget::default()).is_err());
}

/// A minimal PDF from its objects (numbered from 1; the first is the catalog).
pub(crate) fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    [format!("<< {dict} /Length {} >>\nstream\n", data.len()).as_bytes(), data, b"\nendstream"].concat()
}

/// A one-page A4 PDF: catalog, pages, page (with `resources`), content, then `extra` objects.
fn one_page(resources: &str, content: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources {resources} /Contents 4 0 R >>").into_bytes(),
        stream("", content),
    ];
    objects.extend_from_slice(extra);
    pdf(&objects)
}

const FULL_PAGE_IMAGE: &[u8] = b"q 595.28 0 0 841.89 0 0 cm /Im0 Do Q";

#[test]
fn scanned_pdf_pages_report_their_image_dpi_and_mode() {
    let grey = text_page(100.0);
    let (w, h) = grey.dimensions();
    let image = stream(
        &format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8"
        ),
        grey.as_raw(),
    );
    let file = one_page("<< /XObject << /Im0 5 0 R >> >>", FULL_PAGE_IMAGE, &[image]);
    let p = pdf_page(&file, 0, &Budget::default()).expect("render");
    println!(
        "100-dpi grey scan in a PDF: source {:?}, rendered {}×{} at {} dpi, {:?}",
        p.source_dpi,
        p.image.width(),
        p.image.height(),
        p.dpi,
        p.mode
    );
    assert!((p.source_dpi.expect("scan") - 100.0).abs() < 0.5);
    assert_eq!(p.mode, ColourMode::Grey);
    assert!((p.dpi - 100.0).abs() < 0.5);
    let dark = share_dark(&p.image);
    assert!(dark > 0.02, "{dark}");

    // A 1-bit image mask at 200 dpi.
    let page = text_page(200.0);
    let (w, h) = page.dimensions();
    let mask = stream(
        &format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ImageMask true /BitsPerComponent 1 /Decode [1 0]"
        ),
        &pack_bits(&page),
    );
    let file = one_page("<< /XObject << /Im0 5 0 R >> >>", FULL_PAGE_IMAGE, &[mask]);
    let p = pdf_page(&file, 0, &Budget::default()).expect("render");
    println!("200-dpi image mask: source {:?}, {:?}", p.source_dpi, p.mode);
    assert!((p.source_dpi.expect("scan") - 200.0).abs() < 0.5);
    assert_eq!(p.mode, ColourMode::Bilevel);

    // An RGB scan of a red-header page at 300 dpi, rendered at 200.
    let colour = red_header_page(300.0);
    let (w, h) = colour.dimensions();
    let image = stream(
        &format!(
            "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8"
        ),
        colour.as_raw(),
    );
    let file = one_page("<< /XObject << /Im0 5 0 R >> >>", FULL_PAGE_IMAGE, &[image]);
    let p = pdf_page(&file, 0, &Budget::default()).expect("render");
    assert!((p.source_dpi.expect("scan") - 300.0).abs() < 1.0);
    assert_eq!(p.mode, ColourMode::Colour);
    assert_eq!(p.image.dimensions(), (1653, 2338));
}

#[test]
fn vector_pdf_page_is_not_a_scan() {
    let file = one_page("<< >>", b"0 0 0 rg 72 700 400 20 re f 72 600 300 10 re f", &[]);
    let p = pdf_page(&file, 0, &Budget::default()).expect("render");
    assert_eq!(p.source_dpi, None);
    assert_eq!(p.mode, ColourMode::Grey);
    assert_eq!(p.image.dimensions(), (1653, 2338));
    assert!(share_dark(&p.image) > 0.005);
    assert!(matches!(pdf_page(&file, 1, &Budget::default()), Err(ReadError::Damaged(_))));
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn hostile_pdfs_give_errors_not_crashes() {
    // Page resources nesting an array 100,000 deep (hayro alone overflows the stack).
    let deep = one_page(&format!("<< /Foo {} >>", nested(100_000)), b"", &[]);
    let started = std::time::Instant::now();
    let refused = pdf_page(&deep, 0, &Budget::default());
    println!("100,000-deep resources: {:?} in {:?}", refused.as_ref().err(), started.elapsed());
    assert!(matches!(refused, Err(ReadError::Damaged(_))));
    // The same depth inside a compressed object stream (object 6, the page's resources).
    let mut objstm = lopdf::Stream::new(
        lopdf::Dictionary::new(),
        format!("6 0 << /Foo {} >>", nested(100_000)).into_bytes(),
    );
    objstm.compress().expect("compress");
    let objstm = stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", &objstm.content);
    let file = one_page("6 0 R", b"", &[objstm]);
    assert!(matches!(pdf_page(&file, 0, &Budget::default()), Err(ReadError::Damaged(_))));
    // A content stream showing text from an array 100,000 deep.
    let content = format!("BT {} TJ ET", nested(100_000));
    let file = one_page("<< >>", content.as_bytes(), &[]);
    assert!(matches!(pdf_page(&file, 0, &Budget::default()), Err(ReadError::Damaged(_))));
    // Depth 60 is fine.
    let ok = one_page(&format!("<< /Foo {} >>", nested(60)), b"", &[]);
    assert!(pdf_page(&ok, 0, &Budget::default()).is_ok());
    // An image declaring 100000×100000 pixels.
    let bomb = stream(
        "/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        &[0x78, 0x9c, 0x03, 0x00],
    );
    let file = one_page("<< /XObject << /Im0 5 0 R >> >>", FULL_PAGE_IMAGE, &[bomb]);
    assert!(matches!(pdf_page(&file, 0, &Budget::default()), Err(ReadError::TooLarge(_))));
    // A page 200 inches square.
    let huge = pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>".to_vec(),
    ]);
    assert!(matches!(pdf_page(&huge, 0, &Budget::default()), Err(ReadError::TooLarge(_))));
    // A page tree whose Pages node lists itself.
    let cyclic = pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec(),
    ]);
    assert!(matches!(pdf_page(&cyclic, 0, &Budget::default()), Err(ReadError::Damaged(_))));
    // A chain of 1,000 Pages nodes, each the only kid of the one before.
    let mut chain = vec![b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()];
    for k in 2..1_002 {
        chain.push(format!("<< /Type /Pages /Kids [{} 0 R] /Count 1 >>", k + 1).into_bytes());
    }
    chain.push(b"<< /Type /Page /MediaBox [0 0 595 842] >>".to_vec());
    assert!(matches!(pdf_page(&pdf(&chain), 0, &Budget::default()), Err(ReadError::Damaged(_))));
    // Garbage and truncation.
    assert!(pdf_page(b"%PDF-1.7 garbage", 0, &Budget::default()).is_err());
    let good = one_page("<< >>", b"0 0 0 rg 72 700 400 20 re f", &[]);
    for cut in [10, 50, 100, good.len() / 2] {
        let _ = pdf_page(&good[..cut], 0, &Budget::default());
    }
}

#[test]
fn nesting_scan_skips_strings_streams_and_inline_images() {
    let mut bytes =
        b"1 0 obj << /A (((([[[[) /B <5b5b> >> endobj 2 0 obj << /Length 200 >> stream\n".to_vec();
    bytes.extend_from_slice(&[b'['; 200]);
    bytes.extend_from_slice(b"\nendstream endobj");
    assert!(pdf_file::check_structure(&bytes).is_ok());
    let content = [&b"q BI /W 100 /H 1 /BPC 8 /CS /G ID "[..], &[b'['; 100], b" EI Q"].concat();
    assert!(pdf_file::check_nesting(&content).is_ok());
    assert!(pdf_file::check_nesting(nested(65).as_bytes()).is_err());
    assert!(pdf_file::check_nesting(nested(64).as_bytes()).is_ok());
}
