//! The CJK font the printed text is set in: `[print] font` from the configuration, else one of the
//! system's (Debian's and Fedora's Noto Sans CJK SC, Windows' SimSun or Microsoft YaHei). Only
//! the glyphs used are embedded (krilla subsets it).

use std::path::Path;

use crate::error::{AppError, AppResult};

/// Where systems keep a font with simplified Chinese, and which face of the collection is SC.
const SYSTEM_FONTS: [(&str, u32); 6] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
];

/// `configured` is `path` or `path#index` (the face in a `.ttc` collection).
pub fn find_font(configured: Option<&str>) -> AppResult<krilla::text::Font> {
    let candidates: Vec<(String, u32)> = match configured.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let (path, index) =
                c.rsplit_once('#').and_then(|(p, i)| Some((p, i.parse().ok()?))).unwrap_or((c, 0));
            vec![(path.to_string(), index)]
        }
        None => SYSTEM_FONTS.iter().map(|(p, i)| ((*p).to_string(), *i)).collect(),
    };
    for (path, index) in &candidates {
        if !Path::new(path).exists() {
            continue;
        }
        let data = std::fs::read(path)?;
        if let Some(font) = krilla::text::Font::new(data.into(), *index) {
            return Ok(font);
        }
    }
    Err(AppError::Config(match configured {
        Some(c) => format!("[print] font = {c:?} is not a font file this server can read"),
        None => {
            "no font with Chinese characters found for the printed PDFs: install fonts-noto-cjk (Debian), \
                 or set font = \"/path/to/font.ttc#index\" under [print] in aggregator.toml"
                .to_string()
        }
    }))
}
