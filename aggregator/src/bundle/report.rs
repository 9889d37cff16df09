//! The office's own report (`report`, and a download on the 打包 page): each department's
//! 完成情况, the items still lacking evidence and those not yet complete, as a workbook and a
//! printable page. It is built from the same state as a bundle and is never part of one: what
//! the city lacks is for the office to chase, not for the province to read.

use askama::Template;
use rust_xlsxwriter::XlsxError;
use yingjian_shared::{Catalogue, ItemState, Status};

use super::sheet::{self, Cell, Column, Row};
use crate::error::{AppError, AppResult};
use crate::services::Services;

const SUMMARY_COLUMNS: [Column; 9] = [
    ("责任单位", 20.0),
    ("涉及分值", 10.0),
    ("已齐全分值", 12.0),
    ("齐全", 8.0),
    ("待完善", 8.0),
    ("缺失", 8.0),
    ("自评报告", 10.0),
    ("典型案例", 10.0),
    ("联系人", 8.0),
];
const MISSING_COLUMNS: [Column; 4] =
    [("事项编号", 10.0), ("事项", 40.0), ("分值", 8.0), ("未报送的责任单位", 40.0)];
const INCOMPLETE_COLUMNS: [Column; 4] =
    [("事项编号", 10.0), ("事项", 32.0), ("责任单位", 18.0), ("待完善之处", 60.0)];

/// The report in both forms, and its title.
pub struct Report {
    pub title: String,
    /// `YYYYMMDD-HHMM` in Beijing time, for file names.
    pub stamp: String,
    pub xlsx: Vec<u8>,
    pub html: Vec<u8>,
}

struct Tables {
    summary: Vec<Vec<Cell>>,
    missing: Vec<Vec<Cell>>,
    incomplete: Vec<Vec<Cell>>,
}

fn tables(catalogue: &Catalogue, status: &Status) -> Tables {
    let summary = status
        .departments
        .iter()
        .map(|d| {
            let count = |s: ItemState| d.items.iter().filter(|i| i.status == s).count().into();
            vec![
                d.name.as_str().into(),
                Cell::Number(d.points_total.as_f64()),
                Cell::Number(d.points_complete.as_f64()),
                count(ItemState::Complete),
                count(ItemState::Incomplete),
                count(ItemState::Missing),
                if d.report { "已交" } else { "未交" }.into(),
                (d.cases as usize).into(),
                if d.contacts { "已报" } else { "未报" }.into(),
            ]
        })
        .collect();
    let mut missing = Vec::new();
    let mut incomplete = Vec::new();
    for item in catalogue.items().filter(|i| i.is_scored()) {
        let of = |state: ItemState| {
            status.departments.iter().filter_map(move |d| {
                d.items.iter().find(|s| s.code == item.code && s.status == state).map(|s| (d, s))
            })
        };
        let lacking: Vec<&str> = of(ItemState::Missing).map(|(d, _)| d.name.as_str()).collect();
        if !lacking.is_empty() {
            missing.push(vec![
                item.code.to_string().into(),
                item.short_title.as_str().into(),
                Cell::Number(item.score().as_f64()),
                lacking.join("、").into(),
            ]);
        }
        for (d, s) in of(ItemState::Incomplete) {
            incomplete.push(vec![
                item.code.to_string().into(),
                item.short_title.as_str().into(),
                d.name.as_str().into(),
                s.reasons.join("；").into(),
            ]);
        }
    }
    Tables { summary, missing, incomplete }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportHtml<'a> {
    title: &'a str,
    as_of: &'a str,
    points_complete: String,
    points_total: String,
    tables: &'a Tables,
}

/// The report of the state now.
pub async fn build(state: &Services) -> AppResult<Report> {
    let data = state.status_data().await?;
    let status = state.status_of(&data, None);
    let local = yingjian_shared::china_time(status.generated);
    let title = format!("{}{}材料完成情况", state.config.city, state.catalogue.name);
    let as_of = local.strftime("%Y年%-m月%-d日 %H:%M").to_string();
    let tables = tables(&state.catalogue, &status);
    let html = ReportHtml {
        title: &title,
        as_of: &as_of,
        points_complete: status.points_complete.to_string(),
        points_total: status.points_total.to_string(),
        tables: &tables,
    }
    .render()
    .map_err(AppError::internal)?
    .into_bytes();
    let day = (local.year() as u16, local.month() as u8, local.day() as u8);
    let xlsx = workbook(&title, &tables, day).map_err(AppError::internal)?;
    Ok(Report { title, stamp: local.strftime("%Y%m%d-%H%M").to_string(), xlsx, html })
}

fn workbook(title: &str, tables: &Tables, date: (u16, u8, u8)) -> Result<Vec<u8>, XlsxError> {
    let mut wb = sheet::workbook(date)?;
    let rows = |t: &[Vec<Cell>]| t.iter().map(|r| Row::Cells(r.clone())).collect::<Vec<_>>();
    sheet::table(&mut wb, "完成情况", title, &SUMMARY_COLUMNS, &rows(&tables.summary))?;
    sheet::table(&mut wb, "仍缺材料", "仍缺材料的事项", &MISSING_COLUMNS, &rows(&tables.missing))?;
    sheet::table(&mut wb, "待完善", "材料待完善的事项", &INCOMPLETE_COLUMNS, &rows(&tables.incomplete))?;
    wb.save_to_buffer()
}
