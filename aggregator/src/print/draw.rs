//! Drawing a volume with krilla: the cover, the 目录 with 起止页, the files' pages, placeholders,
//! the outline and the page numbers. Text is set in one CJK font; its width is estimated (a
//! Chinese character is one em, other characters about half).

use std::collections::BTreeMap;
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

/// An item's line in the 目录 and the outline (`08.03 …（…）`).
pub fn heading(catalogue: &Catalogue, item: &str) -> String {
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

/// Draws a volume; answers its bytes and its page count. `pages[i]` is what `printed[i]` takes;
/// `headings` are the items' lines (`heading`); `drawing(i)` is told before file `i` is drawn.
pub fn volume(
    font: &Font,
    headings: &BTreeMap<String, String>,
    cover: &Cover<'_>,
    files: &[&PlannedFile],
    printed: Vec<Printed>,
    pages: &[usize],
    drawing: &mut dyn FnMut(usize),
) -> Result<(Vec<u8>, usize), String> {
    let title_of = |item: &str| headings.get(item).cloned().unwrap_or_else(|| item.to_string());
    // The 目录 first, with every file's 起止页: cover, then the 目录's own pages, then the files.
    let (starts, total) = layout(files, pages);
    let mut lines = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if i == 0 || files[i - 1].item != f.item {
            lines.push(TocLine::Heading(title_of(&f.item)));
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
        drawing(i);
        let first_index = starts[i] - 1;
        let dest = || XyzDestination::new(first_index, Point::from_xy(0.0, 0.0));
        if i == 0 || files[i - 1].item != f.item {
            if let Some(node) = item_node.take() {
                outline.push_child(node);
            }
            item_node = Some(OutlineNode::new(title_of(&f.item), dest()));
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

/// The pictures in a file, ready to place, each validated now rather than when the PDF is
/// written: a JPEG as it is (with its EXIF orientation; the PDF carries it undecoded), anything
/// else (PNG, BMP, every page of a TIFF) decoded within the pictures budget and written again
/// as PNG at most `PICTURE_SIDE` pixels long.
pub fn pictures(bytes: Vec<u8>) -> Result<Vec<Picture>, String> {
    if yingjian_shared::sniff(&bytes[..bytes.len().min(16)]) == Some("jpeg") {
        let orientation = crate::pictures::exif_orientation(&bytes);
        return Ok(vec![Picture::new(Image::from_jpeg(bytes.into(), true)?, orientation)]);
    }
    crate::pictures::pages(&bytes, PICTURE_SIDE)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|page| {
            let png = crate::pictures::png_at_most(page.picture, PICTURE_SIDE).map_err(|e| e.to_string())?;
            Ok(Picture::new(Image::from_png(Arc::new(png).into(), true)?, page.orientation))
        })
        .collect()
}
