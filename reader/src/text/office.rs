//! The text of Office files (.docx, .odt, .xlsx): paragraphs and rows as lines, read from the zip
//! within bounds whatever its headers claim.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use super::lines::collapse_spaces;
use crate::ReadError;
use crate::fields::Line;

/// Entries an Office zip may have.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// The most one XML part may inflate to.
const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// The most all parts read from one file may inflate to, together.
const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
/// Worksheets read from one workbook.
const MAX_SHEETS: usize = 64;
/// Characters of text kept from one Office file.
const MAX_OFFICE_CHARS: usize = 8 * 1024 * 1024;

/// The paragraphs of an Office document (by its sniffed kind: "docx", "odt", "xlsx"), one line
/// each (a manual line break splits a paragraph). A .docx page break starts the next page; an
/// .xlsx sheet is a page, a row a line (cells joined with a space).
///
/// # Errors
/// [`ReadError::Unsupported`] for another kind, [`ReadError::Damaged`] for a broken zip or XML,
/// [`ReadError::TooLarge`] for a zip bomb (too many entries, or a part that inflates too far).
pub fn office(bytes: &[u8], kind: &str) -> Result<Vec<Line>, ReadError> {
    let mut zip = Zip::open(bytes)?;
    match kind {
        "docx" => {
            let xml = zip.part("word/document.xml")?.ok_or_else(|| damaged("no word/document.xml"))?;
            paragraphs(&xml, &WORD)
        }
        "odt" => {
            let xml = zip.part("content.xml")?.ok_or_else(|| damaged("no content.xml"))?;
            paragraphs(&xml, &ODF)
        }
        "xlsx" => workbook(&mut zip),
        _ => Err(ReadError::Unsupported),
    }
}

/// The page count the authoring program saved with the document when it last laid it out
/// (Word's and LibreOffice's `docProps/app.xml` `<Pages>`, ODF's `meta:page-count`); `None` for
/// a workbook, or when it is not there.
pub fn office_pages(bytes: &[u8], kind: &str) -> Option<u32> {
    let mut zip = Zip::open(bytes).ok()?;
    let (part, element, attribute): (&str, &[u8], Option<&[u8]>) = match kind {
        "docx" => ("docProps/app.xml", b"Pages", None),
        "odt" => ("meta.xml", b"document-statistic", Some(b"page-count")),
        _ => return None,
    };
    let xml = zip.part(part).ok()??;
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut in_element = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => match attribute {
                Some(name) => {
                    let value = e.attributes().flatten().find(|a| a.key.local_name().as_ref() == name)?.value;
                    return std::str::from_utf8(&value).ok()?.trim().parse().ok().filter(|n| *n > 0);
                }
                None => in_element = true,
            },
            Event::Text(t) if in_element => {
                return std::str::from_utf8(&t).ok()?.trim().parse().ok().filter(|n| *n > 0);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn damaged(why: impl std::fmt::Display) -> ReadError {
    ReadError::Damaged(why.to_string())
}

/// Which Office document a zip is, as the extension it would have: OOXML by the main part it
/// holds (`docx`, `xlsx`, `pptx`), ODF by its `mimetype` (`odt`, `ods`, `odp`). `None`: another
/// zip, or none. Only the zip's directory and the 100 bytes of `mimetype` are read.
pub fn office_format(zip: impl Read + std::io::Seek) -> Option<&'static str> {
    let mut archive = zip::ZipArchive::new(zip).ok()?;
    let ooxml =
        [("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx")];
    if let Some((_, format)) = ooxml.iter().find(|(part, _)| archive.index_for_name(part).is_some()) {
        return Some(format);
    }
    let mut mimetype = String::new();
    archive.by_name("mimetype").ok()?.take(100).read_to_string(&mut mimetype).ok()?;
    let open = [("text", "odt"), ("spreadsheet", "ods"), ("presentation", "odp")];
    let kind = mimetype.strip_prefix("application/vnd.oasis.opendocument.")?;
    open.iter().find(|(k, _)| kind == *k).map(|(_, format)| *format)
}

struct Zip<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    read_so_far: u64,
}

impl<'a> Zip<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, ReadError> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(ReadError::TooLarge(format!("{} zip entries", archive.len())));
        }
        Ok(Self { archive, read_so_far: 0 })
    }

    /// One part, inflated within the bounds whatever its header claims; `None` if absent.
    fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let mut file = match self.archive.by_name(name) {
            Ok(file) => file,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(err) => return Err(damaged(err)),
        };
        let budget = MAX_PART_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(self.read_so_far));
        if file.size() > budget {
            return Err(ReadError::TooLarge(format!("{name} inflates to {} bytes", file.size())));
        }
        let mut out = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 20));
        (&mut file).take(budget + 1).read_to_end(&mut out).map_err(damaged)?;
        let read = out.len() as u64;
        if read > budget {
            return Err(ReadError::TooLarge(format!("{name} inflates past {budget} bytes")));
        }
        self.read_so_far += read;
        Ok(Some(out))
    }

    fn names(&self) -> Vec<String> {
        self.archive.file_names().filter_map(|n| n.ok().map(std::borrow::Cow::into_owned)).collect()
    }
}

/// The element names a paragraph format uses (local names, without the prefix).
struct Dialect {
    /// Elements that make a line.
    paragraph: &'static [&'static [u8]],
    /// Elements whose text is the paragraph's.
    text: &'static [u8],
    /// Elements whose content is skipped (deleted text, field codes, alternate renderings, notes).
    skip: &'static [&'static [u8]],
    tab: &'static [u8],
    line_break: &'static [u8],
    /// ODF's `<text:s text:c="n"/>`: n spaces.
    space: Option<&'static [u8]>,
    /// Whether `text` holds the text directly (Word's `w:t`) or any text inside a paragraph
    /// counts (ODF writes text straight into `text:p` and `text:span`).
    only_in_text: bool,
}

const WORD: Dialect = Dialect {
    paragraph: &[b"p"],
    text: b"t",
    skip: &[b"delText", b"instrText", b"Fallback", b"del", b"footnoteReference", b"rPh"],
    tab: b"tab",
    line_break: b"br",
    space: None,
    only_in_text: true,
};

const ODF: Dialect = Dialect {
    paragraph: &[b"p", b"h"],
    text: b"p",
    skip: &[b"tracked-changes", b"annotation", b"note-citation", b"bookmark-ref"],
    tab: b"tab",
    line_break: b"line-break",
    space: Some(b"s"),
    only_in_text: false,
};

/// Paragraphs of a Word or ODF body. A paragraph nested in another (a text box) becomes its own
/// line, before the rest of the outer one.
fn paragraphs(xml: &[u8], dialect: &Dialect) -> Result<Vec<Line>, ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    let mut page = 1u32;
    let mut skipping = 0usize;
    let mut in_text = 0usize;
    let mut chars = 0usize;
    let push_line = |text: &str, page: u32, lines: &mut Vec<Line>| {
        let text = collapse_spaces(text);
        if !text.is_empty() {
            lines.push(Line { text, page, confidence: 1.0 });
        }
    };
    loop {
        let event = reader.read_event_into(&mut buf).map_err(damaged)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if skipping > 0 || dialect.skip.contains(&name) {
                    if !empty {
                        skipping += 1;
                    }
                } else if dialect.paragraph.contains(&name) {
                    if !empty {
                        if open.len() > 64 {
                            return Err(damaged("paragraphs nested too deep"));
                        }
                        open.push(String::new());
                    }
                } else if name == dialect.text && dialect.only_in_text {
                    if !empty {
                        in_text += 1;
                    }
                } else if let Some(current) = open.last_mut() {
                    if name == dialect.tab {
                        current.push('\t');
                    } else if name == dialect.line_break {
                        let page_break = e
                            .attributes()
                            .flatten()
                            .any(|a| a.key.local_name().as_ref() == b"type" && &*a.value == b"page");
                        let text = std::mem::take(current);
                        push_line(&text, page, &mut lines);
                        if page_break {
                            page += 1;
                        }
                    } else if Some(name) == dialect.space {
                        let n = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == b"c")
                            .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse::<usize>().ok())
                            .unwrap_or(1);
                        current.push_str(&" ".repeat(n.min(64)));
                    }
                }
            }
            Event::End(ref e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if skipping > 0 {
                    skipping -= 1;
                } else if dialect.paragraph.contains(&name) {
                    if let Some(text) = open.pop() {
                        push_line(&text, page, &mut lines);
                    }
                } else if name == dialect.text && dialect.only_in_text {
                    in_text = in_text.saturating_sub(1);
                }
            }
            Event::Text(ref t) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    if dialect.only_in_text {
                        current.push_str(&text);
                    } else {
                        // ODF collapses white space: a newline inside a paragraph is a space.
                        current.push_str(&text.replace(['\n', '\r', '\t'], " "));
                    }
                }
            }
            Event::CData(ref t) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    current.push_str(&text);
                }
            }
            Event::GeneralRef(ref r) if skipping == 0 && (in_text > 0 || !dialect.only_in_text) => {
                if let Some(current) = open.last_mut() {
                    current.push_str(&entity(r)?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("text over the budget".into()));
        }
        buf.clear();
    }
    Ok(lines)
}

/// `&amp;` and `&#x4E00;`; an unknown entity is dropped (quick-xml never expands a DTD's).
fn entity(r: &quick_xml::events::BytesRef<'_>) -> Result<String, ReadError> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = r.decode().map_err(damaged)?;
    Ok(quick_xml::escape::resolve_predefined_entity(&name).unwrap_or("").to_owned())
}

/// An .xlsx: the shared strings, then every sheet in name order, one line per row.
fn workbook(zip: &mut Zip<'_>) -> Result<Vec<Line>, ReadError> {
    let shared = match zip.part("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let mut sheets: Vec<(u32, String)> = zip
        .names()
        .into_iter()
        .filter_map(|n| {
            let number = n.strip_prefix("xl/worksheets/sheet")?.strip_suffix(".xml")?.parse().ok()?;
            Some((number, n))
        })
        .collect();
    sheets.sort();
    let mut lines = Vec::new();
    for (page, (_, name)) in (1u32..).zip(sheets.into_iter().take(MAX_SHEETS)) {
        if let Some(xml) = zip.part(&name)? {
            sheet_rows(&xml, &shared, page, &mut lines)?;
        }
    }
    Ok(lines)
}

fn shared_strings(xml: &[u8]) -> Result<Vec<String>, ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let (mut in_t, mut in_phonetic) = (false, false);
    let mut chars = 0usize;
    loop {
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => current = Some(String::new()),
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"si" => out.push(String::new()),
            Event::End(e) => match e.local_name().as_ref() {
                b"si" => out.push(current.take().unwrap_or_default()),
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    let text = t.decode().map_err(damaged)?;
                    chars += text.len();
                    s.push_str(&text);
                }
            }
            Event::GeneralRef(r) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&entity(&r)?);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("shared strings over the budget".into()));
        }
        buf.clear();
    }
    Ok(out)
}

fn sheet_rows(xml: &[u8], shared: &[String], page: u32, lines: &mut Vec<Line>) -> Result<(), ReadError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell_type: Vec<u8> = Vec::new();
    let mut value = String::new();
    let (mut in_value, mut in_inline) = (false, false);
    let mut chars = 0usize;
    loop {
        match reader.read_event_into(&mut buf).map_err(damaged)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"row" => row.clear(),
                b"c" => {
                    cell_type = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"t")
                        .map(|a| a.value.to_vec())
                        .unwrap_or_default();
                    value.clear();
                }
                b"v" => in_value = true,
                b"t" if cell_type == b"inlineStr" => in_inline = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"row" => {
                    let text = collapse_spaces(&row.join(" "));
                    if !text.is_empty() {
                        lines.push(Line { text, page, confidence: 1.0 });
                    }
                    row.clear();
                }
                b"c" => {
                    let text = if cell_type == b"s" {
                        value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        std::mem::take(&mut value)
                    };
                    if !text.trim().is_empty() && row.len() < 16_384 {
                        chars += text.len();
                        row.push(text);
                    }
                    value.clear();
                }
                b"v" => in_value = false,
                b"t" => in_inline = false,
                _ => {}
            },
            Event::Text(t) if in_value || in_inline => value.push_str(&t.decode().map_err(damaged)?),
            Event::GeneralRef(r) if in_value || in_inline => value.push_str(&entity(&r)?),
            Event::Eof => break,
            _ => {}
        }
        if chars > MAX_OFFICE_CHARS || value.len() > MAX_OFFICE_CHARS {
            return Err(ReadError::TooLarge("sheet text over the budget".into()));
        }
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write as _};

    use super::*;

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in parts {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("start");
            zip.write_all(data).expect("write");
        }
        zip.finish().expect("finish").into_inner()
    }

    fn line_texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn docx_paragraphs_runs_breaks_and_text_boxes() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
<w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="420"/></w:tabs></w:pPr><w:r><w:t>秘密★1年</w:t></w:r></w:p>
<w:p><w:r><w:rPr><w:color w:val="FF0000"/></w:rPr><w:t>平顶山市市场</w:t></w:r><w:r><w:t>监督管理局文件</w:t></w:r></w:p>
<w:p><w:r><w:t>平市监〔</w:t></w:r><w:r><w:t>2021</w:t></w:r><w:r><w:t>〕12号</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">关于开展 </w:t></w:r><w:r><w:br/><w:t>质量提升行动的通知</w:t></w:r></w:p>
<w:p><w:r><w:t>A &amp; B &#x4E00;</w:t></w:r><w:del><w:r><w:delText>删掉的字</w:delText></w:r></w:del><w:r><w:instrText>PAGE</w:instrText></w:r></w:p>
<w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>文本框里的字</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>外面的字</w:t></w:r></w:p>
<w:p><w:r><w:br w:type="page"/><w:t>第二页</w:t></w:r></w:p>
<w:p/>
</w:body></w:document>"#;
        let bytes = zip_of(&[("word/document.xml", xml.as_bytes())]);
        let lines = office(&bytes, "docx").expect("docx");
        assert_eq!(
            line_texts(&lines),
            [
                "秘密★1年",
                "平顶山市市场监督管理局文件",
                "平市监〔2021〕12号",
                "关于开展",
                "质量提升行动的通知",
                "A & B 一",
                "文本框里的字",
                "外面的字",
                "第二页"
            ]
        );
        assert_eq!(lines.last().expect("line").page, 2);
        assert!(lines.iter().all(|l| (l.confidence - 1.0).abs() < f32::EPSILON));
    }

    #[test]
    fn odt_paragraphs_headings_and_spaces() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0">
<office:body><office:text>
<text:tracked-changes><text:changed-region><text:deletion><text:p>删掉的字</text:p></text:deletion></text:changed-region></text:tracked-changes>
<text:h text:outline-level="1">平顶山市商务局2021年度质量工作自评报告</text:h>
<text:p>一、<text:span>基本情况</text:span></text:p>
<text:p>ISO<text:s/>9001<text:s text:c="3"/>认证<text:tab/>完成<text:line-break/>第二行</text:p>
<text:p>外<draw:frame><draw:text-box><text:p>框内</text:p></draw:text-box></draw:frame>面</text:p>
<text:p><office:annotation><text:p>批注</text:p></office:annotation>正文</text:p>
</office:text></office:body></office:document-content>"#;
        let bytes = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", xml.as_bytes()),
        ]);
        let lines = office(&bytes, "odt").expect("odt");
        assert_eq!(
            line_texts(&lines),
            [
                "平顶山市商务局2021年度质量工作自评报告",
                "一、基本情况",
                "ISO 9001 认证 完成",
                "第二行",
                "框内",
                "外面",
                "正文"
            ]
        );
    }

    #[test]
    fn page_counts_as_the_authoring_program_saved_them() {
        let app = br#"<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Template></Template><Pages>3</Pages><Words>120</Words></Properties>"#;
        assert_eq!(office_pages(&zip_of(&[("docProps/app.xml", app)]), "docx"), Some(3));
        let meta = br#"<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"><office:meta><meta:document-statistic meta:table-count="0" meta:page-count="2"/></office:meta></office:document-meta>"#;
        assert_eq!(office_pages(&zip_of(&[("meta.xml", meta)]), "odt"), Some(2));
        // Absent, zero or not a number: unknown, not a guess.
        assert_eq!(office_pages(&zip_of(&[("word/document.xml", b"<w:document/>")]), "docx"), None);
        let zero = b"<Properties><Pages>0</Pages></Properties>";
        assert_eq!(office_pages(&zip_of(&[("docProps/app.xml", zero)]), "docx"), None);
        let junk = b"<Properties><Pages>many</Pages></Properties>";
        assert_eq!(office_pages(&zip_of(&[("docProps/app.xml", junk)]), "docx"), None);
        assert_eq!(office_pages(b"not a zip", "docx"), None);
    }

    #[test]
    fn xlsx_rows_with_shared_and_inline_strings() {
        let shared = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>单位</t></si><si><r><t>平顶山市</t></r><r><t>商务局</t></r><rPh><t>ピン</t></rPh></si><si/></sst>"#;
        let sheet1 = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>得分</t></is></c></row>
<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>98.5</v></c><c r="C2" t="s"><v>99</v></c></row>
<row r="3"><c r="A3" t="s"><v>2</v></c></row>
</sheetData></worksheet>"#;
        let sheet2 = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row><c t="str"><v>合计</v></c></row></sheetData></worksheet>"#;
        let bytes = zip_of(&[
            ("xl/sharedStrings.xml", shared.as_bytes()),
            ("xl/worksheets/sheet10.xml", sheet2.as_bytes()),
            ("xl/worksheets/sheet2.xml", sheet1.as_bytes()),
        ]);
        let lines = office(&bytes, "xlsx").expect("xlsx");
        assert_eq!(line_texts(&lines), ["单位 得分", "平顶山市商务局 98.5", "合计"]);
        assert_eq!(lines[2].page, 2);
    }

    #[test]
    fn office_bombs_and_garbage_are_refused() {
        let zeros = vec![0u8; usize::try_from(MAX_PART_BYTES).expect("fits") + 1];
        let bomb = zip_of(&[("word/document.xml", &zeros)]);
        assert!(bomb.len() < 1_000_000, "deflate squeezes zeros");
        assert!(matches!(office(&bomb, "docx"), Err(ReadError::TooLarge(_))));

        let names: Vec<String> = (0..=MAX_ZIP_ENTRIES).map(|k| format!("f{k}")).collect();
        let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        assert!(matches!(office(&zip_of(&parts), "docx"), Err(ReadError::TooLarge(_))));

        assert!(matches!(office(b"PK\x03\x04 broken", "docx"), Err(ReadError::Damaged(_))));
        assert!(matches!(office(&zip_of(&[("other.xml", b"<a/>")]), "docx"), Err(ReadError::Damaged(_))));
        assert!(matches!(
            office(&zip_of(&[("content.xml", b"<a><b></a>")]), "odt"),
            Err(ReadError::Damaged(_))
        ));
        assert!(matches!(office(&zip_of(&[("content.xml", b"<a/>")]), "pptx"), Err(ReadError::Unsupported)));
        // Paragraphs nested past any real document's depth.
        let mut nested = String::new();
        for _ in 0..200 {
            nested.push_str("<w:p>");
        }
        let bytes = zip_of(&[("word/document.xml", nested.as_bytes())]);
        assert!(office(&bytes, "docx").is_err());
    }
}
