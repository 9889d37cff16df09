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

use super::Printed;
use super::assemble::Mark;
use crate::layout::page::{
    A4, A4_ACROSS, MARGIN, TOC_COLUMNS, TOC_LINE, TOC_PAD, TOC_SIZE, TOC_TOP, TocRow, fit, layout, toc_pages,
    toc_rows, width_of, wrap,
};
use crate::plan::PlannedFile;

/// Pictures are placed at most this many pixels on their long side (A4 at 240 dpi).
const PICTURE_SIDE: u32 = 2800;

pub struct Cover<'a> {
    /// `平顶山市迎接2021年度河南省政府质量工作考核`.
    pub heading: &'a str,
    /// `一、质量水平状况`.
    pub volume: &'a str,
    /// `2026年12月2日`: the state's last change.
    pub as_of: &'a str,
    /// The state's fingerprint, which the bundle's name carries: paper and zip go together.
    pub fingerprint: &'a str,
    /// How the pages are numbered, as the cover says it.
    pub numbering: &'a str,
    /// Above the 目录's pages: `三、质量安全监管 目录`.
    pub toc_title: &'a str,
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

/// What a drawing makes: a volume of files, or an area's 总目录 across its volumes.
pub enum Contents<'a> {
    /// The files, as `printed[i]` taking `pages[i]` pages.
    Files { printed: Vec<Printed>, pages: &'a [usize] },
    /// Only the cover and the 目录, each file's 页数 and where it is (`续01 5–6`) given.
    Index { pages: &'a [Option<usize>], spans: &'a [String] },
}

/// A volume drawn.
pub struct Drawn {
    pub bytes: Vec<u8>,
    /// Its pages.
    pub total: usize,
    /// When some of its pages are only the footer of a PDF's page qpdf is to put there: the
    /// outline, for qpdf's volume (this one's opens the cover only).
    pub marks: Option<Vec<Mark>>,
}

/// Draws a volume. `headings` are the items' lines (`heading`); `drawing(i)` is told before
/// file `i` is drawn.
pub fn volume(
    font: &Font,
    headings: &BTreeMap<String, String>,
    cover: &Cover<'_>,
    files: &[&PlannedFile],
    contents: Contents<'_>,
    drawing: &mut dyn FnMut(usize),
) -> Result<Drawn, String> {
    let title_of = |item: &str| headings.get(item).cloned().unwrap_or_else(|| item.to_string());
    // The 目录 first, with every file's 起止页: cover, then the 目录's own pages, then the files.
    let (printed, starts, total, rows) = match contents {
        Contents::Files { printed, pages } => {
            let (starts, total) = layout(files, pages, &title_of);
            let placeholder: Vec<bool> =
                printed.iter().map(|p| matches!(p, Printed::Placeholder(_))).collect();
            let rows = toc_rows(files, &title_of, &|i| {
                let counted = super::pages_shown(files[i], pages[i], placeholder[i]);
                let (from, to) = (starts[i], starts[i] + pages[i] - 1);
                (counted, if from == to { from.to_string() } else { format!("{from}–{to}") })
            });
            (printed, starts, total, rows)
        }
        Contents::Index { pages, spans } => {
            let rows = toc_rows(files, &title_of, &|i| (pages[i], spans[i].clone()));
            let total = 1 + toc_pages(&rows).len();
            (Vec::new(), Vec::new(), total, rows)
        }
    };
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
        let mark = format!("校验码 {}", cover.fingerprint);
        text(&mut surface, font, size.0 - MARGIN - width_of(&mark, 7.0), size.1 - 22.0, 7.0, &mark);
        surface.finish();
        page.finish();
    };

    page(&mut doc, A4, &mut |s| {
        centred(s, font, A4.0, 250.0, 22.0, cover.heading);
        centred(s, font, A4.0, 300.0, 26.0, "印证材料");
        centred(s, font, A4.0, 380.0, 20.0, cover.volume);
        centred(s, font, A4.0, 640.0, 12.0, &format!("材料截至 {}", cover.as_of));
        centred(s, font, A4.0, 665.0, 12.0, &format!("共 {total} 页，{} 个文件", files.len()));
        centred(
            s,
            font,
            A4.0,
            690.0,
            12.0,
            &format!("状态校验码 {}（与电子版材料包名称中的校验码相同）", cover.fingerprint),
        );
        centred(s, font, A4.0, 715.0, 10.0, cover.numbering);
    });
    let (width, right) = (A4_ACROSS.0, A4_ACROSS.0 - MARGIN);
    let xs: Vec<f32> =
        TOC_COLUMNS.iter().scan(MARGIN, |x, (_, w)| Some(std::mem::replace(x, *x + w))).collect();
    for range in toc_pages(&rows) {
        page(&mut doc, A4_ACROSS, &mut |s| {
            centred(s, font, width, MARGIN - 4.0, 16.0, cover.toc_title);
            for (x, (label, _)) in xs.iter().zip(TOC_COLUMNS) {
                text(s, font, x + 3.0, TOC_TOP, 9.5, label);
            }
            let mut y = TOC_TOP + TOC_PAD;
            rule(s, MARGIN, right, y - 2.0);
            for row in &rows[range.clone()] {
                match row {
                    TocRow::Heading(lines) => {
                        for (k, line) in lines.iter().enumerate() {
                            text(
                                s,
                                font,
                                MARGIN + 3.0,
                                y + TOC_LINE * (k as f32 + 1.0),
                                TOC_SIZE + 0.5,
                                line,
                            );
                        }
                    }
                    TocRow::File(cells) => {
                        for (x, lines) in xs.iter().zip(cells) {
                            for (k, line) in lines.iter().enumerate() {
                                text(s, font, x + 3.0, y + TOC_LINE * (k as f32 + 1.0), TOC_SIZE, line);
                            }
                        }
                    }
                }
                y += row.height();
                rule(s, MARGIN, right, y - 2.0);
            }
        });
    }

    let mut marks: Vec<Mark> = Vec::new();
    let mut sources = false;
    for (i, (f, p)) in files.iter().zip(printed).enumerate() {
        drawing(i);
        let first = starts[i] - 1;
        if i == 0 || files[i - 1].item != f.item {
            marks.push(Mark { title: title_of(&f.item), page: first, children: Vec::new() });
        }
        if let Some(mark) = marks.last_mut() {
            mark.children.push(Mark {
                title: format!("{} {}", f.reference, f.title),
                page: first,
                children: Vec::new(),
            });
        }
        match p {
            Printed::Pdf(pdf, pages) => {
                let document = PdfDocument::new(pdf.clone());
                for index in pages {
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
            Printed::Source(_, pages, _) => {
                sources = true;
                for _ in pages {
                    page(&mut doc, A4, &mut |_| {});
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
    let cover_only = [Mark { title: "封面".into(), page: 0, children: Vec::new() }];
    doc.set_outline(outline(if sources { &cover_only } else { &marks }));
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} {}", cover.heading, cover.volume))
            .creator("迎检材料收集系统".into()),
    );
    let bytes = doc.finish().map_err(|e| e.to_string())?;
    Ok(Drawn { bytes, total, marks: sources.then_some(marks) })
}

fn outline(marks: &[Mark]) -> Outline {
    fn node(mark: &Mark) -> OutlineNode {
        let mut out =
            OutlineNode::new(mark.title.clone(), XyzDestination::new(mark.page, Point::from_xy(0.0, 0.0)));
        for child in &mark.children {
            out.push_child(node(child));
        }
        out
    }
    let mut outline = Outline::new();
    for mark in marks {
        outline.push_child(node(mark));
    }
    outline
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
