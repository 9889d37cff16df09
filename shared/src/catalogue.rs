//! The assessment catalogue: areas → key points → items, the departments, the deadlines.
//!
//! One serde shape serves the TOML data file, the `catalogue --json` output and
//! `GET /api/v1/catalogue`. Codes may be left out of a file: they follow from the order
//! (area 1–5, key point 1–17 across areas, item `K.N`). When present they must match.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::points::Points;

/// The 2021 catalogue, embedded so that a first run needs no file at all.
pub const BUILTIN_CATALOGUE_TOML: &str = include_str!("../data/catalogue-2021.toml");

static BUILTIN: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::from_toml(BUILTIN_CATALOGUE_TOML).expect("the built-in catalogue is validated by tests")
});

/// Longest short title: item folders are named `KK.NN <short title>` and must fit Windows paths.
const SHORT_TITLE_MAX_CHARS: usize = 24;

#[derive(Debug, Error, PartialEq)]
pub enum CatalogueError {
    #[error("the catalogue cannot be read: {0}")]
    Syntax(String),
    #[error("department id {0:?} is used twice: give each department its own id")]
    DuplicateDepartment(String),
    #[error("department id {0:?} must be lowercase ASCII letters, digits or '-'")]
    BadDepartmentId(String),
    #[error("the name or alias {0:?} names two departments: keep it on one")]
    AmbiguousDepartmentName(String),
    #[error(
        "{what} has code {found} but its place in the file makes it {expected}: fix the code or the order"
    )]
    CodeOutOfOrder { what: String, found: String, expected: String },
    #[error("item {item} names department {department:?}, which is not in [[departments]]")]
    UnknownDepartment { item: ItemCode, department: String },
    #[error("item {0} names no responsible department: add departments = [\"…\"]")]
    NoDepartment(ItemCode),
    #[error("item {0} needs exactly one of points, max_deduction or veto = true")]
    Scoring(ItemCode),
    #[error(
        "item {item} has a short title of {chars} characters; at most {SHORT_TITLE_MAX_CHARS} fit a folder name"
    )]
    ShortTitleTooLong { item: ItemCode, chars: usize },
    #[error("item {item} has an empty {field}")]
    EmptyText { item: ItemCode, field: &'static str },
    #[error("item {0} is listed twice")]
    DuplicateItem(ItemCode),
    #[error("area {area} ({name}) declares {declared} points but its items add up to {sum}")]
    AreaPoints { area: u8, name: String, declared: Points, sum: Points },
    #[error("the catalogue declares {declared} points in total but its areas add up to {sum}")]
    TotalPoints { declared: Points, sum: Points },
    #[error("key point {0} has no items")]
    EmptyKeyPoint(u8),
}

/// `K.N`: key point K (1–17 in 2021), item N within it, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemCode {
    pub key_point: u8,
    pub number: u8,
}

impl ItemCode {
    pub fn new(key_point: u8, number: u8) -> Self {
        ItemCode { key_point, number }
    }

    /// `KK.NN`, the sortable prefix of item folder names.
    pub fn padded(self) -> String {
        format!("{:02}.{:02}", self.key_point, self.number)
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.key_point, self.number)
    }
}

impl FromStr for ItemCode {
    type Err = String;
    /// Accepts `8.3`, `08.03` and the full-width forms `０８．０３`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::convention::parse_item_prefix(s)
            .filter(|(_, rest)| rest.is_empty())
            .map(|(code, _)| code)
            .ok_or_else(|| format!("{s:?} is not an item code: write it as K.N, for example 8.3"))
    }
}

impl Serialize for ItemCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ItemCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    /// ASCII id used in tokens, URLs and config files.
    pub id: String,
    pub name: String,
    /// Other names the seed (or people) use for the same body.
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl Department {
    /// Whether `name` is this department's id (any case), name or alias; a leading 市 is ignored.
    pub fn is_named(&self, name: &str) -> bool {
        let name = name.trim();
        let bare = name.strip_prefix('市').unwrap_or(name);
        self.id.eq_ignore_ascii_case(name)
            || [name, bare].iter().any(|n| self.name == *n || self.aliases.iter().any(|a| a == n))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Contacts (附件4) due.
    pub contacts: Timestamp,
    /// Self-assessment reports and evidence due.
    pub evidence: Timestamp,
}

/// How many typical cases (典型案例) a department files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRules {
    pub max: u32,
    pub min: u32,
    /// Department ids for which `min` applies; the others need none.
    #[serde(default)]
    pub required_for: Vec<String>,
}

impl CaseRules {
    pub fn min_for(&self, department: &str) -> u32 {
        if self.required_for.iter().any(|d| d == department) { self.min } else { 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    #[serde(default)]
    pub code: u8,
    pub name: String,
    pub points: Points,
    pub key_points: Vec<KeyPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPoint {
    #[serde(default)]
    pub code: u8,
    pub name: String,
    /// Focus text (重点考核) that the seed gives for the key point as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    #[serde(default = "ItemCode::unset")]
    pub code: ItemCode,
    /// The seed's sub-heading within a key point (产品质量, 工程质量, …), where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The item's full text (具体内容) without its points.
    pub title: String,
    /// At most 24 characters: the item folder's name after the code.
    pub short_title: String,
    pub points: Option<Points>,
    pub max_deduction: Option<Points>,
    #[serde(default)]
    pub veto: bool,
    /// Responsible department ids (评价部门), in the seed's order.
    pub departments: Vec<String>,
    /// 重点考核 from 附件2.
    pub focus: Option<String>,
}

impl ItemCode {
    fn unset() -> Self {
        ItemCode::new(0, 0)
    }
}

/// How an item counts towards the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// Scored: evidence is collected for it.
    Points(Points),
    /// A deduction for an incident; no evidence, an optional statement.
    Deduction(Points),
    /// An incident that makes the whole result grade D.
    Veto,
}

impl Scoring {
    /// As the catalogue prints it: `2分`, `最高扣1分`, `D级否决`.
    pub fn label(self) -> String {
        match self {
            Scoring::Points(p) => format!("{p}分"),
            Scoring::Deduction(d) => format!("最高扣{d}分"),
            Scoring::Veto => "D级否决".into(),
        }
    }
}

impl Item {
    pub fn scoring(&self) -> Scoring {
        match (self.points, self.max_deduction) {
            (Some(p), _) => Scoring::Points(p),
            (None, Some(d)) => Scoring::Deduction(d),
            (None, None) => Scoring::Veto,
        }
    }

    /// The points an item is worth, zero for deduction and veto items.
    pub fn score(&self) -> Points {
        self.points.unwrap_or(Points::ZERO)
    }

    pub fn is_scored(&self) -> bool {
        self.points.is_some()
    }

    pub fn has_department(&self, department: &str) -> bool {
        self.departments.iter().any(|d| d == department)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub year: u16,
    pub name: String,
    pub total_points: Points,
    pub deadlines: Deadlines,
    pub cases: CaseRules,
    pub departments: Vec<Department>,
    pub areas: Vec<Area>,
}

impl Catalogue {
    /// The built-in 2021 catalogue.
    pub fn builtin() -> &'static Catalogue {
        &BUILTIN
    }

    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: Catalogue = toml::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        raw.validated()
    }

    pub fn from_json(text: &str) -> Result<Catalogue, CatalogueError> {
        let raw: Catalogue = serde_json::from_str(text).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
        raw.validated()
    }

    /// Fills in the codes the file left out and checks every rule a catalogue must keep.
    fn validated(mut self) -> Result<Catalogue, CatalogueError> {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for d in &self.departments {
            if d.id.is_empty()
                || !d.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(CatalogueError::BadDepartmentId(d.id.clone()));
            }
            if !ids.insert(d.id.as_str()) {
                return Err(CatalogueError::DuplicateDepartment(d.id.clone()));
            }
            for n in std::iter::once(&d.name).chain(&d.aliases) {
                if !names.insert(n.as_str()) {
                    return Err(CatalogueError::AmbiguousDepartmentName(n.clone()));
                }
            }
        }
        let mut key_point_code = 0u8;
        let mut total = Points::ZERO;
        for (area_index, area) in self.areas.iter_mut().enumerate() {
            let code = area_index as u8 + 1;
            check_code("area", area.code, code)?;
            area.code = code;
            let mut sum = Points::ZERO;
            for kp in &mut area.key_points {
                key_point_code += 1;
                check_code(&format!("key point {}", kp.name), kp.code, key_point_code)?;
                kp.code = key_point_code;
                if kp.items.is_empty() {
                    return Err(CatalogueError::EmptyKeyPoint(kp.code));
                }
                for (item_index, item) in kp.items.iter_mut().enumerate() {
                    let expected = ItemCode::new(kp.code, item_index as u8 + 1);
                    if item.code != ItemCode::unset() && item.code != expected {
                        return Err(CatalogueError::CodeOutOfOrder {
                            what: format!("item {:?}", item.short_title),
                            found: item.code.to_string(),
                            expected: expected.to_string(),
                        });
                    }
                    item.code = expected;
                    validate_item(item, &ids)?;
                    sum = sum + item.score();
                }
            }
            if sum != area.points {
                return Err(CatalogueError::AreaPoints {
                    area: area.code,
                    name: area.name.clone(),
                    declared: area.points,
                    sum,
                });
            }
            total = total + sum;
        }
        if total != self.total_points {
            return Err(CatalogueError::TotalPoints { declared: self.total_points, sum: total });
        }
        Ok(self)
    }

    /// Every item in catalogue order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.key_points().flat_map(|kp| kp.items.iter())
    }

    pub fn key_points(&self) -> impl Iterator<Item = &KeyPoint> {
        self.areas.iter().flat_map(|a| a.key_points.iter())
    }

    pub fn item(&self, code: ItemCode) -> Option<&Item> {
        self.items().find(|i| i.code == code)
    }

    /// The area and key point an item sits in.
    pub fn locate(&self, code: ItemCode) -> Option<(&Area, &KeyPoint, &Item)> {
        self.areas.iter().find_map(|a| {
            a.key_points.iter().find_map(|kp| kp.items.iter().find(|i| i.code == code).map(|i| (a, kp, i)))
        })
    }

    /// A department by id, name or alias.
    pub fn department(&self, name: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.is_named(name))
    }

    /// The items a department answers for, in catalogue order.
    pub fn items_for<'a>(&'a self, department: &'a str) -> impl Iterator<Item = &'a Item> {
        self.items().filter(move |i| i.has_department(department))
    }

    /// Points of the scored items a department answers for (a joint item counts in full for each).
    pub fn points_for(&self, department: &str) -> Points {
        self.items_for(department).map(Item::score).sum()
    }
}

/// 一 … 九十九, for the seed's numbering of areas （一） and key points.
pub fn chinese_numeral(n: u8) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (tens, ones) = (usize::from(n / 10), usize::from(n % 10));
    let tens_text = match tens {
        0 => String::new(),
        1 => "十".to_string(),
        t => format!("{}十", DIGITS[t]),
    };
    let ones_text = if ones == 0 && tens > 0 { "" } else { DIGITS[ones] };
    format!("{tens_text}{ones_text}")
}

fn check_code(what: &str, found: u8, expected: u8) -> Result<(), CatalogueError> {
    if found == 0 || found == expected {
        Ok(())
    } else {
        Err(CatalogueError::CodeOutOfOrder {
            what: what.to_string(),
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }
}

fn validate_item(item: &Item, departments: &HashSet<&str>) -> Result<(), CatalogueError> {
    let code = item.code;
    let scorings = usize::from(item.points.is_some())
        + usize::from(item.max_deduction.is_some())
        + usize::from(item.veto);
    if scorings != 1 {
        return Err(CatalogueError::Scoring(code));
    }
    for (field, text) in [("title", &item.title), ("short_title", &item.short_title)] {
        if text.trim().is_empty() {
            return Err(CatalogueError::EmptyText { item: code, field });
        }
    }
    let chars = item.short_title.chars().count();
    if chars > SHORT_TITLE_MAX_CHARS {
        return Err(CatalogueError::ShortTitleTooLong { item: code, chars });
    }
    if item.departments.is_empty() {
        return Err(CatalogueError::NoDepartment(code));
    }
    if let Some(unknown) = item.departments.iter().find(|d| !departments.contains(d.as_str())) {
        return Err(CatalogueError::UnknownDepartment { item: code, department: unknown.clone() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(p: f64) -> Points {
        Points::from_f64(p).unwrap()
    }

    #[test]
    fn builtin_has_the_seed_shape() {
        let c = Catalogue::builtin();
        assert_eq!(c.year, 2021);
        assert_eq!(c.items().count(), 69);
        assert_eq!(c.key_points().count(), 17);
        assert_eq!(c.items().filter(|i| i.is_scored()).count(), 63);
        assert_eq!(c.items().filter(|i| matches!(i.scoring(), Scoring::Deduction(_))).count(), 5);
        assert_eq!(c.items().filter(|i| i.scoring() == Scoring::Veto).count(), 1);
        assert_eq!(c.departments.len(), 13);
    }

    #[test]
    fn area_totals_match_the_seed() {
        let c = Catalogue::builtin();
        let totals: Vec<Points> = c
            .areas
            .iter()
            .map(|a| a.key_points.iter().flat_map(|k| &k.items).map(Item::score).sum())
            .collect();
        assert_eq!(totals, [pts(30.0), pts(14.0), pts(29.5), pts(16.0), pts(10.5)]);
        assert_eq!(c.items().map(Item::score).sum::<Points>(), pts(100.0));
    }

    #[test]
    fn department_totals_match_annex_1_added_by_hand() {
        let c = Catalogue::builtin();
        let expected = [
            ("market", 42.5),
            ("agriculture", 11.0),
            ("transport", 6.0),
            ("radio", 1.0),
            ("water", 5.0),
            ("tourism", 7.0),
            ("health", 7.0),
            ("housing", 7.0),
            ("customs", 3.5),
            ("commerce", 3.5),
            ("police", 5.0),
            ("industry", 4.0),
            ("education", 1.0),
        ];
        for (id, points) in expected {
            assert_eq!(c.points_for(id), pts(points), "{id}");
        }
    }

    #[test]
    fn deductions_and_veto_are_in_key_point_2() {
        let c = Catalogue::builtin();
        let kp2: Vec<_> = c.items().filter(|i| i.code.key_point == 2).map(Item::scoring).collect();
        assert_eq!(
            kp2,
            [
                Scoring::Deduction(pts(2.0)),
                Scoring::Deduction(pts(1.0)),
                Scoring::Deduction(pts(1.0)),
                Scoring::Deduction(pts(1.0)),
                Scoring::Deduction(pts(1.0)),
                Scoring::Veto
            ]
        );
    }

    #[test]
    fn the_joint_item_has_two_departments() {
        let c = Catalogue::builtin();
        let joint: Vec<_> = c.items().filter(|i| i.departments.len() > 1).collect();
        assert_eq!(joint.len(), 1);
        assert_eq!(joint[0].code, ItemCode::new(6, 4));
        assert_eq!(joint[0].departments, ["customs", "commerce"]);
        assert_eq!(joint[0].points, Some(pts(3.5)));
        let police = c.item(ItemCode::new(8, 3)).unwrap();
        assert_eq!(police.departments, ["police"]);
        assert!(police.title.contains("昆仑2021"));
    }

    #[test]
    fn every_alias_the_seed_uses_resolves() {
        let c = Catalogue::builtin();
        for (name, id) in [
            ("住房城乡建设局", "housing"),
            ("住房和城乡建设局", "housing"),
            ("住房城乡建筑局", "housing"),
            ("住房和城乡建筑局", "housing"),
            ("文化广电和旅游局", "tourism"),
            ("文化和旅游局", "tourism"),
            ("市工业和信息化局", "industry"),
            ("市场监督管理局", "market"),
            ("平顶山海关", "customs"),
            ("卫生健康委员会", "health"),
            ("POLICE", "police"),
            ("市公安局", "police"),
        ] {
            assert_eq!(c.department(name).map(|d| d.id.as_str()), Some(id), "{name}");
        }
        assert!(c.department("财政局").is_none());
    }

    #[test]
    fn short_titles_fit_and_focus_is_present_where_annex_2_gives_it() {
        let c = Catalogue::builtin();
        for item in c.items() {
            assert!(item.short_title.chars().count() <= SHORT_TITLE_MAX_CHARS, "{}", item.code);
            // 附件2 gives per-item focus texts from key point 3 on.
            assert_eq!(item.focus.is_some(), item.code.key_point >= 3, "{}", item.code);
        }
    }

    #[test]
    fn json_round_trip_keeps_the_catalogue() {
        let c = Catalogue::builtin();
        let json = serde_json::to_string(c).unwrap();
        assert_eq!(&Catalogue::from_json(&json).unwrap(), c);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["areas"][2]["key_points"][0]["items"][3]["code"], "6.4");
        assert_eq!(value["areas"][2]["points"], 29.5);
    }

    #[test]
    fn chinese_numerals_for_headings() {
        let got: Vec<String> = [1, 5, 10, 11, 17, 20, 21].into_iter().map(chinese_numeral).collect();
        assert_eq!(got, ["一", "五", "十", "十一", "十七", "二十", "二十一"]);
    }

    fn broken(from: &str, to: &str) -> CatalogueError {
        let text = BUILTIN_CATALOGUE_TOML.replacen(from, to, 1);
        assert_ne!(text, BUILTIN_CATALOGUE_TOML, "the replacement must apply");
        Catalogue::from_toml(&text).unwrap_err()
    }

    #[test]
    fn invalid_catalogues_name_the_item_and_the_problem() {
        assert_eq!(
            broken("departments = [\"police\"]", "departments = [\"polize\"]"),
            CatalogueError::UnknownDepartment { item: ItemCode::new(8, 3), department: "polize".into() }
        );
        assert_eq!(
            broken("points = 4\ndepartments = [\"police\"]", "points = 5\ndepartments = [\"police\"]"),
            CatalogueError::AreaPoints {
                area: 3,
                name: "质量安全监管".into(),
                declared: pts(29.5),
                sum: pts(30.5)
            }
        );
        assert_eq!(
            broken("veto = true\ndep", "veto = true\npoints = 1\ndep"),
            CatalogueError::Scoring(ItemCode::new(2, 6))
        );
        assert_eq!(
            broken(
                "short_title = \"知识产权保护\"",
                "short_title = \"知识产权保护知识产权保护知识产权保护知识产权保护知识产权保护\""
            ),
            CatalogueError::ShortTitleTooLong { item: ItemCode::new(8, 4), chars: 30 }
        );
        assert_eq!(
            broken("total_points = 100", "total_points = 99"),
            CatalogueError::TotalPoints { declared: pts(99.0), sum: pts(100.0) }
        );
        assert_eq!(
            broken("id = \"water\"", "id = \"police\""),
            CatalogueError::DuplicateDepartment("police".into())
        );
        assert!(matches!(broken("year = 2021", "year = \"x\""), CatalogueError::Syntax(_)));
        let msg = broken("departments = [\"police\"]", "departments = []").to_string();
        assert!(msg.contains("8.3"), "{msg}");
    }
}
