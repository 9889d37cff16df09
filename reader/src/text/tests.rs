//! The PDF text layer read back from PDFs built here, as LibreOffice writes them, and from
//! hostile ones.

use std::fmt::Write as _;

use lopdf::{Document, Object, ObjectId, Stream, dictionary};

use super::pdf_layer;
use crate::ReadError;
use crate::fields::Line;

/// A Type0 font (Identity-H) whose ToUnicode map gives each character of `chars` the code
/// of its position (from 1), as LibreOffice's subset fonts do; `pua` maps them to the
/// private-use area instead, as a font without a real map does.
fn cid_font(doc: &mut Document, chars: &[char], pua: bool) -> ObjectId {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let _ = writeln!(cmap, "{} beginbfchar", chars.len());
    for (k, c) in chars.iter().enumerate() {
        let target = if pua { 0xe000 + k as u32 } else { u32::from(*c) };
        let mut utf16 = [0u16; 2];
        let mut hex = String::new();
        for unit in char::from_u32(target).unwrap().encode_utf16(&mut utf16) {
            let _ = write!(hex, "{unit:04X}");
        }
        let _ = writeln!(cmap, "<{:04X}> <{hex}>", k + 1);
    }
    cmap.push_str("endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
    let descendant = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Song",
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
        "DW" => 1000,
        // ASCII sorts first, so codes 1..=n are the half-width characters.
        "W" => vec![Object::Integer(1), Object::Array(vec![500.into(); chars.iter().filter(|c| c.is_ascii()).count().max(1)])],
    });
    doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Song", "Encoding" => "Identity-H",
        "DescendantFonts" => vec![descendant.into()], "ToUnicode" => to_unicode,
    })
}

/// One run of text: where, how large, what.
struct Run<'a> {
    x: f64,
    y: f64,
    size: f64,
    text: &'a str,
}

fn hex_codes(chars: &[char], text: &str) -> String {
    let mut hex = String::new();
    for c in text.chars() {
        let _ = write!(hex, "{:04X}", chars.iter().position(|k| *k == c).expect("char in font") + 1);
    }
    hex
}

/// A PDF whose pages show `runs` each in its own `BT … Td … Tj ET`, as LibreOffice writes
/// them; `prefix` goes before each page's runs (a `cm`, say).
fn pdf(pages: &[(&str, Vec<Run<'_>>)], pua: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let mut chars: Vec<char> =
        pages.iter().flat_map(|(_, runs)| runs.iter().flat_map(|r| r.text.chars())).collect();
    chars.sort_unstable();
    chars.dedup();
    let font = cid_font(&mut doc, &chars, pua);
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for (prefix, runs) in pages {
        let mut content = String::from(*prefix);
        for r in runs {
            let _ = write!(
                content,
                "\nq BT {} {} Td /F1 {} Tf <{}> Tj ET Q",
                r.x,
                r.y,
                r.size,
                hex_codes(&chars, r.text)
            );
        }
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

fn texts(page: Option<&Vec<Line>>) -> Vec<&str> {
    page.expect("a text layer").iter().map(|l| l.text.as_str()).collect()
}

fn notice_runs() -> Vec<Run<'static>> {
    vec![
        Run { x: 88.0, y: 700.0, size: 30.0, text: "平顶山市市场监督管理局文件" },
        // 文号 in five runs, as LibreOffice splits it by font.
        Run { x: 225.6, y: 615.0, size: 16.0, text: "平市监〔" },
        Run { x: 289.6, y: 615.0, size: 16.0, text: "2021" },
        Run { x: 321.6, y: 615.0, size: 16.0, text: "〕" },
        Run { x: 337.6, y: 615.0, size: 16.0, text: "12" },
        Run { x: 353.6, y: 615.0, size: 16.0, text: "号" },
        Run { x: 85.0, y: 555.0, size: 22.0, text: "关于开展质量提升行动的通知" },
        Run { x: 79.5, y: 500.0, size: 16.0, text: "各有关单位：" },
        // The body line's second half, drawn first (producers need not draw in order).
        Run { x: 207.5, y: 472.0, size: 16.0, text: "开展质量提升行动。" },
        Run { x: 111.5, y: 472.0, size: 16.0, text: "经研究决定，" },
    ]
}

#[test]
fn runs_are_regrouped_into_lines_in_reading_order() {
    let pages = pdf_layer(&pdf(&[("", notice_runs())], false), 10).expect("read");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        texts(pages[0].as_ref()),
        [
            "平顶山市市场监督管理局文件",
            "平市监〔2021〕12号",
            "关于开展质量提升行动的通知",
            "各有关单位：",
            "经研究决定，开展质量提升行动。"
        ]
    );
    let line = &pages[0].as_ref().expect("layer")[1];
    assert_eq!((line.page, line.confidence), (1, 1.0));
}

#[test]
fn the_fields_come_out_of_a_layer() {
    let pages = pdf_layer(&pdf(&[("", notice_runs())], false), 10).expect("read");
    let lines: Vec<Line> = pages.into_iter().flatten().flatten().collect();
    let f = crate::fields::extract(&lines);
    assert_eq!(f.doc_number.map(|f| f.value).as_deref(), Some("平市监〔2021〕12号"));
    assert_eq!(f.issuer.map(|f| f.value).as_deref(), Some("平顶山市市场监督管理局"));
}

#[test]
fn a_wide_gap_is_a_space_and_latin_words_keep_theirs() {
    let runs = vec![
        Run { x: 80.0, y: 100.0, size: 14.0, text: "平顶山市商务局办公室" },
        Run { x: 380.0, y: 100.0, size: 14.0, text: "2021年3月5日印发" },
        Run { x: 80.0, y: 700.0, size: 16.0, text: "ISO" },
        Run { x: 116.0, y: 700.0, size: 16.0, text: "9001" },
        Run { x: 156.0, y: 700.0, size: 16.0, text: "质量管理体系认证" },
    ];
    let pages = pdf_layer(&pdf(&[("", runs)], false), 10).expect("read");
    assert_eq!(
        texts(pages[0].as_ref()),
        ["ISO 9001 质量管理体系认证", "平顶山市商务局办公室 2021年3月5日印发"]
    );
}

#[test]
fn faux_bold_is_read_once_and_a_letter_spaced_header_stays_one_word() {
    let runs = vec![
        Run { x: 100.0, y: 700.0, size: 30.0, text: "平" },
        Run { x: 100.5, y: 700.0, size: 30.0, text: "平" },
        Run { x: 145.0, y: 700.0, size: 30.0, text: "顶" },
        Run { x: 145.5, y: 700.0, size: 30.0, text: "顶" },
        Run { x: 190.0, y: 700.0, size: 30.0, text: "山" },
        Run { x: 100.0, y: 600.0, size: 16.0, text: "正文内容" },
    ];
    let pages = pdf_layer(&pdf(&[("", runs)], false), 10).expect("read");
    assert_eq!(texts(pages[0].as_ref()), ["平顶山", "正文内容"]);
}

#[test]
fn a_page_turned_by_its_content_reads_in_its_own_direction() {
    // The whole page drawn through a quarter turn (a landscape table set on a portrait page).
    let pages = pdf_layer(&pdf(&[("0 1 -1 0 595 0 cm", notice_runs())], false), 10).expect("read");
    assert_eq!(texts(pages[0].as_ref())[1], "平市监〔2021〕12号");
    assert_eq!(texts(pages[0].as_ref()).len(), 5);
}

#[test]
fn scanned_private_use_and_blank_pages_have_no_layer() {
    let pua = pdf_layer(&pdf(&[("", notice_runs())], true), 10).expect("read");
    assert_eq!(pua, vec![None]);
    let blank = pdf_layer(&pdf(&[("", vec![])], false), 10).expect("read");
    assert_eq!(blank, vec![None]);
    // A scan with a stamped page number over it.
    let mut doc = Document::load_mem(&pdf(
        &[("", vec![Run { x: 280.0, y: 30.0, size: 12.0, text: "平顶山市商务局" }])],
        false,
    ))
    .expect("load");
    let image = doc.add_object(Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
        vec![255],
    ));
    let page_id = doc.get_pages()[&1];
    let page = doc.get_dictionary_mut(page_id).expect("page");
    let mut resources = page.get(b"Resources").expect("resources").as_dict().expect("dict").clone();
    resources.set("XObject", dictionary! { "Im0" => image });
    page.set("Resources", resources);
    doc.add_page_contents(page_id, b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec()).expect("content");
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save");
    assert_eq!(pdf_layer(&bytes, 10).expect("read"), vec![None]);
}

#[test]
fn pages_past_the_bound_are_not_read() {
    let page = |t: &'static str| ("", vec![Run { x: 80.0, y: 700.0, size: 16.0, text: t }]);
    let bytes = pdf(&[page("第一页的正文内容"), page("第二页的正文内容"), page("第三页的正文内容")], false);
    let pages = pdf_layer(&bytes, 2).expect("read");
    assert_eq!(pages.len(), 2);
    assert_eq!(texts(pages[1].as_ref()), ["第二页的正文内容"]);
    assert_eq!(pages[1].as_ref().expect("layer")[0].page, 2);
}

#[test]
fn a_form_xobject_is_read_and_a_self_drawing_form_ends() {
    let mut doc = Document::load_mem(&pdf(&[("", notice_runs())], false)).expect("load");
    let page_id = doc.get_pages()[&1];
    // Move the page's content into a form that also draws itself.
    let content = doc.get_page_content(page_id);
    let resources = doc.get_dictionary(page_id).expect("page").get(b"Resources").expect("res").clone();
    let form_id = doc.new_object_id();
    let mut body = content.clone();
    body.extend_from_slice(b"\n/Fm0 Do");
    let mut form_resources = resources.as_dict().expect("dict").clone();
    form_resources.set("XObject", dictionary! { "Fm0" => form_id });
    let form = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()], "Resources" => form_resources.clone() },
        body,
    );
    doc.objects.insert(form_id, Object::Stream(form));
    let new_content = doc.add_object(Stream::new(dictionary! {}, b"/Fm0 Do".to_vec()));
    let page = doc.get_dictionary_mut(page_id).expect("page");
    page.set("Contents", new_content);
    page.set("Resources", form_resources);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save");
    let pages = pdf_layer(&bytes, 10).expect("read");
    // The form drew itself eight deep: the same glyphs in the same places, read once.
    assert_eq!(texts(pages[0].as_ref())[1], "平市监〔2021〕12号");
}

#[test]
fn an_encrypted_pdf_needs_its_password() {
    use lopdf::{EncryptionState, EncryptionVersion, Permissions};
    let encrypt = |user: &str| {
        let mut doc = Document::load_mem(&pdf(&[("", notice_runs())], false)).expect("load");
        let id = Object::String(b"0123456789abcdef".to_vec(), lopdf::StringFormat::Hexadecimal);
        doc.trailer.set("ID", vec![id.clone(), id]);
        let version = EncryptionVersion::V2 {
            document: &doc,
            owner_password: "owner",
            user_password: user,
            key_length: 128,
            permissions: Permissions::PRINTABLE,
        };
        let state = EncryptionState::try_from(version).expect("state");
        doc.encrypt(&state).expect("encrypt");
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).expect("save");
        bytes
    };
    assert!(matches!(pdf_layer(&encrypt("secret"), 10), Err(ReadError::Encrypted)));
    // Encrypted only against changes (no user password): anyone can open it, so it is read.
    let open = pdf_layer(&encrypt(""), 10).expect("read");
    assert_eq!(texts(open[0].as_ref())[1], "平市监〔2021〕12号");
}

fn deep(depth: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(depth * 2);
    s.extend(std::iter::repeat_n(b'[', depth));
    s.extend(std::iter::repeat_n(b']', depth));
    s
}

#[test]
fn arrays_nested_100000_deep_do_not_overflow_the_stack() {
    let base = pdf(&[("", notice_runs())], false);
    // In the page's resources, as an object of its own.
    let text = String::from_utf8_lossy(&base).into_owned();
    let resources = text.find("/Resources").expect("resources");
    let at = resources + text[resources..].find("<<").expect("a dictionary") + 2;
    let mut bytes = base[..at].to_vec();
    bytes.extend_from_slice(b" /Deep ");
    bytes.extend(deep(100_000));
    bytes.extend_from_slice(&base[at..]);
    let _ = pdf_layer(&bytes, 10);
    // In the content stream, as the operand of TJ.
    let mut doc = Document::load_mem(&base).expect("load");
    let page_id = doc.get_pages()[&1];
    let mut content = b"BT /F1 12 Tf 10 10 Td ".to_vec();
    content.extend(deep(100_000));
    content.extend_from_slice(b" TJ ET");
    doc.add_page_contents(page_id, content).expect("content");
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save");
    let _ = pdf_layer(&bytes, 10);
    // And as a whole file of brackets.
    let mut bytes = b"%PDF-1.7\n1 0 obj\n".to_vec();
    bytes.extend(deep(100_000));
    bytes.extend_from_slice(b"\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    let _ = pdf_layer(&bytes, 10);
}

#[test]
fn truncated_and_garbage_pdfs_fail_cleanly() {
    let base = pdf(&[("", notice_runs())], false);
    for cut in [0, 10, 100, base.len() / 3, base.len() / 2, base.len() - 40, base.len() - 1] {
        let _ = pdf_layer(&base[..cut], 10);
    }
    let mut flipped = base.clone();
    for k in (200..flipped.len()).step_by(97) {
        flipped[k] ^= 0x5a;
    }
    let _ = pdf_layer(&flipped, 10);
    assert!(pdf_layer(b"not a pdf at all", 10).is_err());
}
