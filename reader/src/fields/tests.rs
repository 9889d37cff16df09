//! Fields found in whole documents: red-header notices, reports, OCR's misreadings, low
//! confidence, garbage.

use super::*;

fn lines(texts: &[&str]) -> Vec<Line> {
    texts.iter().map(|t| Line { text: (*t).to_owned(), page: 1, confidence: 1.0 }).collect()
}

fn value(f: Option<&Field>) -> Option<&str> {
    f.map(|f| f.value.as_str())
}

const NOTICE: &[&str] = &[
    "秘密★1年",
    "平顶山市市场监督管理局文件",
    "平市监〔2021〕12号",
    "平顶山市市场监督管理局关于开展2021年度",
    "质量提升行动的通知",
    "各县（市、区）市场监督管理局，局机关各科室：",
    "为贯彻落实质量强市战略，经研究决定，于2021年3月1日召开全市质量工作会议。本",
    "材料不涉及秘密。现将有关事项通知如下。",
    "平顶山市市场监督管理局",
    "2021年3月5日",
    "抄送：市质量强市工作领导小组办公室。",
    "平顶山市市场监督管理局办公室 2021年3月5日印发",
];

#[test]
fn a_red_header_notice_gives_every_field() {
    let f = extract(&lines(NOTICE));
    assert_eq!(value(f.doc_number.as_ref()), Some("平市监〔2021〕12号"));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
    assert_eq!(value(f.title.as_ref()), Some("平顶山市市场监督管理局关于开展2021年度质量提升行动的通知"));
    assert_eq!(value(f.date.as_ref()), Some("2021-03-05"));
    assert_eq!(value(f.classification.as_ref()), Some("秘密★1年"));
}

#[test]
fn ocr_misread_brackets_are_normalised() {
    for (line, want) in [
        ("平市监【2021】12号", "平市监〔2021〕12号"),
        ("平市监[2021]12号", "平市监〔2021〕12号"),
        ("平市监(2021)12号", "平市监〔2021〕12号"),
        ("平市监［2021］7号", "平市监〔2021〕7号"),
        ("平市监（2021）7号", "平市监〔2021〕7号"),
        ("平市监「2021」7号", "平市监〔2021〕7号"),
        ("平市监(20217号", "平市监〔2021〕7号"),
        ("平市监〔2021 7号", "平市监〔2021〕7号"),
        ("平 市 监 〔 2021 〕 12 号", "平市监〔2021〕12号"),
        ("平市监〔2O21〕1O号", "平市监〔2021〕10号"),
        ("平市监〔２０２１〕１２号", "平市监〔2021〕12号"),
        ("平交〔2021〕7号", "平交〔2021〕7号"),
        ("平市监〔2021〕第3号", "平市监〔2021〕3号"),
        ("平市监〔2021〕12号签发人：张三", "平市监〔2021〕12号"),
    ] {
        assert_eq!(doc_number(&fold(line)).as_deref(), Some(want), "{line}");
    }
}

#[test]
fn no_doc_number_in_sentences_or_odd_lines() {
    for line in [
        "根据《关于开展质量提升行动的通知》（国发〔2021〕5号）要求",
        "国发〔2021〕5号）文件精神，",
        "〔2021〕12号",
        "平市监〔1021〕12号",
        "平市监〔2021〕12",
        "第12号",
    ] {
        assert_eq!(doc_number(&fold(line)), None, "{line}");
    }
}

#[test]
fn a_report_without_doc_number_gives_none_not_a_guess() {
    let f = extract(&lines(&[
        "平顶山市商务局2021年度质量工作",
        "自评报告",
        "一、基本情况",
        "2021年，我局认真贯彻落实《平顶山市质量强市工作方案》（平政〔2021〕3号）要求，于2021年3月1日召开会议。",
        "二、主要做法",
        "平顶山市商务局",
        "2022年1月12日",
    ]));
    assert_eq!(f.doc_number, None);
    assert_eq!(value(f.title.as_ref()), Some("平顶山市商务局2021年度质量工作自评报告"));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
    assert_eq!(value(f.date.as_ref()), Some("2022-01-12"));
    assert_eq!(f.classification, None);
}

#[test]
fn a_date_misread_into_a_year_to_come_is_blank_and_still_marks_the_signature() {
    // Next year by the clock (2027 read for 2022): the issuer is named only above it, so without
    // the date line to mark the signature it would be lost too.
    let next = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        / 31_556_952
        + 1971;
    let date = format!("{next}年3月5日");
    let f =
        extract(&lines(&["关于报送材料的通知", "各单位：", "请按时报送。", "平顶山市市场监督管理局", &date]));
    assert_eq!(f.date, None);
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
}

#[test]
fn a_single_line_report_heading() {
    let f = extract(&lines(&[
        "平顶山市商务局2021年度质量工作自评报告",
        "（2022年1月12日）",
        "今年以来，我局在市委、市政府的正确领导下开展工作。",
    ]));
    assert_eq!(value(f.title.as_ref()), Some("平顶山市商务局2021年度质量工作自评报告"));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
    assert_eq!(value(f.date.as_ref()), Some("2022-01-12"));
}

#[test]
fn a_body_date_is_not_the_date() {
    let f = extract(&lines(&["关于召开会议的通知", "于2021年3月1日召开全市质量工作会议。", "特此通知。"]));
    assert_eq!(f.date, None);
    assert_eq!(value(f.title.as_ref()), Some("关于召开会议的通知"));
}

#[test]
fn the_date_under_the_signature_wins_over_an_attachment_row() {
    let f = extract(&lines(&[
        "关于报送材料的通知",
        "各单位：",
        "请按时报送。",
        "平顶山市市场监督管理局",
        "2021年3月5日",
        "附件",
        "工作安排表",
        "2021年4月",
        "2021年5月",
    ]));
    assert_eq!(value(f.date.as_ref()), Some("2021-03-05"));
}

#[test]
fn the_print_line_is_never_the_date() {
    let f = extract(&lines(&[
        "关于报送材料的通知",
        "各单位：",
        "请按时报送。",
        "平顶山市商务局办公室 2021年3月9日印发",
    ]));
    assert_eq!(f.date, None);
}

#[test]
fn a_mark_only_among_the_first_lines() {
    let mut text: Vec<&str> = vec!["关于做好保密工作的通知", "各单位：", "请做好保密工作。"];
    text.extend(["正文第一段。", "正文第二段。", "正文第三段。", "秘密"]);
    assert_eq!(extract(&lines(&text)).classification, None);
    let f = extract(&lines(&["内部资料", "关于做好统计工作的通知", "各单位：", "正文。"]));
    assert_eq!(value(f.classification.as_ref()), Some("内部资料"));
    assert_eq!(value(f.title.as_ref()), Some("关于做好统计工作的通知"));
}

#[test]
fn a_joint_header_joins_its_issuers() {
    let f = extract(&lines(&[
        "平顶山市市场监督管理局",
        "文件",
        "平顶山市商务局",
        "平市监〔2021〕30号",
        "关于联合开展质量月活动的通知",
        "各县（市、区）有关单位：",
        "正文。",
    ]));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市商务局"));
    assert_eq!(value(f.title.as_ref()), Some("关于联合开展质量月活动的通知"));
    let f = extract(&lines(&[
        "平顶山市市场监督管理局文件",
        "平顶山市商务局",
        "平市监〔2021〕30号",
        "关于联合开展质量月活动的通知",
        "各单位：",
    ]));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市商务局"));
}

#[test]
fn a_wrapped_header_puts_its_tail_back() {
    let f = extract(&lines(&[
        "平顶山市人力资源和社会保障",
        "局文件",
        "平人社〔2021〕8号",
        "关于做好2021年度职称评审工作的通知",
        "各有关单位：",
    ]));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市人力资源和社会保障局"));
    let f = extract(&lines(&[
        "平顶山市市场监督管理局",
        "平顶山市人力资源和社会保障",
        "局",
        "文件",
        "平市监〔2021〕9号",
        "关于联合开展技能竞赛的通知",
        "各有关单位：",
    ]));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局、平顶山市人力资源和社会保障局"));
}

#[test]
fn a_misread_header_is_taken_from_the_title() {
    let f = extract(&lines(&[
        "平顶山市市场监督管埋局文件",
        "平市监[2021]12号",
        "平顶山市市场监督管理局关于开展质量提升行动的通知",
        "各单位：",
    ]));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
}

#[test]
fn a_header_with_copy_number_and_urgency() {
    let f = extract(&lines(&[
        "000123",
        "机密★5年",
        "特急",
        "平顶山市人民政府文件",
        "平政〔2021〕3号",
        "平顶山市人民政府",
        "关于印发质量强市建设实施方案的通知",
        "各县（市、区）人民政府，市人民政府有关部门：",
    ]));
    assert_eq!(value(f.classification.as_ref()), Some("机密★5年"));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市人民政府"));
    assert_eq!(value(f.doc_number.as_ref()), Some("平政〔2021〕3号"));
    assert_eq!(value(f.title.as_ref()), Some("平顶山市人民政府关于印发质量强市建设实施方案的通知"));
}

#[test]
fn the_red_rule_read_as_dashes_is_skipped() {
    let f = extract(&lines(&[
        "平顶山市商务局文件",
        "平商〔2021〕5号",
        "————————",
        "关于开展检查的通知",
        "各单位：",
    ]));
    assert_eq!(value(f.title.as_ref()), Some("关于开展检查的通知"));
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市商务局"));
}

#[test]
fn low_confidence_lines_give_no_field() {
    let mut l = lines(NOTICE);
    l[2].confidence = 0.3; // the 文号
    l[9].confidence = 0.45; // the date
    l[3].confidence = 0.8;
    let f = extract(&l);
    assert_eq!(f.doc_number, None);
    assert_eq!(f.date, None);
    let title = f.title.expect("title");
    assert!((title.confidence - 0.8).abs() < 1e-6);
    // The header is still found above the unreadable 文号.
    assert_eq!(value(f.issuer.as_ref()), Some("平顶山市市场监督管理局"));
}

#[test]
fn the_last_page_signature_date_across_pages() {
    let mut l = lines(NOTICE);
    for line in &mut l[8..] {
        line.page = 2;
    }
    assert_eq!(value(extract(&l).date.as_ref()), Some("2021-03-05"));
}

#[test]
fn empty_and_garbage_input() {
    assert_eq!(extract(&[]), Fields::default());
    let f = extract(&lines(&["", "   ", "\u{fffd}\u{fffd}", "12345", "。。。", "：", "号", "〔〕"]));
    assert_eq!(f.doc_number, None);
    assert_eq!(f.date, None);
    assert_eq!(f.classification, None);
    let long = "很".repeat(10_000);
    let _ = extract(&lines(&[&long, &long]));
}
