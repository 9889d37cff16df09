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

/// What the system knows of a file format: one table for every use (captions, the content
/// check, previews, bundle compression).
#[derive(Debug, PartialEq, Eq)]
pub struct Format {
    /// Lowercase, without the dot.
    pub extensions: &'static [&'static str],
    /// What `sniff` may find in such a file; empty when its content is not checked.
    pub magic: &'static [&'static str],
    /// Served as this for a preview. Anything a browser would run (HTML, SVG) is a download.
    pub mime: &'static str,
    /// A picture, which the seed wants captioned.
    pub picture: bool,
    /// Already compressed, or a scan: stored in the bundle as it is rather than deflated.
    pub compressed: bool,
}

const fn format(
    extensions: &'static [&'static str],
    magic: &'static [&'static str],
    mime: &'static str,
    picture: bool,
    compressed: bool,
) -> Format {
    Format { extensions, magic, mime, picture, compressed }
}

const OCTETS: &str = "application/octet-stream";

const FORMATS: &[Format] = &[
    format(&["pdf"], &["pdf"], "application/pdf", false, true),
    format(&["jpg", "jpeg"], &["jpeg"], "image/jpeg", true, true),
    format(&["png"], &["png"], "image/png", true, true),
    format(&["gif"], &["gif"], "image/gif", true, true),
    format(&["tif", "tiff"], &["tiff"], "image/tiff", true, true),
    format(&["bmp"], &["bmp"], "image/bmp", true, false),
    format(&["webp"], &["webp"], "image/webp", true, true),
    format(&["heic", "heif"], &[], OCTETS, true, true),
    format(&["docx", "xlsx", "pptx", "ofd", "zip"], &["zip", "ole"], OCTETS, false, true),
    format(&["wps", "et"], &["zip", "ole"], OCTETS, false, false),
    format(&["doc", "xls", "ppt"], &["ole", "rtf"], OCTETS, false, false),
    format(&["rtf", "csv", "xml", "html", "htm"], &[], OCTETS, false, false),
    format(&["txt"], &[], "text/plain; charset=utf-8", false, false),
];

/// The format of a file, by its name's extension (any case).
pub fn format_of(name: &str) -> Option<&'static Format> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    FORMATS.iter().find(|f| f.extensions.contains(&ext.as_str()))
}

/// Whether the file name has a picture's extension.
pub fn is_image_name(name: &str) -> bool {
    format_of(name).is_some_and(|f| f.picture)
}

/// Whether content of type `magic` may carry the extension `ext` (lowercase, no dot).
/// Unknown extensions and unrecognised content are given the benefit of the doubt.
pub fn extension_fits(ext: &str, magic: &str) -> bool {
    match format_of(&format!(".{ext}")) {
        Some(f) if !f.magic.is_empty() => f.magic.contains(&magic),
        _ => true,
    }
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
        assert!(is_image_name("现场.JPG") && is_image_name("a.heic") && !is_image_name("a.pdf"));
        assert!(!is_image_name("jpg"), "an extension, not a name");
        assert_eq!(format_of("报告.Pdf").map(|f| f.mime), Some("application/pdf"));
        assert_eq!(format_of("page.html").map(|f| f.mime), Some(OCTETS), "never run in the browser");
    }
}
