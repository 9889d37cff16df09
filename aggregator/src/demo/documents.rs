//! Sample documents with Chinese text for the demo, laid out as GB/T 9704 official documents
//! (a red 发文机关 header and rule, the 文号, the title, the addressee, the body, the signature
//! and 成文日期), so that the demo's reading has fields to find, a 密级 mark to hold, and a
//! 目录 to fill.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

/// What one sample document says.
pub struct Notice {
    pub issuer: &'static str,
    /// 文号; `None` for a report, which has none.
    pub number: Option<&'static str>,
    pub title: &'static str,
    pub addressee: &'static str,
    pub body: &'static [&'static str],
    /// 成文日期 as printed: 「2021年3月5日」 or 「二〇二一年三月五日」.
    pub date: &'static str,
    /// 密级 mark in the top left corner.
    pub classification: Option<&'static str>,
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 80.0;
const RED: (u8, u8, u8) = (210, 16, 16);

fn width_of(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.55 * size } else { size }).sum()
}

fn fill(surface: &mut Surface<'_>, (r, g, b): (u8, u8, u8)) {
    surface.set_fill(Some(Fill { paint: rgb::Color::new(r, g, b).into(), ..Fill::default() }));
}

fn text(surface: &mut Surface<'_>, font: &Font, x: f32, y: f32, size: f32, line: &str) {
    surface.draw_text(Point::from_xy(x, y), font.clone(), size, line, false, TextDirection::Auto);
}

fn centred(surface: &mut Surface<'_>, font: &Font, y: f32, size: f32, line: &str) {
    text(surface, font, (WIDTH - width_of(line, size)) / 2.0, y, size, line);
}

/// Lines of at most `width` points, broken between characters as Chinese text is.
fn wrap(paragraph: &str, size: f32, width: f32, indent: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = if indent { "　　".to_string() } else { String::new() };
    for c in paragraph.chars() {
        if width_of(&line, size) + width_of(&c.to_string(), size) > width {
            lines.push(std::mem::take(&mut line));
        }
        line.push(c);
    }
    lines.push(line);
    lines
}

/// The document as a one-page PDF with a text layer, set in `font`.
pub fn notice(n: &Notice, font: &Font) -> Result<Vec<u8>, String> {
    let mut doc = Document::new_with(SerializeSettings::default());
    let mut page = doc.start_page_with(PageSettings::from_wh(WIDTH, HEIGHT).ok_or("page size")?);
    let mut surface = page.surface();
    let black = (0, 0, 0);
    if let Some(mark) = n.classification {
        fill(&mut surface, black);
        text(&mut surface, font, MARGIN, 70.0, 14.0, mark);
    }
    let mut y = 130.0;
    fill(&mut surface, RED);
    match n.number {
        Some(_) => centred(&mut surface, font, y, 30.0, &format!("{}文件", n.issuer)),
        None => y -= 40.0,
    }
    fill(&mut surface, black);
    if let Some(number) = n.number {
        y += 45.0;
        centred(&mut surface, font, y, 14.0, number);
        let mut rule = PathBuilder::new();
        rule.move_to(MARGIN, y + 14.0);
        rule.line_to(WIDTH - MARGIN, y + 14.0);
        if let Some(path) = rule.finish() {
            surface.set_stroke(Some(Stroke {
                width: 1.5,
                paint: rgb::Color::new(RED.0, RED.1, RED.2).into(),
                ..Stroke::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
    }
    y += 60.0;
    for line in wrap(n.title, 18.0, WIDTH - 2.0 * MARGIN, false) {
        centred(&mut surface, font, y, 18.0, &line);
        y += 28.0;
    }
    y += 12.0;
    if !n.addressee.is_empty() {
        text(&mut surface, font, MARGIN, y, 14.0, n.addressee);
        y += 26.0;
    }
    for paragraph in n.body {
        for line in wrap(paragraph, 14.0, WIDTH - 2.0 * MARGIN, true) {
            text(&mut surface, font, MARGIN, y, 14.0, &line);
            y += 24.0;
        }
    }
    y += 50.0;
    let right = |s: &str| WIDTH - MARGIN - 28.0 - width_of(s, 14.0);
    text(&mut surface, font, right(n.issuer), y, 14.0, n.issuer);
    text(&mut surface, font, right(n.date), y + 26.0, 14.0, n.date);
    surface.finish();
    page.finish();
    doc.finish().map_err(|e| format!("{e:?}"))
}

/// The demo's documents: (department, path in its evidence folder, document).
pub fn documents() -> Vec<(&'static str, &'static str, Notice)> {
    vec![
        (
            "police",
            "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf",
            Notice {
                issuer: "平顶山市公安局",
                number: Some("平公〔2021〕35号"),
                title: "关于开展“昆仑2021”专项行动的通知",
                addressee: "各县（市、区）公安局，局属各单位：",
                body: &[
                    "为严厉打击食品药品、环境、知识产权等领域犯罪，按照省公安厅统一部署，市局决定在全市开展“昆仑2021”专项行动。",
                    "各单位要加强与市场监管等部门的协作，依法查处制售假冒伪劣商品违法犯罪行为，切实维护群众合法权益。",
                ],
                date: "二〇二一年四月八日",
                classification: None,
            },
        ),
        (
            "police",
            "自评报告/公安局2021年度质量工作自评报告.pdf",
            Notice {
                issuer: "平顶山市公安局",
                number: None,
                title: "平顶山市公安局2021年度质量工作自评报告",
                addressee: "",
                body: &[
                    "2021年，市公安局按照市质量强市工作领导小组的部署，依法打击侵犯知识产权和制售假冒伪劣商品犯罪，全年立案侦办相关案件46起。",
                ],
                date: "2022年1月12日",
                classification: None,
            },
        ),
        (
            "market",
            "01.01 制造业产品质量合格率/文件/2021年制造业产品质量合格率监测结果.pdf",
            Notice {
                issuer: "平顶山市市场监督管理局",
                number: Some("平市监〔2021〕12号"),
                title: "关于2021年全市制造业产品质量合格率监测结果的通报",
                addressee: "各县（市、区）市场监督管理局：",
                body: &[
                    "根据省局统一安排，市局组织开展了2021年制造业产品质量合格率监测工作，共抽检产品1200批次，合格率为94.6%。",
                    "请各单位针对监测中发现的问题，督促企业落实质量安全主体责任，切实提升产品质量水平。",
                ],
                date: "2021年3月5日",
                classification: None,
            },
        ),
        (
            "market",
            "03.01 质量工作格局/文件/质量工作领导小组会议纪要.pdf",
            Notice {
                issuer: "平顶山市质量强市工作领导小组办公室",
                number: Some("平质强办〔2021〕3号"),
                title: "平顶山市质量强市工作领导小组2021年第一次会议纪要",
                addressee: "",
                body: &["会议听取了各成员单位质量工作进展情况汇报，研究部署了下一阶段重点工作。"],
                date: "2021年5月20日",
                classification: Some("内部资料"),
            },
        ),
    ]
}
