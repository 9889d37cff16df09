//! A page of paper as the print lays it out and the electronic 目录 counts it: A4, the turned
//! 目录 pages with DA/T 22-2015's nine columns, each cell wrapped to its column (a Chinese
//! character's width is one em, others about half), and where each file starts.

use yingjian_shared::{Catalogue, ItemCode};

use crate::plan::PlannedFile;

pub const A4: (f32, f32) = (595.28, 841.89);
/// A4 turned: the 目录's pages, wide enough for its nine columns.
pub const A4_ACROSS: (f32, f32) = (A4.1, A4.0);
pub const MARGIN: f32 = 56.0;
/// The 目录's columns (DA/T 22-2015) and their widths in points, filling the turned page.
pub const TOC_COLUMNS: [(&str, f32); 9] = [
    ("序号", 28.0),
    ("档号", 58.0),
    ("文号", 100.0),
    ("责任者", 100.0),
    ("题名", 233.0),
    ("日期", 52.0),
    ("页数", 30.0),
    ("起止页", 64.0),
    ("备注", 64.0),
];
pub const TOC_SIZE: f32 = 9.0;
pub const TOC_LINE: f32 = 12.0;
/// Above and below a row's lines.
pub const TOC_PAD: f32 = 6.0;
/// Where the header row's text stands, and how far rows may go down.
pub const TOC_TOP: f32 = MARGIN + 40.0;
pub const TOC_BOTTOM: f32 = A4_ACROSS.1 - MARGIN + 10.0;

pub fn width_of(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.55 * size } else { size }).sum()
}

/// At most `width` points of `text`, with `…` when cut.
pub fn fit(text: &str, size: f32, width: f32) -> String {
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

/// A row of a volume's 目录, each cell wrapped to its column (titles are never cut): an item's
/// heading across the page, or a file.
pub enum TocRow {
    Heading(Vec<String>),
    File([Vec<String>; 9]),
}

impl TocRow {
    pub fn heading(text: &str) -> TocRow {
        TocRow::Heading(wrap(text, TOC_SIZE + 0.5, A4_ACROSS.0 - 2.0 * MARGIN))
    }

    /// A file's row; `pages` and `span` are its 页数 and 起止页 on paper (blank when not known).
    pub fn file(f: &PlannedFile, pages: Option<usize>, span: &str) -> TocRow {
        let texts = [
            f.number.to_string(),
            f.reference.clone(),
            f.doc_number.clone().unwrap_or_default(),
            f.author.clone(),
            f.title.clone(),
            f.date.clone().unwrap_or_default(),
            pages.map(|p| p.to_string()).unwrap_or_default(),
            span.to_string(),
            f.remarks.join("；"),
        ];
        TocRow::File(std::array::from_fn(|c| wrap(&texts[c], TOC_SIZE, TOC_COLUMNS[c].1 - 6.0)))
    }

    pub fn height(&self) -> f32 {
        let lines = match self {
            TocRow::Heading(lines) => lines.len(),
            TocRow::File(cells) => cells.iter().map(Vec::len).max().unwrap_or(1),
        };
        lines.max(1) as f32 * TOC_LINE + TOC_PAD
    }
}

/// The 目录's rows in pages: as many as fit under the header row, at least one page.
pub fn toc_pages(rows: &[TocRow]) -> Vec<std::ops::Range<usize>> {
    let room = TOC_BOTTOM - (TOC_TOP + TOC_PAD);
    let (mut out, mut start, mut used) = (Vec::new(), 0, 0.0);
    for (i, row) in rows.iter().enumerate() {
        if used + row.height() > room && i > start {
            out.push(start..i);
            (start, used) = (i, 0.0);
        }
        used += row.height();
    }
    out.push(start..rows.len());
    out
}

/// The 目录's rows of `files`, a heading before each item's; `cells(i)` gives file `i`'s 页数
/// and 起止页.
pub fn toc_rows(
    files: &[&PlannedFile],
    title_of: &dyn Fn(&str) -> String,
    cells: &dyn Fn(usize) -> (Option<usize>, String),
) -> Vec<TocRow> {
    let mut rows = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if i == 0 || files[i - 1].item != f.item {
            rows.push(TocRow::heading(&title_of(&f.item)));
        }
        let (pages, span) = cells(i);
        rows.push(TocRow::file(f, pages, &span));
    }
    rows
}

/// An item's line in the 目录 and the outline (`08.03 …（…）`).
pub fn heading(catalogue: &Catalogue, item: &str) -> String {
    match item.parse::<ItemCode>().ok().and_then(|code| catalogue.item(code)) {
        Some(i) => format!("{} {}（{}）", i.code.padded(), i.short_title, i.scoring().label()),
        None => item.to_string(),
    }
}

/// The first page of each file in a volume of files taking `pages`, and the volume's pages: a
/// cover, the 目录 (its rows wrapped, as many pages as they take; `title_of` gives an item's
/// heading), then the files. The electronic 目录 reads its 起止页 from here too.
pub fn layout(
    files: &[&PlannedFile],
    pages: &[usize],
    title_of: &dyn Fn(&str) -> String,
) -> (Vec<usize>, usize) {
    // A 起止页 always fits its column's one line: the rows' heights do not wait for them.
    let rows = toc_rows(files, title_of, &|i| (Some(pages[i]), String::new()));
    let mut next = 1 + toc_pages(&rows).len() + 1;
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

/// Lines of at most `width` points.
pub fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
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
