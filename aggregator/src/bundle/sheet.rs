//! Workbooks that print as an archivist expects: A4 landscape, fit to the page's width, a title
//! row, the header row repeated on every page, borders, `第 N 页 共 M 页` in the footer, numbers
//! stored as numbers. Every sheet the system writes (目录, 校验信息, 联系人, the office's
//! report) goes through `Table`.

use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

/// A4 in the paper codes of the OOXML standard.
const A4: u8 = 9;

/// One cell of a table row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    /// Numbers line up on the right of a printed column.
    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Number(_))
    }

    /// As a printable page shows it (`2`, `2.5`).
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, Into::into)
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Number(f64::from(n))
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Cell {
        Cell::Number(n as f64)
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Number(n as f64)
    }
}

/// A row of a table: cells, or a heading across the whole width (an item of the catalogue).
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Cells(Vec<Cell>),
    Heading(String),
}

/// A column: its header and its width in characters (a Chinese character counts about two).
pub type Column = (&'static str, f64);

/// A workbook with a fixed creation date: the same state gives the same bytes.
pub fn workbook(date: (u16, u8, u8)) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(date.0, date.1, date.2)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created).set_author("迎检材料收集系统"));
    Ok(wb)
}

/// 宋体 with the GB2312 character set: Excel and WPS find SimSun by name, LibreOffice takes the
/// character set to choose Simplified Chinese glyphs from whatever CJK font it has (without it,
/// it may print Japanese forms).
fn font() -> Format {
    Format::new().set_font_name("宋体").set_font_charset(134).set_font_size(10.5)
}

/// Width of a text in character cells: a Chinese character (or any wide one) takes two.
fn display_width(text: &str) -> f64 {
    text.chars().map(|c| if c.is_ascii() { 1.0 } else { 2.0 }).sum()
}

/// Writes a titled, printable table as one sheet.
pub fn table(
    wb: &mut Workbook,
    name: &str,
    title: &str,
    columns: &[Column],
    rows: &[Row],
) -> Result<(), XlsxError> {
    let sheet: &mut Worksheet = wb.add_worksheet().set_name(name)?;
    let last = columns.len() as u16 - 1;
    let border = font().set_border(FormatBorder::Thin).set_align(FormatAlign::VerticalCenter);
    let text = border.clone().set_text_wrap();
    let number = border.clone().set_align(FormatAlign::Center);
    let header = border.clone().set_bold().set_align(FormatAlign::Center).set_background_color(0x00E8_E8E8);
    let heading = text.clone().set_bold().set_background_color(0x00F4_F4F4);
    let title_format = font()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    sheet.merge_range(0, 0, 0, last, title, &title_format)?;
    sheet.set_row_height(0, 32)?;
    for (c, (name, width)) in columns.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 2;
        match row {
            Row::Heading(label) => {
                sheet.merge_range(r, 0, r, last, label, &heading)?;
                // Neither Excel nor LibreOffice fits a merged row's height to its text.
                let across: f64 = columns.iter().map(|c| c.1).sum();
                sheet.set_row_height(r, 15.0 * (display_width(label) / across).ceil().max(1.0))?;
            }
            Row::Cells(cells) => {
                // Neither fits a row to wrapped text on opening a file either: give it the lines.
                let lines = cells
                    .iter()
                    .zip(columns)
                    .map(|(cell, (_, width))| match cell {
                        Cell::Text(t) => (display_width(t) / (width - 1.0).max(1.0)).ceil(),
                        _ => 1.0,
                    })
                    .fold(1.0, f64::max);
                if lines > 1.0 {
                    sheet.set_row_height(r, 15.0 * lines)?;
                }
                for (c, cell) in cells.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Text(v) => sheet.write_string_with_format(r, c, v, &text)?,
                        Cell::Number(n) => sheet.write_number_with_format(r, c, *n, &number)?,
                        Cell::Empty => sheet.write_blank(r, c, &border)?,
                    };
                }
            }
        }
    }
    sheet.set_landscape().set_paper_size(A4).set_print_fit_to_pages(1, 0).set_print_center_horizontally(true);
    sheet.set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3);
    sheet.set_repeat_rows(1, 1)?;
    sheet.set_footer("&C第 &P 页 共 &N 页");
    sheet.set_freeze_panes(2, 0)?;
    Ok(())
}
