//! 纸质版: the printed volumes built from a state with PDFs of known page counts, pictures of
//! several formats, an Office file, a damaged PDF and an encrypted one, read back with poppler
//! (pdfinfo, pdftotext, pdftohtml's outline) and rasterised into target/print/ to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use yingjian_aggregator::print::Of;

use super::{TestServer, pdf_pages, tiff_pages};

fn poppler(tool: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .arg("-")
        .output()
        .unwrap_or_else(|_| panic!("{tool} (poppler-utils)"));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Page `page` of `pdf` rasterised at `dpi` into `target/print/<name>.png`, for a person to
/// look at; answers the folder.
fn look_at(pdf: &Path, page: usize, dpi: u32, name: &str) -> PathBuf {
    let look = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/print");
    std::fs::create_dir_all(&look).unwrap();
    let page = page.to_string();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", &dpi.to_string(), "-f", &page, "-l", &page, "-singlefile"])
        .arg(pdf)
        .arg(look.join(name))
        .status()
        .unwrap();
    assert!(status.success());
    look
}

fn pages_of(pdf: &Path) -> usize {
    let info = String::from_utf8(Command::new("pdfinfo").arg(pdf).output().unwrap().stdout).unwrap();
    info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap()
}

/// A real JPEG, rasterised by pdftoppm from a PDF page.
fn real_jpeg(dir: &Path) -> Vec<u8> {
    let source = dir.join("photo.pdf");
    std::fs::write(&source, pdf_pages("photo", 1, None)).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-jpeg", "-r", "20", "-singlefile"])
        .arg(&source)
        .arg(dir.join("photo"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("photo.jpg")).unwrap()
}

/// A phone's photo held upright: stored 2:1 wide (red left half, blue right half) with EXIF
/// Orientation 6, i.e. to be turned a quarter clockwise to be seen: then tall, red on top.
fn upright_photo(dir: &Path) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let paint = b"1 0 0 rg 0 0 300 300 re f 0 0 1 rg 300 0 300 300 re f".to_vec();
    let content = doc.add_object(Stream::new(dictionary! {}, paint));
    let media: Vec<Object> = vec![0.into(), 0.into(), 600.into(), 300.into()];
    let page = doc.add_object(
        dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => media, "Contents" => content },
    );
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![Object::from(page)], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let source = dir.join("wide.pdf");
    doc.save(&source).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-jpeg", "-r", "24", "-singlefile"])
        .arg(&source)
        .arg(dir.join("wide"))
        .status()
        .unwrap();
    assert!(status.success());
    let jpeg = std::fs::read(dir.join("wide.jpg")).unwrap();
    // APP1 "Exif": a big-endian TIFF with one IFD entry, Orientation (0x0112, SHORT) = 6.
    let tiff: &[u8] = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A one-page PDF whose words are in annotations only (as an electronic seal is): one that
/// prints (`/F 4`), one hidden (`/F 6`), one for the screen only (`/F 0`), and a checkbox whose
/// `/AS` picks the appearance that is on. The stamp's form has its own `/Matrix` and a `/BBox`
/// at an offset, and the page inherits its resources from the page tree.
fn annotated_pdf() -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let font =
        doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let mut form = |words: &str, bbox: [i64; 4], matrix: Option<Vec<Object>>| {
        let mut dict = dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => bbox.iter().map(|v| Object::from(*v)).collect::<Vec<_>>(),
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        };
        if let Some(m) = matrix {
            dict.set("Matrix", m);
        }
        let paint = format!("BT /F1 12 Tf {} {} Td ({words}) Tj ET", bbox[0] + 2, bbox[1] + 4);
        doc.add_object(Stream::new(dict, paint.into_bytes()))
    };
    let seal = form(
        "SEAL2021",
        [10, 10, 110, 40],
        Some(vec![1.into(), 0.into(), 0.into(), 1.into(), 5.into(), 5.into()]),
    );
    let hidden = form("HIDDENNOTE", [0, 0, 100, 30], None);
    let screen = form("SCREENONLY", [0, 0, 100, 30], None);
    let on = form("BOXTICKED", [0, 0, 100, 30], None);
    let off = form("BOXEMPTY", [0, 0, 100, 30], None);
    let annot = |doc: &mut Document, flags: i64, rect: [i64; 4], ap: Object, state: Option<&str>| {
        let mut a = dictionary! {
            "Type" => "Annot", "Subtype" => "Stamp", "F" => flags,
            "Rect" => rect.iter().map(|v| Object::from(*v)).collect::<Vec<_>>(),
            "AP" => dictionary! { "N" => ap },
        };
        if let Some(state) = state {
            a.set("AS", Object::Name(state.as_bytes().to_vec()));
        }
        Object::from(doc.add_object(a))
    };
    let annots = vec![
        annot(&mut doc, 4, [300, 600, 500, 660], seal.into(), None),
        annot(&mut doc, 6, [300, 500, 400, 530], hidden.into(), None),
        annot(&mut doc, 0, [300, 400, 400, 430], screen.into(), None),
        annot(
            &mut doc,
            4,
            [300, 300, 400, 330],
            dictionary! { "Yes" => on, "Off" => off }.into(),
            Some("Yes"),
        ),
    ];
    let pages_id = doc.new_object_id();
    let content =
        doc.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf 72 760 Td (BODYTEXT) Tj ET".to_vec()));
    let media: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => media, "Contents" => content, "Annots" => annots,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![Object::from(page)], "Count" => 1,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A PDF that asks for a password nobody gave.
fn encrypted_pdf() -> Vec<u8> {
    use lopdf::{Object, dictionary};
    let mut doc = lopdf::Document::load_mem(&pdf_pages("secret", 2, None)).unwrap();
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -4,
        "O" => Object::string_literal(vec![7u8; 32]), "U" => Object::string_literal(vec![9u8; 32]),
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set("ID", vec![Object::string_literal(vec![1u8; 16]), Object::string_literal(vec![1u8; 16])]);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// The 目录 page of a bundle.
fn toc_of(bundle: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(bundle).unwrap()).unwrap();
    let name =
        archive.file_names().map(|n| n.unwrap().to_string()).find(|n| n.ends_with("/00 目录.html")).unwrap();
    let mut toc = String::new();
    std::io::Read::read_to_string(&mut archive.by_name(&name).unwrap(), &mut toc).unwrap();
    toc
}

#[tokio::test]
async fn the_paper_version_has_every_page_numbered_bookmarked_and_in_order() {
    // Without LibreOffice (`soffice = ""`): the Word file gets a placeholder.
    let s = TestServer::with_config(|c| {
        c.city = "平顶山市".into();
        c.print.soffice = Some(String::new());
    })
    .await;
    let police = s.token(Some("police"), "pc-1").await;
    let scratch = tempfile::tempdir().unwrap();
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(40, 30, image::Rgb([200, 30, 30])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut bmp = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(30, 40, image::Rgb([30, 30, 200])))
        .write_to(&mut std::io::Cursor::new(&mut bmp), image::ImageFormat::Bmp)
        .unwrap();
    let item = "08.03 昆仑2021专项行动";
    // (path, bytes, pages on paper)
    let files: Vec<(String, Vec<u8>, usize)> = vec![
        ("自评报告/公安局自评报告.pdf".into(), pdf_pages("report", 4, None), 4),
        (format!("{item}/文件/通知.pdf"), pdf_pages("notice", 3, None), 3),
        (format!("{item}/文件/方案.pdf"), pdf_pages("plan", 2, None), 2),
        (format!("{item}/文件/检查记录.docx"), b"PK\x03\x04 a word file".to_vec(), 1),
        (format!("{item}/文件/损坏的扫描件.pdf"), b"%PDF-1.4\n1 0 obj << /Type /Cat".to_vec(), 1),
        (format!("{item}/文件/加密的通知.pdf"), encrypted_pdf(), 1),
        (format!("{item}/图片/销毁现场.jpg"), real_jpeg(scratch.path()), 1),
        (format!("{item}/图片/查获物品.png"), png, 1),
        (format!("{item}/图片/仓库.bmp"), bmp, 1),
        (format!("{item}/图片/现场检查记录.tif"), tiff_pages(3, 3), 3),
    ];
    for (path, bytes, _) in &files {
        assert!(s.file(&police, path, bytes).await.is_success(), "{path}");
    }
    // The CLI prints a line for each file that got a placeholder.
    let config = scratch.path().join("aggregator.toml");
    std::fs::write(&config, format!("data = {:?}\n[print]\nsoffice = \"\"\n", s.dir.path().join("data")))
        .unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["print", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(scratch.path().join("cli"))
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let problems = String::from_utf8(cli.stderr).unwrap();
    for name in ["检查记录.docx", "损坏的扫描件.pdf", "加密的通知.pdf"] {
        assert!(problems.contains(name), "{name} gets a placeholder and a line: {problems}");
    }
    let out = scratch.path().join("print");
    let built = yingjian_aggregator::print::build(&s.state, &out, Of::Record).await.unwrap();
    assert_eq!(built.problems.len(), 3, "{:?}", built.problems);
    let written: Vec<PathBuf> = built.written.iter().map(|(p, _)| p.clone()).collect();
    let names: Vec<String> =
        written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert_eq!(names, ["00 自评报告.pdf", "03 质量安全监管.pdf"]);

    // Cover + one page of 目录 + every file's pages.
    let report = &written[0];
    assert_eq!(pages_of(report), 1 + 1 + 4);
    let evidence = &written[1];
    let file_pages: usize = files[1..].iter().map(|f| f.2).sum();
    assert_eq!(pages_of(evidence), 1 + 1 + file_pages);

    let text = poppler("pdftotext", &[], evidence);
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for n in 1..=pages_of(evidence) {
        assert!(squeezed.contains(&format!("第{n}页")), "page {n} is numbered: {text}");
    }
    assert!(
        squeezed.contains("平顶山市迎接2021年度河南省政府质量工作考核")
            && squeezed.contains("三、质量安全监管"),
        "the cover: {text}"
    );
    // The 目录 gives each file's 起止页, after the cover and the 目录: within the item 文件 then
    // 图片, each by name (加密 3, 损坏 4, 方案 5–6, 检查记录 7, 通知 8–10, 仓库 11, 查获物品 12,
    // 现场检查记录 13–15, 销毁现场 16).
    // Each row on A4 turned with the nine columns: 序号, 档号, 文号, 责任者, 题名, 日期, 页数,
    // 起止页, 备注.
    let laid_out = poppler("pdftotext", &["-layout", "-f", "2", "-l", "2"], evidence);
    let row = |reference: &str| -> Vec<String> {
        let line = laid_out
            .lines()
            .find(|l| l.contains(reference))
            .unwrap_or_else(|| panic!("{reference}: {laid_out}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    for heading in ["序号", "档号", "文号", "责任者", "题名", "日期", "页数", "起止页", "备注"]
    {
        assert!(laid_out.contains(heading), "{heading}: {laid_out}");
    }
    assert_eq!(row("08.03-003"), ["4", "08.03-003", "平顶山市公安局", "方案", "2", "5–6", "文件"]);
    assert_eq!(row("08.03-005"), ["6", "08.03-005", "平顶山市公安局", "通知", "3", "8–10", "文件"]);
    assert_eq!(row("08.03-008"), ["9", "08.03-008", "平顶山市公安局", "现场检查记录", "3", "13–15", "图片"]);
    // A placeholder's 页数 is not the page about it.
    assert_eq!(row("08.03-002")[..4], ["3", "08.03-002", "平顶山市公安局", "损坏的扫描件"]);
    assert!(!row("08.03-002").contains(&"1".to_string()), "{laid_out}");
    assert!(
        squeezed.contains("销毁现场") && squeezed.contains("电子版"),
        "captions and placeholders: {text}"
    );

    // A bookmark per item and per file, pointing at its first page.
    let outline = poppler("pdftohtml", &["-xml", "-stdout", "-i", "-q"], evidence);
    let items = outline.matches("<item page=").count();
    assert!(items >= files.len(), "{outline}");
    assert!(outline.contains(r#"<item page="8">08.03-005 通知</item>"#), "{outline}");

    // For a person to look at.
    let look = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/print");
    std::fs::create_dir_all(&look).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "14"])
        .arg(evidence)
        .arg(look.join("volume"))
        .status()
        .unwrap();
    assert!(status.success());
    // The cover and the 目录 large enough to read.
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "72", "-f", "1", "-l", "2"])
        .arg(evidence)
        .arg(look.join("volume-readable"))
        .status()
        .unwrap();
    assert!(status.success());

    // The electronic 目录 built after it gives the same 起止页 (and names the volume).
    let bundle = yingjian_aggregator::bundle::Bundles::new(scratch.path().join("bundles"))
        .build(&s.state, "test", yingjian_aggregator::bundle::Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let toc = toc_of(&bundle.path);
    for (title, span) in [
        ("方案", "03 质量安全监管 第5–6页"),
        ("现场检查记录", "03 质量安全监管 第13–15页"),
        ("公安局自评报告", "00 自评报告 第3–6页"),
    ] {
        let row = toc
            .lines()
            .find(|l| l.contains(&format!("<td>{title}</td>")))
            .unwrap_or_else(|| panic!("{title}: {toc}"));
        assert!(row.contains(&format!("<td>{span}</td>")), "{title}: {row}");
    }

    // Paper and zip go together: the bundle is named for the state's fingerprint and says its
    // 起止页 are those of the paper of record, whose cover and every footer carry the fingerprint.
    let shelf = yingjian_aggregator::bundle::Bundles::new(scratch.path().join("bundles"));
    let parts = yingjian_aggregator::bundle::NameParts::of(&bundle.name).expect("a bundle's name");
    let fingerprint = parts.fingerprint.to_string();
    assert!(bundle.name.starts_with("平顶山市2021年度质量工作考核材料-") && parts.paged, "{}", bundle.name);
    assert_eq!(squeezed.matches(&format!("校验码{fingerprint}")).count(), pages_of(evidence) + 1, "{text}");
    assert!(toc.contains(&format!("状态校验码 {fingerprint}；起止页依据")), "{toc}");
    let checked = yingjian_aggregator::bundle::verify(&bundle.path).unwrap();
    assert!(checked.is_intact() && checked.fingerprint == Some((fingerprint.clone(), true)), "{checked:?}");
    // The evidence changes: that paper is not of this state, so no 起止页 at all, and a print
    // elsewhere (`print --out`) changes nothing of the hand-in.
    assert!(
        s.file(&police, &format!("{item}/文件/补充通知.pdf"), &pdf_pages("more", 1, None)).await.is_success()
    );
    yingjian_aggregator::print::build(&s.state, &scratch.path().join("copy"), Of::Copy).await.unwrap();
    let changed =
        shelf.build(&s.state, "test", yingjian_aggregator::bundle::Layout::Plain, |_, _| {}).await.unwrap();
    let changed_parts = yingjian_aggregator::bundle::NameParts::of(&changed.name).unwrap();
    assert!(!changed_parts.paged && changed_parts.fingerprint != fingerprint, "{}", changed.name);
    let changed_toc = toc_of(&changed.path);
    assert!(
        !changed_toc.contains("第5–6页") && changed_toc.contains("本状态尚未生成纸质版，起止页空缺"),
        "{changed_toc}"
    );
    // The paper of record printed again: the same fingerprint as the zip without page numbers;
    // the zip built now has them.
    let new_fingerprint = changed_parts.fingerprint.to_string();
    yingjian_aggregator::print::build(&s.state, &out, Of::Record).await.unwrap();
    let paged =
        shelf.build(&s.state, "test", yingjian_aggregator::bundle::Layout::Plain, |_, _| {}).await.unwrap();
    let paged_parts = yingjian_aggregator::bundle::NameParts::of(&paged.name).unwrap();
    assert!(paged_parts.paged && paged_parts.fingerprint == new_fingerprint, "{}", paged.name);
    assert!(toc_of(&paged.path).contains("03 质量安全监管 第5–6页"));
    let cover = poppler("pdftotext", &["-f", "1", "-l", "1"], &out.join("03 质量安全监管.pdf"));
    assert!(cover.contains(&format!("状态校验码 {new_fingerprint}")), "{cover}");

    // Built twice from the same state: the same bytes.
    let again = scratch.path().join("again");
    yingjian_aggregator::print::build(&s.state, &again, Of::Copy).await.unwrap();
    assert_eq!(std::fs::read(evidence).unwrap(), std::fs::read(again.join("03 质量安全监管.pdf")).unwrap());
}

#[tokio::test]
async fn a_photo_taken_upright_is_printed_upright() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let scratch = tempfile::tempdir().unwrap();
    let photo = upright_photo(scratch.path());
    assert!(s.file(&police, "08.03 昆仑2021专项行动/图片/竖拍的照片.jpg", &photo).await.is_success());
    let built = yingjian_aggregator::print::build(&s.state, scratch.path(), Of::Copy).await.unwrap();
    let volume = &built.written[0].0;
    assert_eq!(pages_of(volume), 3, "cover, 目录, the photo");
    let look = look_at(volume, 3, 30, "upright-photo");
    let page = image::open(look.join("upright-photo.png")).unwrap().to_rgb8();
    // The photo's extent on the page: coloured pixels (the caption and page number are grey).
    let coloured = |p: &image::Rgb<u8>| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 120;
    let (mut left, mut top, mut right, mut bottom) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in page.enumerate_pixels() {
        if coloured(p) {
            (left, top, right, bottom) = (left.min(x), top.min(y), right.max(x), bottom.max(y));
        }
    }
    assert!(right > left && bottom > top, "the photo is on the page");
    let (w, h) = (right - left, bottom - top);
    assert!(h > w * 3 / 2, "upright: {w}×{h} px");
    let red = |p: &image::Rgb<u8>| p.0[0] > 150 && p.0[2] < 100;
    let blue = |p: &image::Rgb<u8>| p.0[2] > 150 && p.0[0] < 100;
    let centre = left + w / 2;
    assert!(red(page.get_pixel(centre, top + h / 4)), "red on top");
    assert!(blue(page.get_pixel(centre, top + 3 * h / 4)), "blue below");
}

#[tokio::test]
async fn a_seal_in_an_annotation_is_printed_with_its_page() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let scratch = tempfile::tempdir().unwrap();
    assert!(
        s.file(&police, "08.03 昆仑2021专项行动/文件/盖章的通知.pdf", &annotated_pdf()).await.is_success()
    );
    let built = yingjian_aggregator::print::build(&s.state, scratch.path(), Of::Copy).await.unwrap();
    let volume = &built.written[0].0;
    assert_eq!(pages_of(volume), 3, "cover, 目录, the page");
    let text = poppler("pdftotext", &["-f", "3", "-l", "3", "-layout"], volume);
    for printed in ["BODYTEXT", "SEAL2021", "BOXTICKED"] {
        assert!(text.contains(printed), "{printed} is on paper: {text}");
    }
    for not_printed in ["HIDDENNOTE", "SCREENONLY", "BOXEMPTY"] {
        assert!(!text.contains(not_printed), "{not_printed} does not print: {text}");
    }
    // Where the seal is: inside its rectangle (x 300–500, y 600–660 from the bottom of 842).
    let bbox = poppler("pdftotext", &["-f", "3", "-l", "3", "-bbox"], volume);
    let line = bbox.lines().find(|l| l.contains(">SEAL2021<")).unwrap_or_else(|| panic!("{bbox}"));
    let attr = |name: &str| -> f32 {
        let rest = &line[line.find(&format!("{name}=\"")).unwrap() + name.len() + 2..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    };
    // The page is fitted to A4 as it is (A4 already): the same coordinates, y from the top.
    let (x, y) = (attr("xMin"), attr("yMax"));
    assert!(
        (300.0..500.0).contains(&x) && (842.0 - 660.0..842.0 - 600.0).contains(&y),
        "seal at {x},{y}: {line}"
    );
    look_at(volume, 3, 40, "annotated");
}

#[tokio::test]
async fn the_office_builds_the_paper_version_from_the_bundles_page() {
    let s = TestServer::start().await;
    let office = s.token(None, "office").await;
    let police = s.token(Some("police"), "pc-1").await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/通知.pdf", &pdf_pages("notice", 2, None)).await;
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |token: &str| no_redirect.post(s.url("/bundles/print")).bearer_auth(token.to_string()).send();
    assert_eq!(post(&police).await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
    let mut events = s.state.events.subscribe();
    assert_eq!(post(&office).await.unwrap().headers()["location"], "/bundles#print");
    // The build runs in the background and says when it is done.
    let done = async {
        while events.recv().await.unwrap().detail.as_deref() != Some(yingjian_aggregator::print::PRINTED) {}
    };
    tokio::time::timeout(std::time::Duration::from_mins(1), done).await.expect("the print build ends");
    let page = s.req(reqwest::Method::GET, "/bundles", &office).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已生成"), "{page}");
    let link = "/bundles/print/03%20%E8%B4%A8%E9%87%8F%E5%AE%89%E5%85%A8%E7%9B%91%E7%AE%A1.pdf";
    assert!(page.contains("03 质量安全监管.pdf"), "{page}");
    let r = s.req(reqwest::Method::GET, link, &office).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    let r = s.req(reqwest::Method::GET, link, &police).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let r =
        s.req(reqwest::Method::GET, "/bundles/print/..%2Fyingjian.sqlite3", &office).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn office_files_are_converted_when_libreoffice_is_there() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().set_name("agri_stats").unwrap().write_string(0, 0, "查获假冒商品登记表").unwrap();
    let xlsx = book.save_to_buffer().unwrap();
    s.file(&police, "08.03 昆仑2021专项行动/文件/登记表.xlsx", &xlsx).await;
    let out = tempfile::tempdir().unwrap();
    let built = yingjian_aggregator::print::build(&s.state, out.path(), Of::Copy).await.unwrap();
    let volume = &built.written[0].0;
    let text: String = poppler("pdftotext", &[], volume).chars().filter(|c| !c.is_whitespace()).collect();
    let on_path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap()).any(|d| d.join("soffice").is_file());
    if on_path {
        assert!(built.problems.is_empty(), "{:?}", built.problems);
        assert!(text.contains("查获假冒商品登记表"), "the sheet's own text is printed: {text}");
        // Not LibreOffice's own header and footer (the sheet's name, 「Page 1」).
        assert!(!text.contains("agri_stats") && !text.contains("Page"), "{text}");
        look_at(volume, 3, 40, "office-page");
    } else {
        println!("SKIPPED conversion: no soffice on PATH (apt-get install libreoffice-calc-nogui)");
        assert_eq!(built.problems.len(), 1);
        assert!(text.contains("此处不能直接打印"), "{text}");
    }
}

#[tokio::test]
async fn an_area_past_its_pages_goes_on_in_volumes_that_sort_with_a_general_catalogue_across_them() {
    let s = TestServer::with_config(|c| {
        c.city = "平顶山市".into();
        c.print.soffice = Some(String::new());
        c.print.volume_pages = 6;
    })
    .await;
    let police = s.token(Some("police"), "pc-1").await;
    let item = "08.03 昆仑2021专项行动/文件";
    for (name, pages) in [("a通知", 3), ("b方案", 4), ("c报告", 2), ("d总结", 3), ("e简报", 1)] {
        let path = format!("{item}/{name}.pdf");
        let bytes = pdf_pages(name, pages, None);
        assert!(s.file(&police, &path, &bytes).await.is_success());
        // Volumes are cut by the pages read in each file (what the reader would say).
        let read = yingjian_aggregator::facts::Facts {
            read: yingjian_shared::ReadState::Done,
            pages: Some(pages),
            ..Default::default()
        };
        let version = yingjian_aggregator::READER_VERSION;
        s.state.db.set_reading(super::sha(&bytes), read, String::new(), version).await.unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let built = yingjian_aggregator::print::build(&s.state, out.path(), Of::Record).await.unwrap();
    let mut names: Vec<String> =
        built.written.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    names.sort();
    // Cut between files at six pages: 3 | 4 + 2 | 3 + 1, the 总目录 first as the names sort.
    assert_eq!(
        names,
        [
            "03 质量安全监管 总目录.pdf",
            "03 质量安全监管.pdf",
            "03 质量安全监管（续01）.pdf",
            "03 质量安全监管（续02）.pdf"
        ]
    );
    let index = out.path().join("03 质量安全监管 总目录.pdf");
    assert_eq!(pages_of(&index), 2, "a cover and the 总目录");
    look_at(&index, 2, 72, "general-catalogue");
    let laid_out = poppler("pdftotext", &["-layout"], &index);
    assert!(laid_out.contains("本领域材料共 3 册"), "{laid_out}");
    let row = |title: &str| -> Vec<String> {
        let line =
            laid_out.lines().find(|l| l.contains(title)).unwrap_or_else(|| panic!("{title}: {laid_out}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    // Each file with its volume and its pages there: after a cover and a page of 目录.
    assert_eq!(row("a通知")[4..], ["3", "首册", "3–5", "文件"]);
    assert_eq!(row("b方案")[4..], ["4", "续01", "3–6", "文件"]);
    assert_eq!(row("c报告")[4..], ["2", "续01", "7–8", "文件"]);
    assert_eq!(row("d总结")[4..], ["3", "续02", "3–5", "文件"]);
    assert_eq!(row("e简报")[4..], ["1", "续02", "6", "文件"]);
    // The electronic 目录 says the same, naming the volume's file.
    let bundle = yingjian_aggregator::bundle::Bundles::new(out.path().join("bundles"))
        .build(&s.state, "test", yingjian_aggregator::bundle::Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let toc = toc_of(&bundle.path);
    assert!(toc.contains("<td>03 质量安全监管（续02） 第3–5页</td>"), "{toc}");
}

/// A PDF of `pages` pages over 64 MB: each a line of text over a photograph-sized grey image of
/// noise (which no compression shrinks), stored uncompressed as a scanner might.
fn large_pdf(pages: u32) -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let (w, h) = (4960_i64, 4800_i64);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = || {
        let mut bytes = vec![0u8; (w * h) as usize];
        for chunk in bytes.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        bytes
    };
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font =
        doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let kids: Vec<Object> = (0..pages)
        .map(|i| {
            let image = doc.add_object(Stream::new(
                dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                    "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
                noise(),
            ));
            let paint = format!("q 495 0 0 479 50 300 cm /Im0 Do Q BT /F1 14 Tf 72 780 Td (BIGPAGE{i}) Tj ET");
            let content = doc.add_object(Stream::new(dictionary! {}, paint.into_bytes()));
            let media: Vec<Object> = vec![0.into(), 0.into(), 595.into(), 842.into()];
            let resources = dictionary! { "Font" => dictionary! { "F1" => font }, "XObject" => dictionary! { "Im0" => image } };
            let page = dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => media,
                "Contents" => content, "Resources" => resources };
            doc.add_object(page).into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => i64::from(pages) }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[tokio::test]
async fn a_pdf_of_any_size_is_printed_whole_beside_the_others_in_a_sound_volume() {
    let s = TestServer::start().await;
    let police = s.token(Some("police"), "pc-1").await;
    let scratch = tempfile::tempdir().unwrap();
    let big = large_pdf(3);
    assert!(big.len() > 64 << 20, "{} bytes", big.len());
    let folder = "08.03 昆仑2021专项行动/文件";
    assert!(s.file(&police, &format!("{folder}/01 执法案卷.pdf"), &big).await.is_success());
    drop(big);
    assert!(
        s.file(&police, &format!("{folder}/02 通知.pdf"), &pdf_pages("notice", 2, None)).await.is_success()
    );
    let built = yingjian_aggregator::print::build(&s.state, scratch.path(), Of::Record).await.unwrap();
    assert!(built.problems.is_empty(), "{:?}", built.problems);
    let volume = &built.written[0].0;
    // Cover, 目录, the case file's three pages, the notice's two.
    assert_eq!(pages_of(volume), 7);
    let check = Command::new("qpdf").arg("--check").arg(volume).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    for (page, said) in [(3, "BIGPAGE0"), (5, "BIGPAGE2")] {
        let text = poppler("pdftotext", &["-f", &page.to_string(), "-l", &page.to_string()], volume);
        let text = text.replace(' ', "");
        assert!(text.contains(said) && text.contains(&format!("第{page}页")), "page {page}: {text}");
    }
    let toc = poppler("pdftotext", &["-f", "2", "-l", "2", "-layout"], volume);
    assert!(!toc.contains("较大") && toc.contains("3–5") && toc.contains("6–7"), "{toc}");
    let outline = poppler("pdftohtml", &["-xml", "-stdout", "-i", "-q"], volume);
    for mark in [r#"<item page="3">08.03-001 执法案卷</item>"#, r#"<item page="6">08.03-002 通知</item>"#]
    {
        assert!(outline.contains(mark), "{mark}: {outline}");
    }
    // The electronic 目录 gives the paper's pages.
    let bundle = yingjian_aggregator::bundle::Bundles::new(scratch.path().join("bundles"))
        .build(&s.state, "test", yingjian_aggregator::bundle::Layout::Plain, |_, _| {})
        .await
        .unwrap();
    let toc = toc_of(&bundle.path);
    let row = toc.lines().find(|l| l.contains("<td>执法案卷</td>")).unwrap_or_else(|| panic!("{toc}"));
    assert!(row.contains("<td>03 质量安全监管 第3–5页</td>"), "{row}");
    // Its 页数 too, which no reading gave (the file is past what the readers open): the print's.
    assert!(row.contains(r#"<td class="num">3</td>"#), "{row}");
    look_at(volume, 3, 30, "large-file-page");
}

#[tokio::test]
async fn a_data_folder_named_relative_to_the_server_is_read_by_the_worker_too() {
    // Integration tests run in the package's folder: a data folder in the build's, named from here.
    let relative = PathBuf::from(format!("../target/tmp/relative-data-{}", std::process::id()));
    let s = TestServer::with_config(|c| c.data.clone_from(&relative)).await;
    let police = s.token(Some("police"), "pc-1").await;
    s.file(&police, "08.03 昆仑2021专项行动/文件/通知.pdf", &pdf_pages("notice", 2, None)).await;
    let out = tempfile::tempdir().unwrap();
    let built = yingjian_aggregator::print::build(&s.state, out.path(), Of::Copy).await.unwrap();
    assert!(built.problems.is_empty(), "{:?}", built.problems);
    assert_eq!(pages_of(&built.written[0].0), 4);
    std::fs::remove_dir_all(&relative).unwrap();
}
