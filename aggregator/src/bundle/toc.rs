//! The bundle's 目录 (HTML to print, `.xlsx` to sort and filter) and the contact list (附件4).
//! Generated from the plan and the status document only, so they are identical for the same state.

use askama::Template;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use yingjian_shared::{Catalogue, Contacts, ItemState, Status};

use super::plan::PlannedFile;

/// Column headers of the 目录, in the archival catalogue's order.
const TOC_COLUMNS: [(&str, f64); 9] = [
    ("序号", 6.0),
    ("事项编号", 9.0),
    ("责任单位", 18.0),
    ("类别", 8.0),
    ("题名", 50.0),
    ("日期", 12.0),
    ("大小", 12.0),
    ("SHA-256", 66.0),
    ("备注", 24.0),
];

/// Each department's completeness, one row each.
pub fn summary_rows(status: &Status) -> Vec<Vec<String>> {
    status
        .departments
        .iter()
        .map(|d| {
            let count = |s: ItemState| d.items.iter().filter(|i| i.status == s).count().to_string();
            vec![
                d.name.clone(),
                d.points_total.to_string(),
                d.points_covered.to_string(),
                count(ItemState::Complete),
                count(ItemState::Incomplete),
                count(ItemState::Missing),
                if d.report { "已交" } else { "未交" }.into(),
                d.cases.to_string(),
                if d.contacts { "已报" } else { "未报" }.into(),
            ]
        })
        .collect()
}

/// Every scored item that some responsible department has not filed evidence for.
pub fn missing_rows(catalogue: &Catalogue, status: &Status) -> Vec<Vec<String>> {
    catalogue
        .items()
        .filter(|i| i.is_scored())
        .filter_map(|item| {
            let lacking: Vec<String> = status
                .departments
                .iter()
                .filter(|d| d.items.iter().any(|s| s.code == item.code && s.status == ItemState::Missing))
                .map(|d| d.name.clone())
                .collect();
            (!lacking.is_empty()).then(|| {
                vec![
                    item.code.to_string(),
                    item.short_title.clone(),
                    item.score().to_string(),
                    lacking.join("、"),
                ]
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "bundle_toc.html")]
struct TocHtml<'a> {
    title: &'a str,
    as_of: &'a str,
    points_total: String,
    points_covered: String,
    summary: Vec<Vec<String>>,
    missing: Vec<Vec<String>>,
    files: &'a [PlannedFile],
}

pub fn toc_html(
    catalogue: &Catalogue,
    title: &str,
    as_of: &str,
    status: &Status,
    files: &[PlannedFile],
) -> Result<Vec<u8>, askama::Error> {
    let page = TocHtml {
        title,
        as_of,
        points_total: status.points_total.to_string(),
        points_covered: status.points_covered.to_string(),
        summary: summary_rows(status),
        missing: missing_rows(catalogue, status),
        files,
    };
    Ok(page.render()?.into_bytes())
}

/// A workbook with a fixed creation date: the same state gives the same bytes.
fn workbook(date: (u16, u8, u8)) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(date.0, date.1, date.2)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created).set_author("迎检材料收集系统"));
    Ok(wb)
}

/// Writes a header row and rows of text; widths are in characters (Chinese counts about two).
fn table(sheet: &mut Worksheet, columns: &[(&str, f64)], rows: &[Vec<String>]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (c, (name, width)) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, value)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

pub fn toc_xlsx(
    catalogue: &Catalogue,
    status: &Status,
    files: &[PlannedFile],
    date: (u16, u8, u8),
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = workbook(date)?;
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            vec![
                f.number.to_string(),
                f.item.clone(),
                f.department.clone(),
                f.kind.clone(),
                f.title.clone(),
                f.date.clone(),
                f.size.to_string(),
                f.sha256.clone(),
                f.remarks.join("；"),
            ]
        })
        .collect();
    table(wb.add_worksheet().set_name("目录")?, &TOC_COLUMNS, &rows)?;
    let summary_columns = [
        ("责任单位", 18.0),
        ("涉及分值", 10.0),
        ("已覆盖", 10.0),
        ("齐全", 8.0),
        ("待完善", 8.0),
        ("缺失", 8.0),
        ("自评报告", 10.0),
        ("典型案例", 10.0),
        ("联系人", 8.0),
    ];
    table(wb.add_worksheet().set_name("完成情况")?, &summary_columns, &summary_rows(status))?;
    let missing_columns = [("事项编号", 10.0), ("事项", 36.0), ("分值", 8.0), ("责任单位", 30.0)];
    table(wb.add_worksheet().set_name("仍缺材料")?, &missing_columns, &missing_rows(catalogue, status))?;
    wb.save_to_buffer()
}

/// 附件4: 2021年度质量工作考核联系人员名单.
pub fn contacts_xlsx(
    catalogue: &Catalogue,
    contacts: &[(String, Contacts)],
    date: (u16, u8, u8),
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = workbook(date)?;
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
                rows.push(row.map(String::from).collect());
            }
        }
    }
    table(wb.add_worksheet().set_name("联系人员名单")?, &columns, &rows)?;
    wb.save_to_buffer()
}
