//! What a file's first bytes say it is, so that a `.pdf` that is really a `.docx` is noticed.

/// The content type told by a file's first bytes, or `None` when it is not one we recognise.
pub fn sniff(prefix: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 10] = [
        (b"%PDF-", "pdf"),
        (b"\xFF\xD8\xFF", "jpeg"),
        (b"\x89PNG\r\n\x1A\n", "png"),
        (b"GIF8", "gif"),
        (b"II*\0", "tiff"),
        (b"MM\0*", "tiff"),
        (b"BM", "bmp"),
        (b"PK\x03\x04", "zip"),
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "ole"),
        (b"{\\rtf", "rtf"),
    ];
    if prefix.len() >= 12 && &prefix[..4] == b"RIFF" && &prefix[8..12] == b"WEBP" {
        return Some("webp");
    }
    MAGIC.iter().find(|(m, _)| prefix.starts_with(m)).map(|(_, name)| *name)
}

/// Whether content of type `magic` may carry the extension `ext` (lowercase, no dot).
/// Unknown extensions and unrecognised content are given the benefit of the doubt.
pub fn extension_fits(ext: &str, magic: &str) -> bool {
    let expected: &[&str] = match ext {
        "pdf" => &["pdf"],
        "jpg" | "jpeg" => &["jpeg"],
        "png" => &["png"],
        "gif" => &["gif"],
        "tif" | "tiff" => &["tiff"],
        "bmp" => &["bmp"],
        "webp" => &["webp"],
        "docx" | "xlsx" | "pptx" | "ofd" | "zip" | "wps" | "et" => &["zip", "ole"],
        "doc" | "xls" | "ppt" => &["ole", "rtf"],
        _ => return true,
    };
    expected.contains(&magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_usual_scan_formats() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("pdf"));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some("jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(sniff(b"hello"), None);
        assert!(extension_fits("pdf", "pdf"));
        assert!(!extension_fits("pdf", "zip"));
        assert!(extension_fits("txt", "zip"));
        assert!(extension_fits("docx", "zip"));
    }
}
