//! What a generated document is: its [`Spec`] (varied from a seed by a deterministic [`Rng`]),
//! the city's departments and the phrases it is written from, and the [`Truth`] the reader
//! should find in it.

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

pub(super) const SECTIONS: &[&str] = &["一、基本情况", "二、主要做法", "三、存在问题", "四、下一步工作打算"];

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
        // A joint notice's signature takes the room of a paragraph.
        short.paragraphs.truncate(if self.issuers.len() > 1 { 1 } else { 2 });
        for p in &mut short.paragraphs {
            if p.chars().count() > 90 {
                *p = p.chars().take(60).collect::<String>() + "。";
            }
        }
        short.print_block = false;
        short
    }

    pub(super) fn date_text(&self) -> String {
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
}

pub(super) fn issuer(k: usize) -> Issuer {
    let (name, prefix) = DEPARTMENTS[k % DEPARTMENTS.len()];
    Issuer { name: name.to_owned(), prefix: prefix.to_owned() }
}

/// 1 … 31 in Chinese numerals.
pub(super) fn chinese(n: u32) -> String {
    let digits = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let units = digits[(n % 10) as usize];
    match n / 10 {
        0 => units.to_owned(),
        1 => format!("十{units}"),
        t => format!("{}十{units}", digits[t as usize]),
    }
}
