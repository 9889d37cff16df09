//! The bundle's 目录 (DA/T 22-2015 归档文件目录: HTML to print, `.xlsx` to sort and print) with
//! a 校验信息 sheet for the hashes, and the contact list (附件4). Generated from the plan
//! only, so they are identical for the same state.

use askama::Template;
use rust_xlsxwriter::XlsxError;
use yingjian_shared::{Catalogue, Contacts, ItemCode};

use super::sheet::{self, Cell, Column, Row};
use crate::plan::PlannedFile;

/// The 目录's columns, as DA/T 22-2015 lists them, with where each file is in the paper version.
const TOC_COLUMNS: [Column; 9] = [
    ("序号", 6.0),
    ("档号", 11.0),
    ("文号", 20.0),
    ("责任者", 20.0),
    ("题名", 44.0),
    ("日期", 10.0),
    ("页数", 6.0),
    // Wide enough for `03 质量安全监管 第123–130页` on one line.
    ("起止页", 26.0),
    ("备注", 16.0),
];

const CHECK_COLUMNS: [Column; 5] =
    [("序号", 6.0), ("档号", 11.0), ("文件", 70.0), ("大小（字节）", 14.0), ("SHA-256", 68.0)];

/// One line of the 目录: a section's heading, or a file.
pub enum TocRow<'a> {
    Heading(String),
    File(&'a PlannedFile),
}

/// The 目录's lines: before each item's files, a heading with the item's code, full name,
/// points and responsible departments; the reports and the cases under their own headings.
pub fn toc_rows<'a>(catalogue: &Catalogue, files: &'a [PlannedFile]) -> Vec<TocRow<'a>> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for f in files {
        if current != Some(f.item.as_str()) {
            current = Some(&f.item);
            out.push(TocRow::Heading(heading(catalogue, &f.item)));
        }
        out.push(TocRow::File(f));
    }
    out
}

fn heading(catalogue: &Catalogue, item: &str) -> String {
    let Some(item) = item.parse::<ItemCode>().ok().and_then(|code| catalogue.item(code)) else {
        return item.to_string();
    };
    let departments: Vec<&str> = item
        .departments
        .iter()
        .map(|id| catalogue.department(id).map_or(id.as_str(), |d| d.name.as_str()))
        .collect();
    format!(
        "{} {}（{}）　责任单位：{}",
        item.code.padded(),
        item.title.trim_end_matches(|c: char| c == '。' || c.is_whitespace()),
        item.scoring().label(),
        departments.join("、")
    )
}

#[derive(Template)]
#[template(path = "bundle_toc.html")]
struct TocHtml<'a> {
    title: &'a str,
    as_of: &'a str,
    /// The state's fingerprint and the paper its 起止页 come from.
    paper: &'a str,
    rows: Vec<TocRow<'a>>,
}

pub fn toc_html(
    catalogue: &Catalogue,
    title: &str,
    as_of: &str,
    paper: &str,
    files: &[PlannedFile],
) -> Result<Vec<u8>, askama::Error> {
    let page = TocHtml { title, as_of, paper, rows: toc_rows(catalogue, files) };
    Ok(page.render()?.into_bytes())
}

pub fn toc_xlsx(
    catalogue: &Catalogue,
    title: &str,
    files: &[PlannedFile],
    date: (u16, u8, u8),
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = sheet::workbook(date)?;
    let rows: Vec<Row> = toc_rows(catalogue, files)
        .into_iter()
        .map(|row| match row {
            TocRow::Heading(text) => Row::Heading(text),
            TocRow::File(f) => Row::Cells(vec![
                f.number.into(),
                f.reference.as_str().into(),
                f.doc_number.as_deref().into(),
                f.author.as_str().into(),
                f.title.as_str().into(),
                f.date.as_deref().into(),
                f.pages.into(),
                f.printed.as_deref().into(),
                f.remarks.join("；").into(),
            ]),
        })
        .collect();
    sheet::table(&mut wb, "目录", title, &TOC_COLUMNS, &rows)?;
    wb.save_to_buffer()
}

/// `00 校验信息.xlsx`: each file's path, size and SHA-256, in a workbook of its own so that
/// printing the 目录 prints the 目录 alone.
pub fn checks_xlsx(title: &str, files: &[PlannedFile], date: (u16, u8, u8)) -> Result<Vec<u8>, XlsxError> {
    let mut wb = sheet::workbook(date)?;
    let checks: Vec<Row> = files
        .iter()
        .map(|f| {
            Row::Cells(vec![
                f.number.into(),
                f.reference.as_str().into(),
                f.path.as_str().into(),
                f.size.into(),
                f.sha256.as_str().into(),
            ])
        })
        .collect();
    let check_title = format!("{title}（校验信息）");
    sheet::table(&mut wb, "校验信息", &check_title, &CHECK_COLUMNS, &checks)?;
    wb.save_to_buffer()
}

/// 附件4: 2021年度质量工作考核联系人员名单.
pub fn contacts_xlsx(
    catalogue: &Catalogue,
    city: &str,
    contacts: &[(String, Contacts)],
    date: (u16, u8, u8),
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = sheet::workbook(date)?;
    let columns = [
        ("责任单位", 18.0),
        ("类别", 10.0),
        ("姓名", 10.0),
        ("性别", 6.0),
        ("单位", 24.0),
        ("职务", 14.0),
        ("电话、传真", 18.0),
        ("手机", 16.0),
        ("邮箱", 28.0),
    ];
    let mut rows = Vec::new();
    for dept in &catalogue.departments {
        for (_, c) in contacts.iter().filter(|(id, _)| *id == dept.id) {
            for x in &c.contacts {
                let row = [dept.name.as_str(), x.role.label()].into_iter().chain(x.columns());
                rows.push(Row::Cells(row.map(Cell::from).collect()));
            }
        }
    }
    let title = format!("{city}{}年度质量工作考核联系人员名单", catalogue.year);
    sheet::table(&mut wb, "联系人员名单", &title, &columns, &rows)?;
    wb.save_to_buffer()
}
