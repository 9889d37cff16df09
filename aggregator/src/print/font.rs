//! The CJK font the printed text is set in: `[print] font` from the configuration, else one of the
//! system's (Debian's and Fedora's Noto Sans CJK SC, Windows' SimSun or Microsoft YaHei). Only
//! the glyphs used are embedded (krilla subsets it).

use std::path::{Path, PathBuf};

use crate::config::ConfigError;

/// Where systems keep a font with simplified Chinese, and which face of the collection is SC.
const SYSTEM_FONTS: [(&str, u32); 6] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
];

/// The font file and face to print with: `configured` is `path` or `path#index` (the face in a
/// `.ttc` collection). Checked here, in the server, so that a wrong setting is said at once; the
/// worker loads it again (`load`).
pub fn locate(configured: Option<&str>) -> Result<(PathBuf, u32), ConfigError> {
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
        let data = std::fs::read(path).map_err(|source| ConfigError::Unreadable {
            what: "font",
            path: path.into(),
            source,
        })?;
        if krilla::text::Font::new(data.into(), *index).is_some() {
            return Ok((PathBuf::from(path), *index));
        }
    }
    Err(ConfigError::Setting(match configured {
        Some(c) => format!("[print] font = {c:?} is not a font file this server can read"),
        None => {
            "no font with Chinese characters found for the printed PDFs: install fonts-noto-cjk (Debian), \
                 or set font = \"/path/to/font.ttc#index\" under [print] in aggregator.toml"
                .to_string()
        }
    }))
}

/// The face `index` of the font file at `path` (in the worker).
pub fn load(path: &Path, index: u32) -> Result<krilla::text::Font, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    krilla::text::Font::new(data.into(), index).ok_or_else(|| format!("{} is not a font", path.display()))
}
