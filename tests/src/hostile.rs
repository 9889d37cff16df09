//! Hostile files of the second red team (issue 30), made small: a PNG that decodes to
//! gigabytes, a bilevel TIFF of 32000², a PNG with broken pixels, a PDF nested 100,000 deep, one
//! of 100,000 pages, a .docx whose picture is fetched from a URL. The worker tests feed them
//! through the real server; the bench measures what they cost it beside a clean set.

/// CRC-32 (PNG's), bit by bit: the test files are small once compressed.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Bits written least significant first, as deflate packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    bit: u32,
    held: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.held |= ((value >> i) & 1) << self.bit;
            self.bit += 1;
            if self.bit == 8 {
                self.out.push(self.held as u8);
                (self.held, self.bit) = (0, 0);
            }
        }
    }
    /// A Huffman code, sent most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.bit > 0 {
            self.out.push(self.held as u8);
        }
        self.out
    }
}

/// A zlib stream of `n` zero bytes, a few bytes per 258 (fixed Huffman: a zero, then copies).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    let mut out = vec![0x78, 0x01];
    out.extend(bits.finish());
    // Adler-32 of zeros: a stays 1, b grows by one a byte.
    let b = (n % 65521) as u32;
    out.extend(((b << 16) | 1).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    out.extend(crc32(&[&kind, data]).to_be_bytes());
}

/// A black RGB PNG of `side`², a few MB whatever its side; with `broken`, pixels that do not
/// decompress under a good header.
pub fn png(side: u32, broken: bool) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = side.to_be_bytes().to_vec();
    header.extend(side.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut out, *b"IHDR", &header);
    let data = if broken {
        let mut good = zlib_zeros(u64::from(side) * (1 + 3 * u64::from(side)));
        good.truncate(good.len() / 3);
        good.extend(std::iter::repeat_n(0xa5u8, 4096));
        good
    } else {
        zlib_zeros(u64::from(side) * (1 + 3 * u64::from(side)))
    };
    png_chunk(&mut out, *b"IDAT", &data);
    png_chunk(&mut out, *b"IEND", b"");
    out
}

/// A white bilevel TIFF of `side`², PackBits-compressed.
pub fn bilevel_tiff(side: u32) -> Vec<u8> {
    let row = side.div_ceil(8) as usize;
    let mut strip = Vec::new();
    for _ in 0..side {
        let mut left = row;
        while left > 0 {
            let run = left.min(128);
            strip.push((257 - run) as u8);
            strip.push(0);
            left -= run;
        }
    }
    let entries: [(u16, u16, u32); 10] = [
        (256, 4, side),
        (257, 4, side),
        (258, 3, 1),
        (259, 3, 32773),
        (262, 3, 0),
        (273, 4, 8),
        (277, 3, 1),
        (278, 4, side),
        (279, 4, strip.len() as u32),
        (284, 3, 1),
    ];
    let mut out = b"II*\0".to_vec();
    out.extend((8 + strip.len() as u32).to_le_bytes());
    out.extend(&strip);
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        if kind == 3 {
            out.extend((value as u16).to_le_bytes());
            out.extend([0, 0]);
        } else {
            out.extend(value.to_le_bytes());
        }
    }
    out.extend(0u32.to_le_bytes());
    out
}

/// A PDF of the given objects (`n 0 obj … endobj`, numbered from 1, the first the catalogue),
/// with a correct cross-reference table.
pub fn pdf_of(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for at in offsets {
        out.extend(format!("{at:010} 00000 n \n").bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes(),
    );
    out
}

/// One page whose resources hold an array nested `depth` deep.
pub fn nested_pdf(depth: usize) -> Vec<u8> {
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Properties << /Deep {nested} >> >> >>"
        ),
        "<< /Length 0 >>\nstream\n\nendstream".into(),
    ])
}

/// `pages` pages sharing one content stream.
pub fn long_pdf(pages: usize) -> Vec<u8> {
    let first = 4;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", first + i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")),
        "<< /Length 0 >>\nstream\n\nendstream".to_string(),
    ];
    objects.extend(
        (0..pages)
            .map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>".to_string()),
    );
    pdf_of(&objects)
}

/// A one-page PDF that reads.
pub fn good_pdf() -> Vec<u8> {
    long_pdf(1)
}

/// A .docx whose one picture is linked from `url`, not embedded.
pub fn docx_linking(url: &str) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_string()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_string()),
        ("word/_rels/document.xml.rels", format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="{url}" TargetMode="External"/></Relationships>"#)),
        ("word/document.xml", r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body><w:p><w:r><w:t>关于印发通知的通知</w:t></w:r></w:p><w:p><w:r><w:drawing><wp:inline><wp:extent cx="952500" cy="952500"/><wp:docPr id="1" name="Picture 1"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="x.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:link="rId5"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="952500"/></a:xfrm><a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p></w:body></w:document>"#.to_string()),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
