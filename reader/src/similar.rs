//! Near-duplicate text: the same paper scanned twice has different bytes but nearly the same
//! read text. A file's text becomes a MinHash signature of its character 3-grams, so the
//! server compares small signatures instead of texts.
//!
//! The text is normalised first: full-width ASCII folded to half-width, ASCII lower-cased, and
//! everything but letters and digits (whitespace, punctuation, brackets such as 〔〕) dropped, so
//! OCR's spacing and punctuation slips do not count. Signatures are stored by the server: the
//! hash family below is fixed, and changing it means recomputing every stored signature.

/// A MinHash signature over character 3-grams.
pub type Signature = Vec<u32>;

/// Slots in a signature: the estimate's standard error is about 0.04 at a similarity of 0.5.
pub const SLOTS: usize = 128;

/// Similarity from which two texts are the same paper. Measured: the same paper read twice,
/// even by different OCR engines, 0.52 and above; different papers of one office, sharing the
/// header and boilerplate, 0.28 and below. 0.45 sits between, nearer the same-paper side
/// because a false grouping costs the office more than a missed one.
pub const SAME_PAPER: f32 = 0.45;

/// Fewer normalised characters than this give an empty signature (a caption, a file name).
const MIN_CHARS: usize = 20;

/// The signature of a text (empty when the text is too short to compare).
pub fn signature(text: &str) -> Signature {
    let chars: Vec<char> = text.chars().filter_map(normalise).collect();
    if chars.len() < MIN_CHARS {
        return Vec::new();
    }
    let family = family();
    let mut slots = vec![u32::MAX; SLOTS];
    for gram in chars.windows(3) {
        let g = gram_hash(gram);
        for (slot, (a, b)) in slots.iter_mut().zip(&family) {
            let h = (a.wrapping_mul(g).wrapping_add(*b) >> 32) as u32;
            if h < *slot {
                *slot = h;
            }
        }
    }
    slots
}

/// Estimated Jaccard similarity of two signatures' 3-gram sets (0..1); 0 when either is empty.
pub fn similarity(a: &Signature, b: &Signature) -> f32 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f32 / a.len() as f32
}

/// Letters and digits only, full-width ASCII folded, ASCII lower-cased.
fn normalise(c: char) -> Option<char> {
    let c = match u32::from(c) {
        // Full-width forms of ASCII ！..～.
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0)?,
        _ => c,
    };
    c.is_alphanumeric().then(|| c.to_ascii_lowercase())
}

/// FNV-1a over the three code points.
fn gram_hash(gram: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in gram {
        for byte in u32::from(c).to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The hash family `(a·x + b) mod 2⁶⁴`, top 32 bits, with `a` odd: fixed constants from
/// splitmix64 seeded with 0x79_6A_4A_69_61_6E (“yjJian”).
fn family() -> Vec<(u64, u64)> {
    let mut state: u64 = 0x796A_4A69_616E;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..SLOTS).map(|_| (next() | 1, next())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE_A: &str = "关于开展2024年度食品安全监督抽检工作的通知\n各县（市、区）市场监督管理局：\n\
        为贯彻落实《中华人民共和国食品安全法》有关要求，进一步加强食品安全监管，经研究，决定在全市范围内开展\
        食品安全监督抽检工作。现将有关事项通知如下：一、抽检范围。全市各类食品生产经营单位，重点是学校食堂、\
        农贸市场、超市和餐饮服务单位。二、工作要求。各地要高度重视，明确责任分工，按时完成抽检任务，对发现的\
        问题依法处置，并于每月五日前报送上月工作情况。\n特此通知。\n平市市场监督管理局\n2024年3月5日";

    const NOTICE_B: &str = "关于做好2024年特种设备安全隐患排查整治的通知\n各县（市、区）市场监督管理局：\n\
        为有效防范特种设备事故，保障人民群众生命财产安全，市局决定组织开展特种设备安全隐患排查整治。现将\
        有关事项通知如下：一、排查重点。电梯、锅炉、压力容器和大型游乐设施的使用单位，以及气瓶充装单位。\
        二、时间安排。四月底前完成自查，五月底前完成检查和整改。三、有关要求。请于六月十日前报送总结。\n\
        特此通知。\n平市市场监督管理局\n2024年3月8日";

    /// Every `every`-th letter or digit replaced by another character, as OCR misreads do.
    fn misread(text: &str, every: usize) -> String {
        let mut n = 0;
        text.chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    n += 1;
                    if n % every == 0 {
                        return '口';
                    }
                }
                c
            })
            .collect()
    }

    #[test]
    fn the_same_paper_misread_stays_together_and_different_papers_apart() {
        let a = signature(NOTICE_A);
        assert_eq!(a.len(), SLOTS);
        let misread_5 = signature(&misread(NOTICE_A, 20));
        let respaced = signature(&NOTICE_A.replace('，', ",").replace('\n', " "));
        let b = signature(NOTICE_B);
        let same = similarity(&a, &misread_5);
        let spacing = similarity(&a, &respaced);
        let different = similarity(&a, &b);
        println!(
            "same paper, 5 % misread: {same:.2}; punctuation/spacing only: {spacing:.2}; different notices: {different:.2}"
        );
        assert!(same >= SAME_PAPER, "{same}");
        assert!((spacing - 1.0).abs() < f32::EPSILON, "{spacing}");
        assert!(different < SAME_PAPER, "{different}");
        assert!(different <= 0.3, "{different}");
    }

    #[test]
    fn short_and_empty_texts_match_nothing() {
        assert!(signature("").is_empty());
        assert!(signature("特此通知。").is_empty());
        assert!(signature(" ，。；  \n").is_empty());
        let empty = signature("");
        assert!(similarity(&empty, &empty).abs() < f32::EPSILON);
        assert!(similarity(&empty, &signature(NOTICE_A)).abs() < f32::EPSILON);
    }

    #[test]
    fn width_folding_and_case() {
        let half = signature("ABCDEFGHIJ0123456789abcdefghij");
        let full = signature("ＡＢＣＤＥＦＧＨＩＪ０１２３４５６７８９ａｂｃｄｅｆｇｈｉｊ");
        assert!((similarity(&half, &full) - 1.0).abs() < f32::EPSILON);
    }

    #[test]
    fn signatures_are_pinned() {
        // Stored signatures stay comparable only while the scheme is unchanged: a change here
        // means recomputing every stored signature.
        let s = signature("关于开展2024年度食品安全监督抽检工作的通知。各县（市、区）市场监督管理局：");
        assert_eq!(s[..4], [49_167_474, 69_238_080, 119_863_361, 37_069_977]);
    }
}
