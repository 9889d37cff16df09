//! Sample evidence made on the fly for the demo: small valid PDFs and pictures with Chinese
//! names, chosen so the dashboard tells a story (some items complete, some needing work, some
//! missing, a duplicate, a misplaced file).

/// A one-page PDF showing `text` (ASCII: the standard fonts have no Chinese glyphs).
pub fn pdf(text: &str) -> Vec<u8> {
    let text: String = text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
    let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

/// A small 24-bit BMP picture: a colour gradient seeded by `seed`, so each one is distinct.
pub fn picture(seed: u8) -> Vec<u8> {
    const W: u32 = 160;
    const H: u32 = 120;
    let row = (W * 3).div_ceil(4) * 4;
    let size = 54 + row * H;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"BM");
    for v in [size, 0, 54, 40] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&W.to_le_bytes());
    out.extend_from_slice(&H.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    for v in [0u32, row * H, 2835, 2835, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for y in 0..H {
        for x in 0..W {
            out.extend_from_slice(&[(x * 255 / W) as u8, (y * 255 / H) as u8, seed.wrapping_mul(37)]);
        }
        out.resize(out.len() + (row - W * 3) as usize, 0);
    }
    out
}

/// One sample file: department id, path in its evidence folder, bytes.
pub struct Sample {
    pub department: &'static str,
    pub path: &'static str,
    pub bytes: Vec<u8>,
}

pub fn samples() -> Vec<Sample> {
    let s = |department, path, bytes| Sample { department, path, bytes };
    vec![
        // 公安局: 8.3 complete (two kinds), 11.2 missing, report and three cases.
        s(
            "police",
            "08.03 昆仑2021专项行动/文件/关于开展“昆仑2021”专项行动的通知.pdf",
            pdf("Kunlun 2021 notice"),
        ),
        s("police", "08.03 昆仑2021专项行动/图片/集中销毁侵权假冒商品现场.bmp", picture(1)),
        s("police", "自评报告/公安局2021年度质量工作自评报告.pdf", pdf("Police self-assessment 2021")),
        s("police", "典型案例/案例一 侵犯注册商标专用权案.pdf", pdf("Case 1")),
        s("police", "典型案例/案例二 销售假冒伪劣商品案.pdf", pdf("Case 2")),
        s("police", "典型案例/案例三 生产伪劣农资案.pdf", pdf("Case 3")),
        // 市场监督管理局: complete, one-kind-only, an uncaptioned picture, a duplicate, a misplaced file.
        s(
            "market",
            "01.01 制造业产品质量合格率/文件/2021年制造业产品质量合格率监测结果.pdf",
            pdf("Pass rate 2021"),
        ),
        s(
            "market",
            "03.01 质量工作格局/文件/关于开展“昆仑2021”专项行动的通知.pdf",
            pdf("Kunlun 2021 notice"),
        ),
        s("market", "12.01 质量月活动和政府质量奖/图片/IMG_20210915_093012.bmp", picture(2)),
        s(
            "market",
            "12.01 质量月活动和政府质量奖/文稿/质量月活动启动仪式讲话.pdf",
            pdf("Quality month speech"),
        ),
        s("market", "2021年质量工作总结（待归类）.pdf", pdf("Unsorted summary")),
        // 水利局: complete item and report.
        s(
            "water",
            "01.06 水利建设质量工作水平评价/水利建设质量工作考核评价报告.pdf",
            pdf("Water works evaluation"),
        ),
        s("water", "自评报告/水利局自评报告.pdf", pdf("Water self-assessment")),
        // 6.4 is joint: customs has filed, commerce has not.
        s(
            "customs",
            "06.04 进出口商品质量安全风险监测/文件/进出口商品质量安全风险监测方案.pdf",
            pdf("Import export plan"),
        ),
        s(
            "customs",
            "06.04 进出口商品质量安全风险监测/信息/风险监测工作简报（第3期）.pdf",
            pdf("Bulletin 3"),
        ),
        // 文化广电和旅游局: one item, one case of the three it needs.
        s(
            "tourism",
            "07.06 旅游市场黑名单管理制度/文件/旅游市场黑名单管理办法.pdf",
            pdf("Tourism blacklist"),
        ),
        s("tourism", "07.06 旅游市场黑名单管理制度/图片/黑名单制度宣传活动.bmp", picture(3)),
        s("tourism", "典型案例/案例一 景区服务质量提升.pdf", pdf("Tourism case")),
        // 农业农村局 and 卫生健康委员会: a start.
        s(
            "agriculture",
            "05.01 食用农产品合格证制度/文件/食用农产品合格证制度实施方案.pdf",
            pdf("Certificate scheme"),
        ),
        s("agriculture", "05.01 食用农产品合格证制度/宣传资料/合格证制度宣传海报.pdf", pdf("Poster")),
        s("health", "01.10 食源性疾病监测/食源性疾病监测年度报告.pdf", pdf("Foodborne disease report")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_valid_files() {
        let p = pdf("hello");
        assert!(p.starts_with(b"%PDF-1.4") && p.ends_with(b"%%EOF\n"));
        let b = picture(7);
        assert_eq!(&b[..2], b"BM");
        assert_eq!(u32::from_le_bytes(b[2..6].try_into().unwrap()) as usize, b.len());
        let catalogue = yingjian_shared::Catalogue::builtin();
        for s in samples() {
            let path = yingjian_shared::RelPath::parse(s.path).unwrap();
            let placement = yingjian_shared::classify(catalogue, &path);
            let unsorted = matches!(placement, yingjian_shared::Placement::Unsorted { .. });
            assert_eq!(unsorted, s.path.contains("待归类"), "{}", s.path);
        }
    }
}
