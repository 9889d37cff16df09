//! A [`Spec`] written as flat ODT (LibreOffice's single-file XML): a GB/T 9704 red header or a
//! report's heading, the body, the signature with its seal, the 版记.

use std::fmt::Write as _;

use super::spec::{Kind, SECTIONS, Spec};

impl Spec {
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
