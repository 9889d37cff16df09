//! Relative paths as they cross the wire: NFC, `/`-separated, nothing that could climb out.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;

/// Longest accepted path, in bytes of UTF-8 (about 340 Chinese characters).
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted component, in bytes: what ext4 and NTFS allow.
pub const MAX_COMPONENT_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("the path is empty: send the file's path relative to the evidence folder")]
    Empty,
    #[error(
        "the path is {0} bytes long; at most {MAX_PATH_BYTES} are accepted: shorten folder or file names"
    )]
    TooLong(usize),
    #[error(
        "a path component is {0} bytes long; at most {MAX_COMPONENT_BYTES} are accepted: shorten the name"
    )]
    ComponentTooLong(usize),
    #[error("the path is absolute: send it relative to the evidence folder")]
    Absolute,
    #[error("the path starts with a drive or scheme ({0:?}): send it relative to the evidence folder")]
    Drive(String),
    #[error("the path contains a backslash: separate components with '/'")]
    Backslash,
    #[error("the path contains a control character (U+{0:04X}): rename the file")]
    ControlChar(u32),
    #[error(
        "the path contains U+FFFD, the mark of a name that was not valid UTF-8 on the way: rename the file"
    )]
    NotText,
    #[error("the path has an empty component ('//' or a trailing '/')")]
    EmptyComponent,
    #[error("the path has a '.' or '..' component: send the plain relative path")]
    DotComponent,
}

/// A validated relative path: Unicode NFC, components separated by `/`, none of them empty,
/// `.` or `..`, no control characters, no backslash, no drive prefix, bounded length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

impl RelPath {
    pub fn parse(raw: &str) -> Result<RelPath, PathError> {
        if raw.is_empty() {
            return Err(PathError::Empty);
        }
        let path: String = raw.nfc().collect();
        if path.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong(path.len()));
        }
        if let Some(c) = path.chars().find(|c| c.is_control()) {
            return Err(PathError::ControlChar(u32::from(c)));
        }
        if path.contains('\\') {
            return Err(PathError::Backslash);
        }
        if path.contains('\u{FFFD}') {
            return Err(PathError::NotText);
        }
        if path.starts_with('/') {
            return Err(PathError::Absolute);
        }
        let first = path.split('/').next().unwrap_or_default();
        if first.ends_with(':') || first.contains("://") || looks_like_drive(first) {
            return Err(PathError::Drive(first.to_string()));
        }
        for component in path.split('/') {
            match component {
                "" => return Err(PathError::EmptyComponent),
                "." | ".." => return Err(PathError::DotComponent),
                c if c.len() > MAX_COMPONENT_BYTES => return Err(PathError::ComponentTooLong(c.len())),
                _ => {}
            }
        }
        Ok(RelPath(path))
    }

    /// Builds a path from components, e.g. the agent's OS path components.
    pub fn from_components<'a>(components: impl IntoIterator<Item = &'a str>) -> Result<RelPath, PathError> {
        let joined: Vec<&str> = components.into_iter().collect();
        RelPath::parse(&joined.join("/"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn components(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/')
    }

    pub fn file_name(&self) -> &str {
        self.components().next_back().expect("a RelPath has at least one component")
    }

    /// The file name without its last extension.
    pub fn file_stem(&self) -> &str {
        split_extension(self.file_name()).0
    }

    /// The last extension, lowercased, without the dot.
    pub fn extension(&self) -> Option<String> {
        split_extension(self.file_name()).1.map(str::to_ascii_lowercase)
    }

    /// The folder this path sits in, `None` at the top.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('/').map(|(parent, _)| parent)
    }
}

/// `C:` `c:foo` and the like: a drive letter makes a path absolute on Windows.
fn looks_like_drive(first: &str) -> bool {
    let mut chars = first.chars();
    matches!((chars.next(), chars.next()), (Some(l), Some(':')) if l.is_ascii_alphabetic())
}

pub(crate) fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RelPath {
    type Error = PathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RelPath::parse(&value)
    }
}

impl From<RelPath> for String {
    fn from(value: RelPath) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_chinese_names_with_spaces_and_full_width_punctuation() {
        let p = RelPath::parse("08.03 昆仑2021专项行动/图片/“昆仑”行动 启动会（一）.jpg").unwrap();
        assert_eq!(p.file_name(), "“昆仑”行动 启动会（一）.jpg");
        assert_eq!(p.file_stem(), "“昆仑”行动 启动会（一）");
        assert_eq!(p.extension().as_deref(), Some("jpg"));
        assert_eq!(p.parent(), Some("08.03 昆仑2021专项行动/图片"));
    }

    #[test]
    fn normalises_to_nfc() {
        let decomposed = "caf\u{65}\u{301}.pdf";
        assert_eq!(RelPath::parse(decomposed).unwrap().as_str(), "caf\u{e9}.pdf");
    }

    #[test]
    fn rejects_hostile_spellings() {
        use PathError::*;
        for (raw, err) in [
            ("", Empty),
            ("../etc/passwd", DotComponent),
            ("a/../../b", DotComponent),
            ("a/./b", DotComponent),
            ("/etc/passwd", Absolute),
            ("C:/Windows/win.ini", Drive("C:".into())),
            ("c:evil", Drive("c:evil".into())),
            ("file://x/y", Drive("file:".into())),
            ("..\\..\\x", Backslash),
            ("a\0b", ControlChar(0)),
            ("a\nb", ControlChar(10)),
            ("a//b", EmptyComponent),
            ("a/", EmptyComponent),
            ("08.03 x/\u{FFFD}\u{FFFD}.pdf", NotText),
        ] {
            assert_eq!(RelPath::parse(raw), Err(err), "{raw:?}");
        }
        assert_eq!(RelPath::parse(&"长".repeat(100)), Err(ComponentTooLong(300)));
        assert_eq!(RelPath::parse(&"目录/".repeat(200)), Err(TooLong(1400)));
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<RelPath>("\"a/../b\"").is_err());
        let p: RelPath = serde_json::from_str("\"自评报告/报告.pdf\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"自评报告/报告.pdf\"");
    }

    proptest! {
        #[test]
        fn any_input_is_safe_or_rejected(raw in "\\PC{0,40}|[./\\\\a-z:\u{0}-\u{1f}　．。中文]{0,30}") {
            if let Ok(p) = RelPath::parse(&raw) {
                for c in p.components() {
                    prop_assert!(!c.is_empty() && c != "." && c != "..");
                }
                prop_assert!(!p.as_str().starts_with('/'));
                prop_assert!(!p.as_str().contains('\\'));
                prop_assert!(!p.as_str().chars().any(char::is_control));
                // Round trip: parsing the normalised form gives it back unchanged.
                prop_assert_eq!(RelPath::parse(p.as_str()), Ok(p.clone()));
                let json = serde_json::to_string(&p).unwrap();
                prop_assert_eq!(serde_json::from_str::<RelPath>(&json).unwrap(), p);
            }
        }

        #[test]
        fn joined_safe_components_survive(parts in proptest::collection::vec("[a-zA-Z0-9 中文（）“”_-]{1,12}", 1..6)) {
            let parts: Vec<String> = parts.into_iter().filter(|p| p != "." && p != "..").collect();
            prop_assume!(!parts.is_empty());
            let p = RelPath::from_components(parts.iter().map(String::as_str)).unwrap();
            prop_assert_eq!(p.components().count(), parts.len());
        }
    }
}
