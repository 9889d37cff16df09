//! Drawing a volume with krilla: the cover, the 目录 with 起止页, the files' pages, placeholders,
//! the outline and the page numbers. Text is set in one CJK font; its width is estimated (a
//! Chinese character is one em, other characters about half).

use std::io::Cursor;
use std::sync::Arc;

use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::pdf::PdfDocument;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};
use yingjian_shared::{Catalogue, ItemCode};

use super::Printed;
use crate::bundle::PlannedFile;

const A4: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 56.0;
/// Lines of the 目录 on a page: fixed, so the 起止页 are known before a page is drawn.
const TOC_ROWS: usize = 30;
const TOC_ROW: f32 = 22.0;
/// Pictures are placed at most this many pixels on their long side (A4 at 240 dpi).
const PICTURE_SIDE: u32 = 2800;

pub struct Cover<'a> {
    /// `平顶山市迎接2021年度河南省政府质量工作考核`.
    pub heading: &'a str,
    /// `一、质量水平状况`.
    pub volume: &'a str,
    /// `2026年12月2日`: the state's last change.
    pub as_of: &'a str,
}

fn width_of(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.55 * size } else { size }).sum()
}

/// At most `width` points of `text`, with `…` when cut.
fn fit(text: &str, size: f32, width: f32) -> String {
    if width_of(text, size) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width_of(&out, size) + width_of(&format!("{c}…"), size) > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn text(surface: &mut Surface<'_>, font: &Font, x: f32, y: f32, size: f32, line: &str) {
    surface.draw_text(Point::from_xy(x, y), font.clone(), size, line, false, TextDirection::Auto);
}

fn centred(surface: &mut Surface<'_>, font: &Font, page_width: f32, y: f32, size: f32, line: &str) {
    text(surface, font, ((page_width - width_of(line, size)) / 2.0).max(MARGIN / 2.0), y, size, line);
}

fn rule(surface: &mut Surface<'_>, x1: f32, x2: f32, y: f32) {
    let mut pb = PathBuilder::new();
    pb.move_to(x1, y);
    pb.line_to(x2, y);
    if let Some(path) = pb.finish() {
        surface.set_stroke(Some(krilla::paint::Stroke { width: 0.5, ..Default::default() }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

/// One line of a volume's 目录.
enum TocLine<'a> {
    Heading(String),
    File(&'a PlannedFile, usize, usize),
}

fn heading(catalogue: &Catalogue, item: &str) -> String {
    match item.parse::<ItemCode>().ok().and_then(|code| catalogue.item(code)) {
        Some(i) => format!("{} {}（{}）", i.code.padded(), i.short_title, i.scoring().label()),
        None => item.to_string(),
    }
}

/// The first page of each file in a volume of files taking `pages`, and the volume's pages: a
/// cover, the 目录 (a line per file and per item, `TOC_ROWS` a page), then the files. The
/// electronic 目录 reads its 起止页 from here too.
pub fn layout(files: &[&PlannedFile], pages: &[usize]) -> (Vec<usize>, usize) {
    let headings =
        files.windows(2).filter(|w| w[0].item != w[1].item).count() + usize::from(!files.is_empty());
    let toc_pages = (files.len() + headings).div_ceil(TOC_ROWS).max(1);
    let mut next = 1 + toc_pages + 1;
    let starts = pages
        .iter()
        .map(|p| {
            let start = next;
            next += p;
            start
        })
        .collect();
    (starts, next - 1)
}

/// Draws a volume; answers its bytes and its page count. `pages[i]` is what `printed[i]` takes.
pub fn volume(
    font: &Font,
    catalogue: &Catalogue,
    cover: &Cover<'_>,
    files: &[&PlannedFile],
    printed: Vec<Printed>,
    pages: &[usize],
) -> Result<(Vec<u8>, usize), String> {
    // The 目录 first, with every file's 起止页: cover, then the 目录's own pages, then the files.
    let (starts, total) = layout(files, pages);
    let mut lines = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if i == 0 || files[i - 1].item != f.item {
            lines.push(TocLine::Heading(heading(catalogue, &f.item)));
        }
        lines.push(TocLine::File(f, starts[i], starts[i] + pages[i] - 1));
    }

    let configuration =
        ConfigurationBuilder::new().with_version(PdfVersion::Pdf20).finish().map_err(|e| format!("{e:?}"))?;
    let mut doc = Document::new_with(SerializeSettings { configuration, ..SerializeSettings::default() });
    let mut number = 0;
    let mut page = |doc: &mut Document, size: (f32, f32), draw: &mut dyn FnMut(&mut Surface<'_>)| {
        number += 1;
        let settings = PageSettings::from_wh(size.0, size.1).expect("a page has a size");
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        draw(&mut surface);
        let stamp = format!("第 {number} 页");
        centred(&mut surface, font, size.0, size.1 - 22.0, 9.0, &stamp);
        surface.finish();
        page.finish();
    };

    page(&mut doc, A4, &mut |s| {
        centred(s, font, A4.0, 250.0, 22.0, cover.heading);
        centred(s, font, A4.0, 300.0, 26.0, "印证材料");
        centred(s, font, A4.0, 380.0, 20.0, cover.volume);
        centred(s, font, A4.0, 640.0, 12.0, &format!("材料截至 {}", cover.as_of));
        centred(s, font, A4.0, 665.0, 12.0, &format!("共 {total} 页，{} 个文件", files.len()));
    });
    for chunk in lines.chunks(TOC_ROWS).chain(std::iter::repeat_n(&[][..], usize::from(lines.is_empty()))) {
        page(&mut doc, A4, &mut |s| {
            centred(s, font, A4.0, MARGIN + 10.0, 16.0, &format!("{} 目录", cover.volume));
            let top = MARGIN + 44.0;
            let columns = [MARGIN, MARGIN + 34.0, MARGIN + 110.0, A4.0 - MARGIN - 70.0];
            for (x, label) in columns.iter().zip(["序号", "档号", "题名", "起止页"]) {
                text(s, font, *x, top, 10.0, label);
            }
            rule(s, MARGIN, A4.0 - MARGIN, top + 6.0);
            for (row, line) in chunk.iter().enumerate() {
                let y = top + TOC_ROW * (row as f32 + 1.0);
                match line {
                    TocLine::Heading(h) => text(s, font, MARGIN, y, 10.0, &fit(h, 10.0, A4.0 - 2.0 * MARGIN)),
                    TocLine::File(f, from, to) => {
                        text(s, font, columns[0], y, 9.5, &f.number.to_string());
                        text(s, font, columns[1], y, 9.5, &f.reference);
                        text(s, font, columns[2], y, 9.5, &fit(&f.title, 9.5, columns[3] - columns[2] - 8.0));
                        let span = if from == to { from.to_string() } else { format!("{from}–{to}") };
                        text(s, font, columns[3], y, 9.5, &span);
                    }
                }
            }
        });
    }

    let mut outline = Outline::new();
    let mut item_node: Option<OutlineNode> = None;
    for (i, (f, p)) in files.iter().zip(printed).enumerate() {
        let first_index = starts[i] - 1;
        let dest = || XyzDestination::new(first_index, Point::from_xy(0.0, 0.0));
        if i == 0 || files[i - 1].item != f.item {
            if let Some(node) = item_node.take() {
                outline.push_child(node);
            }
            item_node = Some(OutlineNode::new(heading(catalogue, &f.item), dest()));
        }
        if let Some(node) = item_node.as_mut() {
            node.push_child(OutlineNode::new(format!("{} {}", f.reference, f.title), dest()));
        }
        match p {
            Printed::Pdf(pdf, n) => {
                let document = PdfDocument::new(pdf.clone());
                for index in 0..n {
                    let (w, h) = pdf.pages()[index].render_dimensions();
                    // Scaled to A4 in its own orientation, keeping the proportions.
                    let sheet = if w > h { (A4.1, A4.0) } else { A4 };
                    let scale = (sheet.0 / w).min(sheet.1 / h);
                    let (dw, dh) = (w * scale, h * scale);
                    page(&mut doc, sheet, &mut |s| {
                        s.push_transform(&Transform::from_translate(
                            (sheet.0 - dw) / 2.0,
                            (sheet.1 - dh) / 2.0,
                        ));
                        if let Some(size) = Size::from_wh(dw, dh) {
                            s.draw_pdf_page(&document, size, index);
                        }
                        s.pop();
                    });
                }
            }
            Printed::Pictures(pictures) => {
                for picture in pictures {
                    let (pw, ph) = picture.image.size();
                    let (pw, ph) = (pw as f32, ph as f32);
                    // The page shows the picture as it is meant to be seen (a phone held upright).
                    let (sw, sh) = if picture.turned { (ph, pw) } else { (pw, ph) };
                    let (room_across, room_down) = (A4.0 - 2.0 * MARGIN, A4.1 - 2.0 * MARGIN - 60.0);
                    let scale = (room_across / sw).min(room_down / sh);
                    let (dw, dh) = (sw * scale, sh * scale);
                    page(&mut doc, A4, &mut |s| {
                        s.push_transform(&Transform::from_translate((A4.0 - dw) / 2.0, MARGIN));
                        s.push_transform(&picture.upright(pw * scale, ph * scale));
                        if let Some(size) = Size::from_wh(pw * scale, ph * scale) {
                            s.draw_image(picture.image.clone(), size);
                        }
                        s.pop();
                        s.pop();
                        let caption = fit(&f.title, 12.0, room_across);
                        centred(s, font, A4.0, MARGIN + dh + 28.0, 12.0, &caption);
                    });
                }
            }
            Printed::Placeholder(why) => {
                page(&mut doc, A4, &mut |s| {
                    centred(
                        s,
                        font,
                        A4.0,
                        300.0,
                        16.0,
                        &fit(&format!("{} {}", f.reference, f.title), 16.0, A4.0 - 2.0 * MARGIN),
                    );
                    let mut y = 350.0;
                    for line in wrap(&why, 12.0, A4.0 - 2.0 * MARGIN) {
                        centred(s, font, A4.0, y, 12.0, &line);
                        y += 20.0;
                    }
                    for line in wrap(&format!("电子版位置：{}", f.path), 10.0, A4.0 - 2.0 * MARGIN) {
                        centred(s, font, A4.0, y + 10.0, 10.0, &line);
                        y += 16.0;
                    }
                });
            }
        }
    }
    if let Some(node) = item_node {
        outline.push_child(node);
    }
    doc.set_outline(outline);
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", cover.heading, cover.volume))
            .creator("迎检材料收集系统".into()),
    );
    let bytes = doc.finish().map_err(|e| e.to_string())?;
    Ok((bytes, total))
}

/// Lines of at most `width` points.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = vec![String::new()];
    for c in text.chars() {
        let line = lines.last_mut().expect("never empty");
        if width_of(line, size) + width_of(&c.to_string(), size) > width {
            lines.push(c.to_string());
        } else {
            line.push(c);
        }
    }
    lines
}

/// A picture to place, and how it is turned to be seen upright (a JPEG's EXIF Orientation).
pub struct Picture {
    image: Image,
    /// The EXIF orientation, 1–8 (1: as stored).
    orientation: u8,
    /// A quarter turn (orientations 5–8): the picture is seen as high as it is stored wide.
    turned: bool,
}

impl Picture {
    fn new(image: Image, orientation: u8) -> Picture {
        let orientation = if (1..=8).contains(&orientation) { orientation } else { 1 };
        Picture { image, orientation, turned: orientation >= 5 }
    }

    /// Maps the stored picture drawn at `w` × `h` onto the upright one at the origin
    /// (the eight EXIF orientations: mirrored, turned, or both).
    fn upright(&self, w: f32, h: f32) -> Transform {
        match self.orientation {
            2 => Transform::from_row(-1.0, 0.0, 0.0, 1.0, w, 0.0),
            3 => Transform::from_row(-1.0, 0.0, 0.0, -1.0, w, h),
            4 => Transform::from_row(1.0, 0.0, 0.0, -1.0, 0.0, h),
            5 => Transform::from_row(0.0, 1.0, 1.0, 0.0, 0.0, 0.0),
            6 => Transform::from_row(0.0, 1.0, -1.0, 0.0, h, 0.0),
            7 => Transform::from_row(0.0, -1.0, -1.0, 0.0, h, w),
            8 => Transform::from_row(0.0, -1.0, 1.0, 0.0, 0.0, w),
            _ => Transform::identity(),
        }
    }
}

/// The pictures in a file, ready to place: JPEG (with its EXIF orientation) and PNG as they
/// are, other formats (BMP, GIF, WebP, every page of a TIFF) decoded and written as PNG, at
/// most `PICTURE_SIDE` pixels long.
pub fn pictures(bytes: Vec<u8>) -> Result<Vec<Picture>, String> {
    match yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) {
        Some("jpeg") => {
            let orientation = crate::facts::exif_orientation(&bytes);
            Ok(vec![Picture::new(Image::from_jpeg(bytes.into(), true)?, orientation)])
        }
        Some("png") => Ok(vec![Picture::new(Image::from_png(bytes.into(), true)?, 1)]),
        Some("tiff") => tiff_pages(&bytes),
        _ => Ok(vec![as_png(crate::pictures::decode(&bytes).map_err(|e| e.to_string())?, 1)?]),
    }
}

fn as_png(picture: image::DynamicImage, orientation: u8) -> Result<Picture, String> {
    let png = crate::pictures::png_at_most(picture, PICTURE_SIDE).map_err(|e| e.to_string())?;
    Ok(Picture::new(Image::from_png(Arc::new(png).into(), true)?, orientation))
}

/// Every page of a TIFF (a scanner's multi-page file), grey or colour, 1 or 8 bits.
fn tiff_pages(bytes: &[u8]) -> Result<Vec<Picture>, String> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    loop {
        let thumbnail =
            decoder.find_tag_unsigned::<u32>(Tag::NewSubfileType).ok().flatten().unwrap_or(0) & 1 == 1;
        if !thumbnail {
            let (w, h) = decoder.dimensions().map_err(|e| e.to_string())?;
            let white_is_zero =
                decoder.find_tag_unsigned::<u16>(Tag::PhotometricInterpretation).ok().flatten() == Some(0);
            let color = decoder.colortype().map_err(|e| e.to_string())?;
            let DecodingResult::U8(data) = decoder.read_image().map_err(|e| e.to_string())? else {
                return Err("16-bit TIFF".into());
            };
            let picture = match color {
                ColorType::Gray(8) => {
                    let data = if white_is_zero { data.iter().map(|v| 255 - v).collect() } else { data };
                    image::GrayImage::from_raw(w, h, data).map(image::DynamicImage::ImageLuma8)
                }
                ColorType::Gray(1) => {
                    let row = w.div_ceil(8) as usize;
                    let mut grey = Vec::with_capacity((w * h) as usize);
                    for y in 0..h as usize {
                        for x in 0..w as usize {
                            let bit = data.get(y * row + x / 8).is_some_and(|b| b & (0x80 >> (x % 8)) != 0);
                            grey.push(if bit == white_is_zero { 0 } else { 255 });
                        }
                    }
                    image::GrayImage::from_raw(w, h, grey).map(image::DynamicImage::ImageLuma8)
                }
                ColorType::RGB(8) => {
                    image::RgbImage::from_raw(w, h, data).map(image::DynamicImage::ImageRgb8)
                }
                ColorType::RGBA(8) => {
                    image::RgbaImage::from_raw(w, h, data).map(image::DynamicImage::ImageRgba8)
                }
                other => return Err(format!("TIFF colour type {other:?}")),
            };
            let orientation = decoder.find_tag_unsigned::<u8>(Tag::Orientation).ok().flatten().unwrap_or(1);
            out.push(as_png(picture.ok_or("a TIFF page of the wrong length")?, orientation)?);
        }
        if !decoder.more_images() {
            return Ok(out);
        }
        decoder.next_image().map_err(|e| e.to_string())?;
    }
}
