//! Which catalogue items a text speaks of, so that a file filed under one item whose text is
//! plainly about another of its department's items gets 「内容可能属于 01.10 …」.
//!
//! An item is known by the Han character pairs of its short title (「食源性疾病监测」: its
//! 具体内容 is mostly the formula 「根据…测算得分」, whose pairs no document holds), each weighted by
//! how few items share it (「食源」 says more than 「质量」 or 「监测」); a text's score for an item is
//! the weighted share of the item's pairs it contains. Kept per blob (the best few), and
//! turned into a suggestion where the blob is filed (`view`), as one content may be filed twice.

use std::collections::{HashMap, HashSet};

use yingjian_shared::{Catalogue, ItemCode};

/// Scores kept per blob: the best few, each at least `KEPT`.
const KEEP: usize = 5;
const KEPT: f32 = 0.3;
/// A suggestion needs this share of the item's weighted pairs…
const SUGGEST: f32 = 0.6;
/// …and this much more than the item the file is filed under.
const MARGIN: f32 = 0.25;

type Pair = (char, char);

/// One item's weighted pairs, and their sum.
struct Profile {
    code: ItemCode,
    pairs: Vec<(Pair, f32)>,
    total: f32,
}

/// The items' profiles.
pub struct Topics {
    items: Vec<Profile>,
}

impl Topics {
    pub fn of(catalogue: &Catalogue) -> Topics {
        let described: Vec<(ItemCode, HashSet<Pair>)> = catalogue
            .areas
            .iter()
            .flat_map(|a| &a.key_points)
            .flat_map(|k| &k.items)
            .map(|i| (i.code, pairs(&i.short_title)))
            .collect();
        let mut shared: HashMap<Pair, u32> = HashMap::new();
        for (_, p) in &described {
            for pair in p {
                *shared.entry(*pair).or_default() += 1;
            }
        }
        let n = described.len() as f32;
        let items = described
            .into_iter()
            .map(|(code, p)| {
                let pairs: Vec<(Pair, f32)> =
                    p.into_iter().map(|pair| (pair, (n / shared[&pair] as f32).ln())).collect();
                let total = pairs.iter().map(|(_, w)| w).sum();
                Profile { code, pairs, total }
            })
            .collect();
        Topics { items }
    }

    /// The items `text` speaks of most, best first (at most `KEEP`, none below `KEPT`).
    pub fn rank(&self, text: &str) -> Vec<(ItemCode, f32)> {
        let found = pairs(text);
        let mut ranked: Vec<(ItemCode, f32)> = self
            .items
            .iter()
            .filter(|item| item.total > 0.0)
            .map(|item| {
                let present: f32 = item.pairs.iter().filter(|(p, _)| found.contains(p)).map(|(_, w)| w).sum();
                (item.code, present / item.total)
            })
            .filter(|(_, score)| *score >= KEPT)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(KEEP);
        ranked
    }
}

/// The item to suggest for a file filed under `filed_under` by `department`, from its ranking:
/// one of the department's own items (the only folders its clerk can move it to), clearly
/// ahead of the item it is under.
pub fn suggestion(
    catalogue: &Catalogue,
    ranked: &[(ItemCode, f32)],
    department: &str,
    filed_under: ItemCode,
) -> Option<ItemCode> {
    let under = ranked.iter().find(|(c, _)| *c == filed_under).map_or(0.0, |(_, s)| *s);
    let (best, score) =
        ranked.iter().find(|(c, _)| catalogue.item(*c).is_some_and(|i| i.has_department(department)))?;
    (*best != filed_under && *score >= SUGGEST && *score - under >= MARGIN).then_some(*best)
}

/// Pairs of neighbouring Han characters.
fn pairs(text: &str) -> HashSet<Pair> {
    let mut out = HashSet::new();
    let mut last: Option<char> = None;
    for c in text.chars() {
        let han = ('\u{4e00}'..='\u{9fff}').contains(&c);
        if han && let Some(l) = last {
            out.insert((l, c));
        }
        last = han.then_some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_about_an_item_ranks_it_first() {
        let catalogue = Catalogue::builtin();
        let topics = Topics::of(catalogue);
        let text = "关于开展2021年食源性疾病监测工作的通知\n各县（市、区）卫生健康委：为做好食源性疾病监测，\
                    及时发现食源性疾病暴发，现将有关事项通知如下。";
        let ranked = topics.rank(text);
        let health = catalogue.items().find(|i| i.short_title == "食源性疾病监测").expect("the item");
        assert_eq!(ranked.first().map(|r| r.0), Some(health.code), "{ranked:?}");
        // Filed under another item of the same department: suggested; under its own: not.
        let other = catalogue
            .items()
            .find(|i| i.code != health.code && i.has_department("health"))
            .expect("another health item");
        assert_eq!(suggestion(catalogue, &ranked, "health", other.code), Some(health.code));
        assert_eq!(suggestion(catalogue, &ranked, "health", health.code), None);
        // Not an item of this department: nothing it could move the file to.
        assert_eq!(suggestion(catalogue, &ranked, "police", "1.1".parse().expect("a code")), None);
    }

    #[test]
    fn a_text_about_nothing_in_particular_suggests_nothing() {
        let catalogue = Catalogue::builtin();
        let topics = Topics::of(catalogue);
        let ranked =
            topics.rank("根据工作安排，现将有关事项通知如下，请认真贯彻落实，推动质量工作取得实效。");
        assert!(ranked.iter().all(|(_, s)| *s < SUGGEST), "{ranked:?}");
        for item in catalogue.items() {
            for d in &item.departments {
                assert_eq!(suggestion(catalogue, &ranked, d, item.code), None, "{d} {}", item.code);
            }
        }
    }
}
