//! A realistic test corpus with a known truth (feature `corpus`): GB/T 9704 red-header notices
//! (红头文件) and plain reports of a city's departments, written as flat ODT, converted by
//! LibreOffice (`soffice`) into text PDFs or .docx, rasterised by poppler (`pdftoppm`) and degraded
//! like a scanner or a phone camera would (skew, noise, JPEG, grey or bilevel), then wrapped back
//! into image-only PDFs.
//!
//! Needs `soffice` and `pdftoppm` on the PATH; every function that runs one says clearly which tool
//! is missing rather than skipping.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, rotate_about_center, warp};
use lopdf::{Document, Object, Stream, dictionary};

/// What a generated document says, for checking what the reader finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    /// 文号 with 〔〕 (`None` for a report).
    pub doc_number: Option<String>,
    /// 发文机关 (joint issuers joined with 「、」).
    pub issuer: String,
    /// 成文日期, `YYYY-MM-DD`.
    pub date: String,
    pub title: String,
    /// 密级 mark as printed.
    pub classification: Option<String>,
    /// Pages of the converted PDF (1 for a picture).
    pub pages: u32,
}

/// A department: its full name and its 文号 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub name: String,
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 红头 notice: red header, 文号, red rule, title, addressee, body, signature, 版记.
    Notice,
    /// A report (自评报告, 工作总结, 方案): heading, body with section headings, signature.
    Report,
}

/// One document to generate. [`Spec::random`] varies everything from a seed; the fields can be
/// changed before generating.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools, reason = "independent variations of a test document")]
pub struct Spec {
    pub kind: Kind,
    /// One issuer, or several for a joint notice.
    pub issuers: Vec<Issuer>,
    /// Year and number of the 文号 (notices).
    pub number: (u32, u32),
    /// The title as printed (LibreOffice wraps it).
    pub title: String,
    pub addressee: String,
    /// Body paragraphs; a paragraph starting with 「一、」 etc. is set as a section heading.
    pub paragraphs: Vec<String>,
    /// 成文日期 (year, month, day).
    pub date: (u32, u32, u32),
    /// The 成文日期 in Chinese numerals (二〇二一年三月五日), as before GB/T 9704-2012.
    pub chinese_date: bool,
    /// 密级 mark, top left of page 1.
    pub classification: Option<String>,
    /// The red header's size in points: large enough, a long name wraps (its 「局」 alone).
    pub header_size: f32,
    /// A 版记 (抄送 and 印发 lines) after the signature.
    pub print_block: bool,
    /// A red seal (a ring and a star) over the 成文日期.
    pub seal: bool,
    /// A report's date printed under its heading as well (「（2022年1月12日）」).
    pub dated_heading: bool,
}

/// The city's departments (平顶山市), with their 文号 prefixes.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("平顶山市市场监督管理局", "平市监"),
    ("平顶山市商务局", "平商务"),
    ("平顶山市人力资源和社会保障局", "平人社"),
    ("平顶山市住房和城乡建设局", "平建质"),
    ("平顶山市交通运输局", "平交"),
    ("平顶山市公安局", "平公"),
    ("平顶山市发展和改革委员会", "平发改"),
    ("平顶山市工业和信息化局", "平工信"),
    ("平顶山市农业农村局", "平农"),
    ("平顶山市生态环境局", "平环"),
    ("平顶山市卫生健康委员会", "平卫健"),
    ("平顶山市教育局", "平教"),
    ("平顶山市人民政府办公室", "平政办"),
    ("平顶山市财政局", "平财"),
    ("平顶山市应急管理局", "平应急"),
    ("平顶山市统计局", "平统"),
];

const ACTIONS: &[&str] = &[
    "开展{y}年度质量提升行动",
    "做好{y}年“质量月”活动",
    "加强建设工程质量安全监管工作",
    "开展{y}年产品质量监督抽查",
    "推进标准化战略实施",
    "报送{y}年度质量工作自评报告",
    "印发《平顶山市质量强市建设实施方案》",
    "开展质量品牌提升专项行动",
    "做好{y}年度政府质量工作考核迎检准备",
    "进一步加强食品安全监管",
    "开展计量惠民专项行动",
    "表彰{y}年度质量工作先进单位和先进个人",
];

const NOTICE_ENDINGS: &[&str] = &["的通知", "的实施意见", "的通知", "的工作方案"];

const REPORT_TITLES: &[&str] = &[
    "{i}{y}年度质量工作自评报告",
    "{i}{y}年质量工作总结",
    "{i}{y}年度质量强市工作情况报告",
    "{i}质量提升行动实施方案",
];

const ADDRESSEES: &[&str] = &[
    "各县（市、区）人民政府，市人民政府有关部门：",
    "各县（市、区）市场监督管理局，局机关各科室：",
    "各有关单位：",
    "市质量强市工作领导小组各成员单位：",
    "各县（市、区）有关部门，各有关企业：",
];

const SENTENCES: &[&str] = &[
    "为深入贯彻落实质量强国战略，进一步提升我市产品、工程和服务质量，推动经济高质量发展，经研究决定开展本项工作。",
    "各单位要高度重视，加强组织领导，明确责任分工，细化工作措施，确保各项任务落到实处。",
    "坚持以人民为中心的发展思想，聚焦群众关心关注的重点领域和突出问题，着力补齐质量短板。",
    "要建立健全工作台账，定期调度工作进展，及时发现和解决工作中存在的问题。",
    "进一步完善质量基础设施，加强计量、标准、认证认可、检验检测等工作，提升质量技术服务能力。",
    "强化企业质量主体责任，引导企业建立完善质量管理体系，推广先进质量管理方法。",
    "加大质量监管执法力度，严厉打击制售假冒伪劣产品等违法行为，维护公平竞争的市场秩序。",
    "各县（市、区）要结合本地实际，制定具体实施方案，并于每季度末将工作进展情况报送市质量强市工作领导小组办公室。",
    "要加强宣传引导，充分利用报纸、电视、网络等媒体，广泛宣传质量工作的好经验、好做法。",
    "对工作推进不力、问题整改不到位的单位，将予以通报批评，并纳入年度质量工作考核。",
];

/// Sentences that carry what a careless reader would take for a field: a body date, the words
/// 秘密 and 涉密, a 文号 cited in a sentence.
const DISTRACTORS: &[&str] = &[
    "市政府于{y}年3月1日召开全市质量工作会议，对全年工作进行了安排部署。",
    "本材料不涉及秘密，内容应不涉密，可在政务网站公开。",
    "根据《平顶山市人民政府关于印发平顶山市质量强市建设实施方案的通知》（平政〔{y}〕3号）要求，现就有关事项通知如下。",
    "截至{y}年11月30日，全市共完成监督抽查批次1200余批。",
];

const SECTIONS: &[&str] = &["一、基本情况", "二、主要做法", "三、存在问题", "四、下一步工作打算"];

const MARKS: &[&str] = &["秘密★1年", "内部资料", "机密★5年", "秘密"];

/// A small deterministic generator (SplitMix64): the corpus is the same for the same seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// Uniform in `lo..hi`.
    pub fn float(&mut self, lo: f32, hi: f32) -> f32 {
        #[allow(clippy::cast_precision_loss, reason = "24 random bits")]
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

impl Spec {
    /// A varied document from a seed: about two in three are notices (one in five of those
    /// joint, some with a wrapping header, a 密级 mark, Chinese-numeral dates, a seal), the rest
    /// reports.
    pub fn random(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let year = 2021;
        let kind = if rng.chance(65) { Kind::Notice } else { Kind::Report };
        let first = rng.below(DEPARTMENTS.len());
        let mut issuers = vec![issuer(first)];
        if kind == Kind::Notice && rng.chance(20) {
            let second = (first + 1 + rng.below(DEPARTMENTS.len() - 1)) % DEPARTMENTS.len();
            issuers.push(issuer(second));
        }
        let month = 1 + u32::try_from(rng.below(12)).unwrap_or(0);
        let day = 1 + u32::try_from(rng.below(28)).unwrap_or(0);
        let date = match kind {
            Kind::Notice => (year, month, day),
            // A year's report is written the following January.
            Kind::Report => (year + 1, 1, 1 + u32::try_from(rng.below(25)).unwrap_or(0)),
        };
        let y = year.to_string();
        let title = match kind {
            Kind::Notice => {
                let action = rng.pick(ACTIONS).replace("{y}", &y);
                let ending =
                    if action.starts_with("印发") { "的通知" } else { *rng.pick(NOTICE_ENDINGS) };
                let named = issuers.len() == 1 && rng.chance(50);
                let lead = if named { issuers[0].name.as_str() } else { "" };
                format!("{lead}关于{action}{ending}")
            }
            Kind::Report => rng.pick(REPORT_TITLES).replace("{i}", &issuers[0].name).replace("{y}", &y),
        };
        let mut paragraphs = Vec::new();
        let count = 2 + rng.below(9);
        for k in 0..count {
            if kind == Kind::Report && k % 2 == 0 && k / 2 < SECTIONS.len() {
                paragraphs.push(SECTIONS[k / 2].to_owned());
            }
            let mut p = String::new();
            for _ in 0..=rng.below(4) {
                let source = if rng.chance(20) { DISTRACTORS } else { SENTENCES };
                p.push_str(&rng.pick(source).replace("{y}", &y));
            }
            paragraphs.push(p);
        }
        if kind == Kind::Notice {
            paragraphs.push("特此通知。".to_owned());
        }
        let classification = (kind == Kind::Notice && rng.chance(25)).then(|| (*rng.pick(MARKS)).to_owned());
        let header_size = if rng.chance(20) { 36.0 } else { 0.0 };
        Self {
            kind,
            issuers,
            number: (year, 1 + u32::try_from(rng.below(60)).unwrap_or(0)),
            title,
            addressee: (*rng.pick(ADDRESSEES)).to_owned(),
            paragraphs,
            date,
            chinese_date: rng.chance(30),
            classification,
            header_size,
            print_block: kind == Kind::Notice && rng.chance(70),
            seal: rng.chance(60),
            dated_heading: kind == Kind::Report && rng.chance(30),
        }
    }

    /// What the reader should find (pages filled in once converted).
    pub fn truth(&self, pages: u32) -> Truth {
        let (y, m, d) = self.date;
        Truth {
            doc_number: (self.kind == Kind::Notice)
                .then(|| format!("{}〔{}〕{}号", self.issuers[0].prefix, self.number.0, self.number.1)),
            issuer: self.issuers.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("、"),
            date: format!("{y:04}-{m:02}-{d:02}"),
            title: self.title.clone(),
            classification: self.classification.clone(),
            pages,
        }
    }

    /// A copy short enough for one page (a photographed page shows the whole document).
    #[must_use]
    pub fn one_page(&self) -> Self {
        let mut short = self.clone();
        short.paragraphs.truncate(2);
        for p in &mut short.paragraphs {
            if p.chars().count() > 90 {
                *p = p.chars().take(60).collect::<String>() + "。";
            }
        }
        short.print_block = false;
        short
    }

    fn date_text(&self) -> String {
        let (y, m, d) = self.date;
        if self.chinese_date {
            let digits = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
            let year: String =
                y.to_string().chars().map(|c| digits[c.to_digit(10).map_or(0, |v| v as usize)]).collect();
            format!("{year}年{}月{}日", chinese(m), chinese(d))
        } else {
            format!("{y}年{m}月{d}日")
        }
    }

    /// The document as a flat ODT (LibreOffice's single-file XML).
    pub fn fodt(&self) -> String {
        let mut body = String::new();
        if let Some(mark) = &self.classification {
            para(&mut body, "Mark", mark);
        }
        match self.kind {
            Kind::Notice => self.notice_head(&mut body),
            Kind::Report => {
                para(&mut body, "Title", &self.title);
                if self.dated_heading {
                    let (y, m, d) = self.date;
                    para(&mut body, "Centre", &format!("（{y}年{m}月{d}日）"));
                }
                para(&mut body, "Body", "");
            }
        }
        for p in &self.paragraphs {
            let heading = SECTIONS.contains(&p.as_str());
            para(&mut body, if heading { "Section" } else { "Body" }, p);
        }
        para(&mut body, "Body", "");
        for (k, issuer) in self.issuers.iter().enumerate() {
            para(&mut body, "Sign", &issuer.name);
            if k + 1 < self.issuers.len() {
                para(&mut body, "Sign", "");
            }
        }
        let date = self.date_text();
        if self.seal {
            // The seal straddles the date, as the rules ask (「骑年盖月」).
            let _ = write!(
                body,
                r#"<text:p text:style-name="Sign"><draw:custom-shape text:anchor-type="paragraph" draw:z-index="1" draw:style-name="Seal" svg:width="42mm" svg:height="42mm" svg:x="94mm" svg:y="-23mm"><draw:enhanced-geometry svg:viewBox="0 0 21600 21600" draw:type="ellipse"/></draw:custom-shape><draw:custom-shape text:anchor-type="paragraph" draw:z-index="2" draw:style-name="Star" svg:width="12mm" svg:height="12mm" svg:x="109mm" svg:y="-8mm"><draw:enhanced-geometry svg:viewBox="0 0 21600 21600" draw:type="star5"/></draw:custom-shape>{}</text:p>"#,
                escape(&date)
            );
        } else {
            para(&mut body, "Sign", &date);
        }
        if self.print_block {
            para(&mut body, "Body", "");
            para(&mut body, "Body", "");
            para(&mut body, "Copy", "抄送：市委办公室，市人大常委会办公室，市政协办公室。");
            let (y, m, d) = self.date;
            let office = format!("{}办公室", self.issuers[0].name.trim_end_matches("办公室"));
            let printed = format!("{y}年{m}月{}日印发", (d + 2).min(28));
            para(&mut body, "Print", &format!("{office}<text:tab/>{}", escape(&printed)));
        }
        format!("{FODT_HEAD}{body}{FODT_TAIL}")
    }

    fn notice_head(&self, body: &mut String) {
        let size = if self.header_size > 0.0 {
            self.header_size
        } else {
            // Fit the longest name with 「文件」 on one line of the 156 mm type area (≈ 440 pt).
            let longest = self.issuers.iter().map(|i| i.name.chars().count()).max().unwrap_or(10) + 2;
            #[allow(clippy::cast_precision_loss, reason = "a short name")]
            let fit = 400.0 / longest as f32;
            fit.clamp(22.0, 34.0)
        };
        body.push_str(r#"<text:p text:style-name="Blank"/><text:p text:style-name="Blank"/>"#);
        if self.issuers.len() == 1 {
            let _ = write!(
                body,
                r#"<text:p text:style-name="Header"><text:span text:style-name="{}">{}文件</text:span></text:p>"#,
                red_style(size),
                escape(&self.issuers[0].name)
            );
        } else {
            let mut names = String::new();
            for issuer in &self.issuers {
                let _ = write!(
                    names,
                    r#"<text:p text:style-name="JointName"><text:span text:style-name="{}">{}</text:span></text:p>"#,
                    red_style(size * 0.8),
                    escape(&issuer.name)
                );
            }
            let _ = write!(
                body,
                r#"<table:table table:name="Header" table:style-name="HeaderTable"><table:table-column table:style-name="HeaderLeft"/><table:table-column table:style-name="HeaderRight"/><table:table-row><table:table-cell table:style-name="HeaderCell">{names}</table:table-cell><table:table-cell table:style-name="HeaderCell"><text:p text:style-name="JointName"><text:span text:style-name="{}">文件</text:span></text:p></table:table-cell></table:table-row></table:table>"#,
                red_style(size)
            );
        }
        para(body, "Blank", "");
        let (year, number) = self.number;
        para(body, "Number", &format!("{}〔{year}〕{number}号", self.issuers[0].prefix));
        para(body, "Blank", "");
        para(body, "Title", &self.title);
        para(body, "Blank", "");
        para(body, "Plain", &self.addressee);
    }
}

fn issuer(k: usize) -> Issuer {
    let (name, prefix) = DEPARTMENTS[k % DEPARTMENTS.len()];
    Issuer { name: name.to_owned(), prefix: prefix.to_owned() }
}

/// 1 … 31 in Chinese numerals.
fn chinese(n: u32) -> String {
    let digits = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let units = digits[(n % 10) as usize];
    match n / 10 {
        0 => units.to_owned(),
        1 => format!("十{units}"),
        t => format!("{}十{units}", digits[t as usize]),
    }
}

/// The automatic style of a red header span of this size (the sizes used are few).
fn red_style(size: f32) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a font size")]
    let size = size.round().clamp(22.0, 36.0) as u32;
    format!("Red{}", if size == 35 { 34 } else { size })
}

fn para(body: &mut String, style: &str, xml_or_text: &str) {
    // Text is escaped here unless it already carries ODF elements (the 版记's tab).
    let content = if xml_or_text.contains("<text:") { xml_or_text.to_owned() } else { escape(xml_or_text) };
    let _ = write!(body, r#"<text:p text:style-name="{style}">{content}</text:p>"#);
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const FODT_HEAD: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls>
<style:font-face style:name="Serif CJK" svg:font-family="'Noto Serif CJK SC'" style:font-family-generic="roman"/>
<style:font-face style:name="Sans CJK" svg:font-family="'Noto Sans CJK SC'" style:font-family-generic="swiss"/>
</office:font-face-decls>
<office:styles>
<style:default-style style:family="paragraph"><style:paragraph-properties fo:line-height="28.9pt" style:line-break="strict"/><style:text-properties style:font-name="Serif CJK" style:font-name-asian="Serif CJK" fo:font-size="16pt" style:font-size-asian="16pt" fo:language="zh" fo:country="CN" style:language-asian="zh" style:country-asian="CN"/></style:default-style>
<style:default-style style:family="table-cell"><style:table-cell-properties style:vertical-align="middle"/></style:default-style>
</office:styles>
<office:automatic-styles>
<style:page-layout style:name="A4"><style:page-layout-properties fo:page-width="210mm" fo:page-height="297mm" fo:margin-top="37mm" fo:margin-bottom="28mm" fo:margin-left="28mm" fo:margin-right="26mm"/><style:footer-style><style:header-footer-properties fo:min-height="7mm" fo:margin-top="3mm"/></style:footer-style></style:page-layout>
<style:style style:name="Mark" style:family="paragraph"><style:paragraph-properties fo:text-align="start"/><style:text-properties style:font-name-asian="Sans CJK" style:font-name="Sans CJK"/></style:style>
<style:style style:name="Blank" style:family="paragraph"><style:paragraph-properties fo:line-height="20pt"/></style:style>
<style:style style:name="Header" style:family="paragraph"><style:paragraph-properties fo:text-align="center" fo:line-height="115%"/></style:style>
<style:style style:name="JointName" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" style:text-align-last="justify" fo:line-height="115%"/></style:style>
<style:style style:name="HeaderTable" style:family="table"><style:table-properties style:width="150mm" table:align="center"/></style:style>
<style:style style:name="HeaderLeft" style:family="table-column"><style:table-column-properties style:column-width="112mm"/></style:style>
<style:style style:name="HeaderRight" style:family="table-column"><style:table-column-properties style:column-width="38mm"/></style:style>
<style:style style:name="HeaderCell" style:family="table-cell"><style:table-cell-properties style:vertical-align="middle" fo:border="none" fo:padding="0mm"/></style:style>
<style:style style:name="Red22" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="22pt" style:font-size-asian="22pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red24" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="24pt" style:font-size-asian="24pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red25" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="25pt" style:font-size-asian="25pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red26" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="26pt" style:font-size-asian="26pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red27" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="27pt" style:font-size-asian="27pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red28" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="28pt" style:font-size-asian="28pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red29" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="29pt" style:font-size-asian="29pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red30" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="30pt" style:font-size-asian="30pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red31" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="31pt" style:font-size-asian="31pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red32" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="32pt" style:font-size-asian="32pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red33" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="33pt" style:font-size-asian="33pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red34" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="34pt" style:font-size-asian="34pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Red36" style:family="text"><style:text-properties fo:color="#e60012" style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="36pt" style:font-size-asian="36pt" fo:font-weight="bold" style:font-weight-asian="bold"/></style:style>
<style:style style:name="Number" style:family="paragraph"><style:paragraph-properties fo:text-align="center" fo:padding-bottom="5mm" fo:border-bottom="1.4pt solid #e60012"/></style:style>
<style:style style:name="Title" style:family="paragraph"><style:paragraph-properties fo:text-align="center" fo:line-height="36pt" fo:margin-left="8mm" fo:margin-right="8mm"/><style:text-properties style:font-name="Sans CJK" style:font-name-asian="Sans CJK" fo:font-size="22pt" style:font-size-asian="22pt"/></style:style>
<style:style style:name="Centre" style:family="paragraph"><style:paragraph-properties fo:text-align="center"/></style:style>
<style:style style:name="Plain" style:family="paragraph"><style:paragraph-properties fo:text-align="justify"/></style:style>
<style:style style:name="Body" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:text-indent="32pt"/></style:style>
<style:style style:name="Section" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:text-indent="32pt"/><style:text-properties style:font-name="Sans CJK" style:font-name-asian="Sans CJK"/></style:style>
<style:style style:name="Sign" style:family="paragraph"><style:paragraph-properties fo:text-align="end" fo:margin-right="18mm"/></style:style>
<style:style style:name="Copy" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:border-top="0.75pt solid #000000" fo:border-bottom="0.5pt solid #000000" fo:padding="1mm"/><style:text-properties fo:font-size="14pt" style:font-size-asian="14pt"/></style:style>
<style:style style:name="Print" style:family="paragraph"><style:paragraph-properties fo:text-align="justify" fo:border-bottom="0.75pt solid #000000" fo:padding="1mm"><style:tab-stops><style:tab-stop style:position="150mm" style:type="right"/></style:tab-stops></style:paragraph-properties><style:text-properties fo:font-size="14pt" style:font-size-asian="14pt"/></style:style>
<style:style style:name="Footer" style:family="paragraph"><style:paragraph-properties fo:text-align="center"/><style:text-properties fo:font-size="14pt" style:font-size-asian="14pt"/></style:style>
<style:style style:name="Seal" style:family="graphic"><style:graphic-properties draw:fill="none" svg:stroke-color="#e60012" svg:stroke-width="1.2mm" draw:stroke="solid" style:wrap="run-through" style:run-through="foreground" style:vertical-pos="from-top" style:vertical-rel="paragraph" style:horizontal-pos="from-left" style:horizontal-rel="paragraph" draw:opacity="85%"/></style:style>
<style:style style:name="Star" style:family="graphic"><style:graphic-properties draw:fill="solid" draw:fill-color="#e60012" draw:stroke="none" style:wrap="run-through" style:run-through="foreground" style:vertical-pos="from-top" style:vertical-rel="paragraph" style:horizontal-pos="from-left" style:horizontal-rel="paragraph" draw:opacity="85%"/></style:style>
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="A4"><style:footer><text:p text:style-name="Footer">— <text:page-number text:select-page="current">1</text:page-number> —</text:p></style:footer></style:master-page></office:master-styles>
<office:body><office:text>
"##;

const FODT_TAIL: &str = "\n</office:text></office:body></office:document>\n";

// ---------------------------------------------------------------------------------------------
// Tools

static CALLS: AtomicU64 = AtomicU64::new(0);

/// How long one LibreOffice conversion may take (a first run creates its profile).
const SOFFICE_TIMEOUT: Duration = Duration::from_mins(4);

/// Fails with a message that names the tool and its package if `program` cannot run.
pub fn require(program: &str) -> io::Result<()> {
    let package = match program {
        "soffice" => "LibreOffice (Debian: libreoffice-writer, fonts-noto-cjk)",
        "pdftoppm" => "poppler (Debian: poppler-utils)",
        _ => program,
    };
    let ok = Command::new(program)
        .arg(if program == "pdftoppm" { "-v" } else { "--version" })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{program}` is needed to generate the reader's test corpus: install {package}"),
        ))
    }
}

/// Runs a command with a deadline, killing it when it passes.
fn run(command: &mut Command, timeout: Duration) -> io::Result<()> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = io::Read::read_to_string(&mut stderr, &mut err);
            }
            return Err(io::Error::other(format!("{command:?} failed ({status}): {err}")));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{command:?} took over {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Converts flat ODT files with LibreOffice (one process for all, with a fresh profile so that
/// parallel runs do not share one), into `format` ("pdf", "docx"); returns the outputs in order.
pub fn convert(inputs: &[PathBuf], format: &str, out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    require("soffice")?;
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!("yingjian-corpus-lo-{}-{call}", std::process::id()));
    let filter = match format {
        "docx" => "docx:MS Word 2007 XML",
        "pdf" => "pdf:writer_pdf_Export",
        other => other,
    };
    let mut command = Command::new("soffice");
    command
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", filter, "--outdir"])
        .arg(out_dir)
        .args(inputs);
    let result = run(&mut command, SOFFICE_TIMEOUT);
    let _ = std::fs::remove_dir_all(&profile);
    result?;
    let extension = format.split(':').next().unwrap_or(format);
    inputs
        .iter()
        .map(|input| {
            let out = out_dir.join(input.file_stem().unwrap_or_default()).with_extension(extension);
            if out.exists() {
                Ok(out)
            } else {
                Err(io::Error::other(format!("soffice made no {}", out.display())))
            }
        })
        .collect()
}

fn write_fodt(spec: &Spec, dir: &Path, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.fodt"));
    std::fs::write(&path, spec.fodt())?;
    Ok(path)
}

fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", CALLS.fetch_add(1, Ordering::Relaxed))
}

fn pdf_pages(path: &Path) -> io::Result<u32> {
    let doc = Document::load(path).map_err(io::Error::other)?;
    u32::try_from(doc.get_pages().len()).map_err(io::Error::other)
}

/// A text PDF as LibreOffice exports it.
pub fn text_pdf(spec: &Spec, dir: &Path) -> io::Result<(PathBuf, Truth)> {
    let mut made = text_pdfs(std::slice::from_ref(spec), dir)?;
    made.pop().ok_or_else(|| io::Error::other("no PDF"))
}

/// Several text PDFs in one LibreOffice run (a run costs seconds).
pub fn text_pdfs(specs: &[Spec], dir: &Path) -> io::Result<Vec<(PathBuf, Truth)>> {
    let inputs: Vec<PathBuf> =
        specs.iter().map(|s| write_fodt(s, dir, &unique_name("doc"))).collect::<io::Result<_>>()?;
    let pdfs = convert(&inputs, "pdf", dir)?;
    specs.iter().zip(pdfs).map(|(spec, pdf)| Ok((pdf.clone(), spec.truth(pdf_pages(&pdf)?)))).collect()
}

/// A Word file (.docx) converted by LibreOffice; `Truth::pages` from the same document as PDF.
pub fn docx(spec: &Spec, dir: &Path) -> io::Result<(PathBuf, Truth)> {
    let input = write_fodt(spec, dir, &unique_name("word"))?;
    let docx = convert(std::slice::from_ref(&input), "docx", dir)?
        .pop()
        .ok_or_else(|| io::Error::other("no docx"))?;
    let pdf = convert(&[input], "pdf", dir)?.pop().ok_or_else(|| io::Error::other("no PDF"))?;
    Ok((docx, spec.truth(pdf_pages(&pdf)?)))
}

/// How a scan spoils a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degrade {
    /// Skew in degrees (clockwise).
    pub angle: f32,
    /// Gaussian noise, standard deviation in grey levels.
    pub noise: f32,
    /// JPEG quality (1–100).
    pub jpeg_quality: u8,
    pub colour: ScanColour,
    /// Gaussian blur sigma in pixels (0: none).
    pub blur: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanColour {
    Colour,
    Grey,
    /// Black and white (a threshold), as fax-era scanners do: the red header goes black or white.
    Bilevel,
}

impl Degrade {
    /// A clean colour scan.
    pub const CLEAN: Self =
        Self { angle: 0.0, noise: 0.0, jpeg_quality: 90, colour: ScanColour::Colour, blur: 0.0 };

    /// A varied office scan from a seed: skew within ±1.5°, light noise, JPEG 60–90, mostly colour.
    pub fn random(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5ca1);
        let colour = match rng.below(10) {
            0 => ScanColour::Grey,
            1 => ScanColour::Bilevel,
            _ => ScanColour::Colour,
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "60..90")]
        let jpeg_quality = rng.float(60.0, 90.0) as u8;
        Self {
            angle: rng.float(-1.5, 1.5),
            noise: rng.float(0.0, 8.0),
            jpeg_quality,
            colour,
            blur: if rng.chance(20) { 0.8 } else { 0.0 },
        }
    }
}

/// Renders a PDF's pages to images at `dpi` with pdftoppm.
pub fn rasterise(pdf: &Path, dpi: u32, dir: &Path) -> io::Result<Vec<RgbImage>> {
    require("pdftoppm")?;
    let prefix = dir.join(unique_name("page"));
    run(
        Command::new("pdftoppm").arg("-r").arg(dpi.to_string()).arg("-tiff").arg(pdf).arg(&prefix),
        Duration::from_mins(2),
    )?;
    let stem = prefix.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{stem}-"))
                    && Path::new(n).extension().is_some_and(|e| e.eq_ignore_ascii_case("tif"))
            })
        })
        .collect();
    // pdftoppm pads page numbers to the same width, so names sort in page order (uncompressed
    // TIFF: PNG would cost more to write and read than the page is worth).
    pages.sort();
    pages
        .iter()
        .map(|p| {
            let img = image::open(p).map_err(io::Error::other)?.to_rgb8();
            let _ = std::fs::remove_file(p);
            Ok(img)
        })
        .collect()
}

/// A page as a scanner would spoil it.
pub fn degrade(page: &RgbImage, how: &Degrade, seed: u64) -> DynamicImage {
    let mut img = page.clone();
    if how.blur > 0.0 {
        img = imageproc::filter::gaussian_blur_f32(&img, how.blur);
    }
    if how.angle.abs() > 0.01 {
        img = rotate_about_center(
            &img,
            how.angle.to_radians(),
            Interpolation::Bilinear,
            Border::Constant(Rgb([255, 255, 255])),
        );
    }
    if how.noise > 0.0 {
        img = imageproc::noise::gaussian_noise(&img, 0.0, f64::from(how.noise), seed);
    }
    match how.colour {
        ScanColour::Colour => DynamicImage::ImageRgb8(img),
        ScanColour::Grey => DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(img).to_luma8()),
        ScanColour::Bilevel => {
            let mut grey: GrayImage = DynamicImage::ImageRgb8(img).to_luma8();
            for p in grey.pixels_mut() {
                *p = Luma([if p.0[0] < 150 { 0 } else { 255 }]);
            }
            DynamicImage::ImageLuma8(grey)
        }
    }
}

fn jpeg(img: &DynamicImage, quality: u8) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(img)
        .map_err(io::Error::other)?;
    Ok(out)
}

/// An image-only PDF of JPEG pages (DCTDecode XObjects), each page sized from its pixels at
/// `dpi` (as a scanner's PDF is).
pub fn image_pdf(pages: &[(Vec<u8>, u32, u32, bool)], dpi: u32) -> io::Result<Vec<u8>> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for (data, width, height, grey) in pages {
        let image = Stream::new(
            dictionary! {
                "Type" => "XObject",
                "Subtype" => "Image",
                "Width" => i64::from(*width),
                "Height" => i64::from(*height),
                "ColorSpace" => if *grey { "DeviceGray" } else { "DeviceRGB" },
                "BitsPerComponent" => 8,
                "Filter" => "DCTDecode",
            },
            data.clone(),
        )
        .with_compression(false);
        let image_id = doc.add_object(image);
        let (w, h) = (f64::from(*width) * 72.0 / f64::from(dpi), f64::from(*height) * 72.0 / f64::from(dpi));
        let content = format!("q {w:.3} 0 0 {h:.3} 0 0 cm /Im0 Do Q");
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let leaf = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
        });
        kids.push(leaf.into());
    }
    let count = i64::try_from(kids.len()).map_err(io::Error::other)?;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(io::Error::other)?;
    Ok(out)
}

/// A scanned PDF: the text PDF rendered at `dpi`, each page degraded, wrapped as JPEG images.
pub fn scanned_pdf(spec: &Spec, dir: &Path, dpi: u32, how: &Degrade) -> io::Result<(PathBuf, Truth)> {
    let (pdf, truth) = text_pdf(spec, dir)?;
    Ok((scan_of(&pdf, dir, dpi, how)?, truth))
}

/// A scan of an existing PDF (see [`scanned_pdf`]).
pub fn scan_of(pdf: &Path, dir: &Path, dpi: u32, how: &Degrade) -> io::Result<PathBuf> {
    let pages = rasterise(pdf, dpi, dir)?;
    let mut encoded = Vec::new();
    for (k, page) in pages.iter().enumerate() {
        let img = degrade(page, how, k as u64 + 1);
        let grey = !matches!(img, DynamicImage::ImageRgb8(_));
        encoded.push((jpeg(&img, how.jpeg_quality)?, img.width(), img.height(), grey));
    }
    let out = dir.join(format!("{}.pdf", unique_name("scan")));
    std::fs::write(&out, image_pdf(&encoded, dpi)?)?;
    Ok(out)
}

/// A phone photo of page 1 (of the one-page version of `spec`): the sheet on a darker desk, seen
/// slightly askew and in perspective, lit unevenly, as JPEG. Its truth is the whole document's
/// (the page holds it all).
pub fn picture(spec: &Spec, dir: &Path, seed: u64) -> io::Result<(PathBuf, Truth)> {
    let (pdf, mut truth) = text_pdf(&spec.one_page(), dir)?;
    truth.pages = 1;
    Ok((photo_of(&pdf, dir, seed)?, truth))
}

/// A phone photo of page 1 of an existing PDF (see [`picture`]).
pub fn photo_of(pdf: &Path, dir: &Path, seed: u64) -> io::Result<PathBuf> {
    let page = rasterise(pdf, 150, dir)?.into_iter().next().ok_or_else(|| io::Error::other("no page"))?;
    let mut rng = Rng::new(seed);
    let (w, h) = page.dimensions();
    #[allow(clippy::cast_precision_loss, reason = "image sizes")]
    let (wf, hf) = (w as f32, h as f32);
    let margin = 0.06;
    let mut desk = RgbImage::from_pixel(w, h, Rgb([96, 86, 74]));
    // The sheet shrunk into the frame so the desk shows around it.
    let inner = Projection::from_control_points(
        [(0.0, 0.0), (wf, 0.0), (wf, hf), (0.0, hf)],
        [
            (wf * rng.float(margin, 2.0 * margin), hf * rng.float(margin, 2.0 * margin)),
            (wf * (1.0 - rng.float(margin, 2.0 * margin)), hf * rng.float(margin, 2.0 * margin)),
            (wf * (1.0 - rng.float(margin * 0.5, margin)), hf * (1.0 - rng.float(margin * 0.5, margin))),
            (wf * rng.float(margin * 0.5, margin), hf * (1.0 - rng.float(margin * 0.5, margin))),
        ],
    )
    .ok_or_else(|| io::Error::other("degenerate projection"))?;
    let sheet = warp(&page, inner, Interpolation::Bilinear, Border::Constant(Rgb([0, 0, 0])));
    let mask = warp(
        &RgbImage::from_pixel(w, h, Rgb([255, 255, 255])),
        inner,
        Interpolation::Bilinear,
        Border::Constant(Rgb([0, 0, 0])),
    );
    let light_x = rng.float(0.0, wf);
    let diagonal = wf.hypot(hf);
    for (x, y, px) in desk.enumerate_pixels_mut() {
        #[allow(clippy::cast_precision_loss, reason = "pixel coordinates")]
        let (xf, yf) = (x as f32, y as f32);
        let alpha = f32::from(mask.get_pixel(x, y).0[0]) / 255.0;
        // Lamp light falls off away from one point above the page.
        let light = 1.0 - 0.25 * ((xf - light_x).hypot(yf) / diagonal);
        let s = sheet.get_pixel(x, y).0;
        for (channel, sheet_value) in px.0.iter_mut().zip(s) {
            let v = (f32::from(sheet_value) * alpha + f32::from(*channel) * (1.0 - alpha)) * light;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped to 0..=255")]
            let v = v.clamp(0.0, 255.0) as u8;
            *channel = v;
        }
    }
    // Turned with the desk showing at the corners, not a scanner's white.
    let desk = rotate_about_center(
        &desk,
        rng.float(-3.0, 3.0).to_radians(),
        Interpolation::Bilinear,
        Border::Replicate,
    );
    let img = degrade(
        &desk,
        &Degrade { angle: 0.0, noise: 4.0, jpeg_quality: 80, colour: ScanColour::Colour, blur: 0.6 },
        seed,
    );
    let out = dir.join(format!("{}.jpg", unique_name("photo")));
    std::fs::write(&out, jpeg(&img, 85)?)?;
    Ok(out)
}

/// What `city_set` made of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    TextPdf,
    ScannedPdf { dpi: u32 },
    Docx,
    Picture,
}

/// About 20 varied documents of a city's departments: text PDFs, scans at 200 and 300 dpi with
/// skew, noise and seals, two Word files and two photographed pages. Deterministic per seed.
pub fn city_set(seed: u64, dir: &Path) -> io::Result<Vec<(PathBuf, Truth, Made)>> {
    std::fs::create_dir_all(dir)?;
    let mut specs: Vec<Spec> =
        (0..20u64).map(|k| Spec::random(seed.wrapping_mul(1000).wrapping_add(k))).collect();
    for spec in &mut specs[18..] {
        *spec = spec.one_page();
    }
    // Two LibreOffice runs in all (each costs seconds): every PDF, then the Word files.
    let pdfs = text_pdfs(&specs, dir)?;
    let inputs: Vec<PathBuf> =
        specs[16..18].iter().map(|s| write_fodt(s, dir, &unique_name("word"))).collect::<io::Result<_>>()?;
    let words = convert(&inputs, "docx", dir)?;
    let mut out = Vec::new();
    for (k, (pdf, truth)) in pdfs.into_iter().enumerate() {
        match k {
            0..10 => out.push((pdf, truth, Made::TextPdf)),
            10..16 => {
                let dpi = if k % 2 == 0 { 200 } else { 300 };
                let scan = scan_of(&pdf, dir, dpi, &Degrade::random(seed ^ k as u64))?;
                out.push((scan, truth, Made::ScannedPdf { dpi }));
            }
            16..18 => out.push((words[k - 16].clone(), truth, Made::Docx)),
            _ => {
                let photo = photo_of(&pdf, dir, seed ^ (k as u64 + 77))?;
                out.push((photo, Truth { pages: 1, ..truth }, Made::Picture));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fields, text};

    fn tools() {
        require("soffice").expect("soffice");
        require("pdftoppm").expect("pdftoppm");
    }

    /// Field by field, how many of the truths the reader matched.
    #[derive(Default, Debug)]
    struct Score {
        docs: usize,
        doc_number: usize,
        issuer: usize,
        date: usize,
        title: usize,
        classification: usize,
        misses: Vec<String>,
    }

    impl Score {
        fn add(&mut self, name: &str, found: &fields::Fields, truth: &Truth) {
            self.docs += 1;
            let v = |f: &Option<fields::Field>| f.as_ref().map(|f| f.value.clone());
            let date_truth = Some(truth.date.clone());
            for (label, got, want, count) in [
                ("文号", v(&found.doc_number), truth.doc_number.clone(), &mut self.doc_number),
                ("责任者", v(&found.issuer), Some(truth.issuer.clone()), &mut self.issuer),
                ("日期", v(&found.date), date_truth, &mut self.date),
                ("题名", v(&found.title), Some(truth.title.clone()), &mut self.title),
                ("密级", v(&found.classification), truth.classification.clone(), &mut self.classification),
            ] {
                if got == want {
                    *count += 1;
                } else {
                    self.misses.push(format!("{name} {label}: got {got:?}, want {want:?}"));
                }
            }
        }

        fn report(&self) -> String {
            format!(
                "{} documents: 文号 {}/{n}, 责任者 {}/{n}, 日期 {}/{n}, 题名 {}/{n}, 密级 {}/{n}\n{}",
                self.docs,
                self.doc_number,
                self.issuer,
                self.date,
                self.title,
                self.classification,
                self.misses.join("\n"),
                n = self.docs
            )
        }
    }

    /// `YINGJIAN_CORPUS_DIR=/tmp/c cargo test -p yingjian-reader --features corpus -- --ignored
    /// city_set_to_look_at`: writes a city set where it can be looked at, with its truths.
    #[test]
    #[ignore = "writes files for a person to look at"]
    fn city_set_to_look_at() {
        tools();
        let dir = PathBuf::from(
            std::env::var("YINGJIAN_CORPUS_DIR").unwrap_or_else(|_| "/tmp/yingjian-corpus".into()),
        );
        let start = Instant::now();
        let set = city_set(1, &dir).expect("city set");
        println!("{} documents in {:?}", set.len(), start.elapsed());
        for (path, truth, made) in set {
            println!("{} {made:?} {truth:?}", path.display());
        }
    }

    #[test]
    fn specs_vary_and_repeat() {
        let a = Spec::random(7);
        let b = Spec::random(7);
        assert_eq!(a.fodt(), b.fodt());
        let kinds: std::collections::HashSet<_> =
            (0..40).map(|s| format!("{:?}", Spec::random(s).kind)).collect();
        assert_eq!(kinds.len(), 2);
        assert!((0..40).any(|s| Spec::random(s).issuers.len() == 2));
        assert!((0..40).any(|s| Spec::random(s).classification.is_some()));
        assert!((0..40).any(|s| Spec::random(s).chinese_date));
        assert_eq!(chinese(5), "五");
        assert_eq!(chinese(12), "十二");
        assert_eq!(chinese(28), "二十八");
        assert_eq!(chinese(30), "三十");
    }

    #[test]
    fn generated_text_pdfs_read_back_to_their_truth() {
        tools();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut specs: Vec<Spec> = (0..24).map(Spec::random).collect();
        specs.extend(hard_cases());
        let made = text_pdfs(&specs, dir.path()).expect("text PDFs");
        let (mut score, mut misread) = (Score::default(), Score::default());
        let mut rng = Rng::new(42);
        for (path, truth) in &made {
            let bytes = std::fs::read(path).expect("read");
            let pages = text::pdf_layer(&bytes, 50).expect("layer");
            assert_eq!(pages.len(), truth.pages as usize);
            assert!(pages.iter().all(Option::is_some), "{}: every page has a layer", path.display());
            let lines: Vec<fields::Line> = pages.into_iter().flatten().flatten().collect();
            let name = path.display().to_string();
            score.add(&name, &fields::extract(&lines), truth);
            let ocr: Vec<fields::Line> = lines.iter().map(|l| misread_like_ocr(l, &mut rng)).collect();
            misread.add(&name, &fields::extract(&ocr), truth);
        }
        let report = score.report();
        println!("text PDFs: {report}");
        println!("the same lines misread as OCR would: {}", misread.report());
        assert!(score.misses.is_empty(), "{report}");
        assert!(misread.misses.is_empty(), "{}", misread.report());
    }

    /// The variations most likely to trip the rules, each made sure of.
    fn hard_cases() -> Vec<Spec> {
        let mut wrapped = Spec::random(1);
        wrapped.kind = Kind::Notice;
        wrapped.issuers = vec![issuer(2)]; // 平顶山市人力资源和社会保障局: wraps at 36 pt
        wrapped.header_size = 36.0;
        wrapped.title = "关于做好2021年度职称评审工作的通知".to_owned();
        wrapped.chinese_date = true;
        wrapped.date = (2021, 12, 28);
        wrapped.classification = Some("秘密★1年".to_owned());
        wrapped.seal = true;
        let mut joint = wrapped.clone();
        joint.issuers = vec![issuer(6), issuer(2)];
        joint.header_size = 0.0;
        joint.chinese_date = false;
        joint.classification = None;
        let mut report = Spec::random(2);
        report.kind = Kind::Report;
        report.issuers = vec![issuer(1)];
        report.title = "平顶山市商务局2021年度质量工作自评报告".to_owned();
        report.date = (2022, 1, 12);
        report.dated_heading = true;
        report.classification = None;
        report.print_block = false;
        vec![wrapped, joint, report]
    }

    /// A line as OCR might read it: 〔〕 as other brackets or lost, 〇 as O or 0, ★ as * or
    /// lost, spaces between characters, confidence below 1.
    fn misread_like_ocr(line: &fields::Line, rng: &mut Rng) -> fields::Line {
        let brackets =
            [("【", "】"), ("[", "]"), ("(", ")"), ("［", "］"), ("（", "）"), ("「", "」"), ("〔", "")];
        let (open, close) = *rng.pick(&brackets);
        let mut text = line.text.replace('〔', open).replace('〕', close);
        let zero = *rng.pick(&["O", "0", "○", "〇"]);
        text = text.replace('〇', zero);
        let star = *rng.pick(&["*", "", "★"]);
        text = text.replace('★', star);
        if rng.chance(15) {
            let mut spaced = String::new();
            for c in text.chars() {
                spaced.push(c);
                spaced.push(' ');
            }
            text = spaced.trim_end().to_owned();
        }
        fields::Line { text, page: line.page, confidence: rng.float(0.7, 0.99) }
    }

    #[test]
    fn generated_word_files_read_back_to_their_truth() {
        tools();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut score = Score::default();
        for seed in [3, 11, 19, 101] {
            let spec = Spec::random(seed);
            let (path, truth) = docx(&spec, dir.path()).expect("docx");
            let bytes = std::fs::read(&path).expect("read");
            let lines = text::office(&bytes, "docx").expect("docx text");
            score.add(&path.display().to_string(), &fields::extract(&lines), &truth);
        }
        let report = score.report();
        println!("Word files: {report}");
        assert!(score.misses.is_empty(), "{report}");
    }

    #[test]
    fn scans_and_pictures_have_no_text_layer() {
        tools();
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = Spec::random(5);
        let (pdf, truth) = scanned_pdf(&spec, dir.path(), 100, &Degrade::random(5)).expect("scan");
        let bytes = std::fs::read(&pdf).expect("read");
        let pages = text::pdf_layer(&bytes, 50).expect("layer");
        assert_eq!(pages.len(), truth.pages as usize);
        assert!(pages.iter().all(Option::is_none), "a scan has no usable text layer");
        let doc = Document::load_mem(&bytes).expect("PDF");
        let first = doc.get_pages()[&1];
        let images = doc.get_page_images(first).expect("images");
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].width, 827, "A4 at 100 dpi");

        let (photo, truth) = picture(&spec, dir.path(), 9).expect("picture");
        assert_eq!(truth.pages, 1);
        let img = image::open(&photo).expect("a JPEG");
        assert!(img.width() > 800);
    }
}
