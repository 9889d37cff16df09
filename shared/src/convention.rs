//! The evidence folder convention: which item, kind and caption a relative path stands for.
//!
//! ```text
//! 01.01 制造业产品质量合格率/[文件|文稿|图片|信息|宣传资料/]…/name.ext   evidence for item 1.1
//! 自评报告/…                                                        self-assessment report
//! 典型案例/…                                                        typical case
//! ```
//! The agent and the server run the same function, so they never disagree about a file.

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, ItemCode};
use crate::content::is_image_name;
use crate::relpath::{RelPath, split_extension};

pub const REPORT_FOLDER: &str = "自评报告";
pub const CASES_FOLDER: &str = "典型案例";
/// Written by `init` at the top of the evidence folder; not evidence.
pub const GUIDE_FILE: &str = "使用说明.txt";
/// The clerk's to-do list the agent keeps at the root of the evidence folder: never evidence.
pub const TODO_FILE: &str = "迎检待办.txt";

/// The five kinds of 印证材料 in the seed's order, then unclassified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 文件: red-header documents, telegrams, notices.
    Document,
    /// 文稿: speeches, work plans, reports.
    Manuscript,
    /// 图片: pictures, which need a caption.
    Picture,
    /// 信息: news reports and bulletins.
    Information,
    /// 宣传资料: leaflets, posters, guides.
    Publicity,
    /// 未分类: none of the above could be told.
    Unclassified,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Document,
        Kind::Manuscript,
        Kind::Picture,
        Kind::Information,
        Kind::Publicity,
        Kind::Unclassified,
    ];

    /// The Chinese name, which is also the kind subfolder's name.
    pub const fn label(self) -> &'static str {
        match self {
            Kind::Document => "文件",
            Kind::Manuscript => "文稿",
            Kind::Picture => "图片",
            Kind::Information => "信息",
            Kind::Publicity => "宣传资料",
            Kind::Unclassified => "未分类",
        }
    }

    /// The name on the wire and in the database (the serde name).
    pub fn wire(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::Manuscript => "manuscript",
            Kind::Picture => "picture",
            Kind::Information => "information",
            Kind::Publicity => "publicity",
            Kind::Unclassified => "unclassified",
        }
    }

    pub fn from_wire(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.wire() == name)
    }

    /// The kind a subfolder name stands for; 未分类 is not a folder anyone should make.
    pub fn from_folder(name: &str) -> Option<Kind> {
        Kind::ALL[..5].iter().copied().find(|k| k.label() == name.trim())
    }
}

/// Why a file is not evidence and is never uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Starts with a dot, or is the agent's own file.
    Hidden,
    /// An Office or LibreOffice lock file.
    Lock,
    /// A temporary or partially downloaded file.
    Temporary,
    /// Thumbs.db, desktop.ini and friends.
    System,
}

/// Where a path belongs according to the folder convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Item {
        code: ItemCode,
        kind: Kind,
    },
    Report,
    Case,
    /// Outside every item folder and outside 自评报告/典型案例; `item` is set when the folder
    /// names an item code that the catalogue does not have.
    Unsorted {
        unknown_item: Option<ItemCode>,
    },
    Ignored(IgnoreReason),
}

/// Classifies a path relative to the evidence folder.
pub fn classify(catalogue: &Catalogue, path: &RelPath) -> Placement {
    let components: Vec<&str> = path.components().collect();
    if let Some(reason) = components.iter().find_map(|c| ignore_reason(c)) {
        return Placement::Ignored(reason);
    }
    if components.len() == 1 && (components[0] == GUIDE_FILE || components[0] == TODO_FILE) {
        return Placement::Ignored(IgnoreReason::Hidden);
    }
    if components.len() < 2 {
        return Placement::Unsorted { unknown_item: None };
    }
    let top = components[0].trim();
    if top == REPORT_FOLDER {
        return Placement::Report;
    }
    if top == CASES_FOLDER {
        return Placement::Case;
    }
    let Some((code, _)) = parse_item_prefix(top) else {
        return Placement::Unsorted { unknown_item: None };
    };
    if catalogue.item(code).is_none() {
        return Placement::Unsorted { unknown_item: Some(code) };
    }
    let kind = match components.get(1) {
        Some(sub) if components.len() > 2 => Kind::from_folder(sub),
        _ => None,
    };
    let kind =
        kind.unwrap_or(if is_image_name(path.file_name()) { Kind::Picture } else { Kind::Unclassified });
    Placement::Item { code, kind }
}

/// The folder name `init` makes for an item: `KK.NN short title`.
pub fn item_folder_name(code: ItemCode, short_title: &str) -> String {
    format!("{} {short_title}", code.padded())
}

fn ignore_reason(name: &str) -> Option<IgnoreReason> {
    let lower = name.to_lowercase();
    if name.starts_with("~$") || lower.starts_with(".~lock.") {
        return Some(IgnoreReason::Lock);
    }
    if name.starts_with('.') {
        return Some(IgnoreReason::Hidden);
    }
    if ["thumbs.db", "desktop.ini", "ehthumbs.db"].contains(&lower.as_str()) {
        return Some(IgnoreReason::System);
    }
    let temporary = [".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~"];
    if temporary.iter().any(|ext| lower.ends_with(ext)) {
        return Some(IgnoreReason::Temporary);
    }
    None
}

/// A picture's caption from its file name, or `None` when the name is a camera, phone or
/// scanner default (`IMG_1234`, `DSC_0001`, `微信图片_2021…`, `mmexport…`, `Scan0001`,
/// `扫描件…`, plain digits) and so says nothing.
pub fn caption_from_file_name(name: &str) -> Option<String> {
    const DEFAULT_PREFIXES: [&str; 16] = [
        "img",
        "dsc",
        "dscn",
        "dscf",
        "dcim",
        "pxl",
        "mmexport",
        "scan",
        "scanned",
        "image",
        "photo",
        "screenshot",
        "微信图片",
        "扫描件",
        "扫描",
        "屏幕截图",
    ];
    let stem = split_extension(name).0.trim();
    let lower = stem.to_lowercase();
    let rest = DEFAULT_PREFIXES
        .iter()
        .filter_map(|p| lower.strip_prefix(p))
        .min_by_key(|r| r.len())
        .unwrap_or(&lower);
    let only_noise = rest.chars().all(|c| c.is_ascii_digit() || " _-.()（）".contains(c));
    (!only_noise).then(|| stem.to_string())
}

/// Parses a leading item code: `08.03`, `8.3`, `０８．０３`, followed by the end of the name or
/// anything that is not a digit. Returns the code and the rest of the name.
pub(crate) fn parse_item_prefix(name: &str) -> Option<(ItemCode, &str)> {
    let (key_point, rest) = leading_number(name)?;
    let rest = rest.strip_prefix(['.', '．', '。'])?;
    let (number, rest) = leading_number(rest)?;
    if rest.starts_with(['.', '．']) {
        return None;
    }
    (key_point > 0 && number > 0).then(|| (ItemCode::new(key_point, number), rest.trim_start()))
}

/// One or two digits, ASCII or full-width, not followed by a third.
fn leading_number(s: &str) -> Option<(u8, &str)> {
    let mut value = 0u8;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let digit = match c {
            '0'..='9' => c as u32 - '0' as u32,
            '０'..='９' => c as u32 - '０' as u32,
            _ => break,
        };
        if i >= 6 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(digit as u8)?;
        end = i + c.len_utf8();
    }
    let digits = s[..end].chars().count();
    (1..=2).contains(&digits).then(|| (value, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn place(path: &str) -> Placement {
        classify(Catalogue::builtin(), &RelPath::parse(path).unwrap())
    }

    fn item(k: u8, n: u8, kind: Kind) -> Placement {
        Placement::Item { code: ItemCode::new(k, n), kind }
    }

    #[test]
    fn item_folders_in_every_spelling() {
        assert_eq!(place("01.01 制造业产品质量合格率/合格率报告.pdf"), item(1, 1, Kind::Unclassified));
        assert_eq!(place("08．03 昆仑/文件/通知.pdf"), item(8, 3, Kind::Document));
        assert_eq!(place("8.3/活动 现场.JPG"), item(8, 3, Kind::Picture));
        assert_eq!(place("０６．０４进出口/宣传资料/海报.pdf"), item(6, 4, Kind::Publicity));
        assert_eq!(place("12.01 质量月/图片/第一天/开幕式.png"), item(12, 1, Kind::Picture));
        assert_eq!(place("12.01 质量月/文稿/讲话.docx"), item(12, 1, Kind::Manuscript));
        assert_eq!(place("12.01 质量月/信息/简报.pdf"), item(12, 1, Kind::Information));
        // A file named like a kind folder is not in a kind folder.
        assert_eq!(place("12.01 质量月/文件"), item(12, 1, Kind::Unclassified));
    }

    #[test]
    fn reports_cases_unsorted_and_unknown_items() {
        assert_eq!(place("自评报告/2021年自评报告.docx"), Placement::Report);
        assert_eq!(place("典型案例/案例一/材料.pdf"), Placement::Case);
        assert_eq!(place("随便放的.pdf"), Placement::Unsorted { unknown_item: None });
        assert_eq!(place("2021年材料/a.pdf"), Placement::Unsorted { unknown_item: None });
        assert_eq!(
            place("99.01 不存在/a.pdf"),
            Placement::Unsorted { unknown_item: Some(ItemCode::new(99, 1)) }
        );
        assert_eq!(
            place("1.11 没有这一项/a.pdf"),
            Placement::Unsorted { unknown_item: Some(ItemCode::new(1, 11)) }
        );
        assert_eq!(place("1.1.1 x/a.pdf"), Placement::Unsorted { unknown_item: None });
        assert_eq!(place("123.1 x/a.pdf"), Placement::Unsorted { unknown_item: None });
    }

    #[test]
    fn ignores_what_is_not_evidence() {
        use IgnoreReason::*;
        for (path, reason) in [
            ("01.01 x/~$报告.docx", Lock),
            ("01.01 x/.~lock.报告.docx#", Lock),
            ("01.01 x/下载.crdownload", Temporary),
            ("01.01 x/a.pdf.part", Temporary),
            ("01.01 x/a.TMP", Temporary),
            ("01.01 x/Thumbs.db", System),
            ("01.01 x/desktop.ini", System),
            ("01.01 x/.DS_Store", Hidden),
            ("01.01 x/._photo.jpg", Hidden),
            (".yingjian/state", Hidden),
            ("01.01 x/.hidden/a.pdf", Hidden),
            ("使用说明.txt", Hidden),
        ] {
            assert_eq!(place(path), Placement::Ignored(reason), "{path}");
        }
    }

    #[test]
    fn captions_skip_camera_and_scanner_defaults() {
        for default in [
            "IMG_1234.jpg",
            "IMG20211003123456.jpg",
            "DSC_0001.JPG",
            "DSCN0042.jpg",
            "微信图片_20211012093015.jpg",
            "mmexport1634567890123.jpg",
            "Scan0001.tif",
            "扫描件.jpg",
            "扫描件_0003.png",
            "20211015_093000.jpg",
            "0001.png",
            "Screenshot_2021-10-01-10-00-00.png",
        ] {
            assert_eq!(caption_from_file_name(default), None, "{default}");
        }
        assert_eq!(
            caption_from_file_name("2021年质量月启动仪式.jpg").as_deref(),
            Some("2021年质量月启动仪式")
        );
        assert_eq!(
            caption_from_file_name("IMG_1234 质量月启动仪式.jpg").as_deref(),
            Some("IMG_1234 质量月启动仪式")
        );
        assert_eq!(caption_from_file_name("Imagine.png").as_deref(), Some("Imagine"));
    }

    #[test]
    fn wire_names_are_the_serde_names() {
        for kind in Kind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.wire());
            assert_eq!(Kind::from_wire(kind.wire()), Some(kind));
        }
        assert_eq!(Kind::from_wire("图片"), None);
    }

    #[test]
    fn item_codes_parse_from_text() {
        assert_eq!("8.3".parse::<ItemCode>(), Ok(ItemCode::new(8, 3)));
        assert_eq!("08.03".parse::<ItemCode>(), Ok(ItemCode::new(8, 3)));
        assert!("8.3 x".parse::<ItemCode>().is_err());
        assert!("0.3".parse::<ItemCode>().is_err());
        assert_eq!(item_folder_name(ItemCode::new(6, 4), "进出口"), "06.04 进出口");
    }

    proptest! {
        #[test]
        fn classify_never_panics(raw in "[0-9０-９.．。 /a-z中文图片文件自评报告典型案例~$]{1,40}") {
            if let Ok(p) = RelPath::parse(&raw) {
                let _ = classify(Catalogue::builtin(), &p);
            }
        }

        #[test]
        fn every_item_folder_name_classifies_back(index in 0usize..69, name in "[a-z中文 ]{1,8}\\.pdf") {
            let c = Catalogue::builtin();
            let item = c.items().nth(index).unwrap();
            let folder = item_folder_name(item.code, &item.short_title);
            let p = RelPath::parse(&format!("{folder}/{name}")).unwrap();
            prop_assert_eq!(classify(c, &p), Placement::Item { code: item.code, kind: Kind::Unclassified });
        }
    }
}
