//! A file's name where a browser or a script reads it: percent-encoded in a URL, and in a
//! `Content-Disposition` (RFC 6266 with RFC 8187's `filename*`) so that Chinese names arrive
//! whole; an ASCII `filename` is given first for clients that know no other.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What RFC 3986 leaves unreserved stays as it is; everything else is percent-encoded.
const NAME: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encoding of a UTF-8 name, for URLs.
pub fn percent_encode(name: &str) -> String {
    utf8_percent_encode(name, NAME).to_string()
}

/// To save as `name`.
pub fn attachment(name: &str) -> String {
    disposition("attachment", name)
}

/// To show, or to save as `name`.
pub fn inline(name: &str) -> String {
    disposition("inline", name)
}

fn disposition(how: &str, name: &str) -> String {
    // The fallback keeps what is plain ASCII (the extension above all).
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
    format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{}", percent_encode(name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn chinese_names_arrive_whole() {
        assert_eq!(
            super::attachment("材料 1.zip"),
            "attachment; filename=\"___1.zip\"; filename*=UTF-8''%E6%9D%90%E6%96%99%201.zip"
        );
    }
}
