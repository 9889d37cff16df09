//! One page of a PDF, rendered with hayro at the budget's dpi (or its scan's, if lower).
//!
//! hayro parses nested arrays and dictionaries recursively, without a depth limit: a page whose
//! resources nest an array 100,000 deep overflows any thread's stack, and an overflow aborts the
//! process (it cannot be caught). So before hayro sees a file, a linear scan of its bytes, and of
//! the decompressed object streams, refuses any object nested deeper than [`MAX_NESTING`]; the
//! page's content streams are scanned the same way before they are interpreted. hayro then runs
//! on a thread of its own with a large stack (room for its remaining, bounded recursion: page
//! trees, forms nested up to 50, fonts), and a panic on that thread becomes an error. Every
//! image on the page (through forms too) is checked against the pixel budget from its dictionary
//! before hayro decodes it, and the render size before the render is allocated.

use std::collections::{HashMap, HashSet};

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::content::ops::TypedInstruction;
use hayro::hayro_syntax::object::{Dict, Name, Object, ObjectIdentifier, Stream};
use hayro::hayro_syntax::page::Page;
use hayro::hayro_syntax::{Filter, LoadPdfError, Pdf};
use hayro::{RenderCache, RenderSettings};
use image::RgbImage;

use super::{Budget, ColourMode, PageImage, carries_colour};
use crate::ReadError;

/// Deepest nesting of arrays and dictionaries accepted in one object; real files stay below 20.
pub(crate) const MAX_NESTING: u32 = 64;
/// Largest decompressed object stream scanned (and accepted).
const MAX_OBJECT_STREAM: usize = 64 << 20;
/// Stack of the thread running hayro: deep enough for its bounded recursion with room to spare.
const RENDER_STACK: usize = 64 << 20;
/// Most content operations looked at when finding the page's scan.
const MAX_OPERATIONS: usize = 2_000_000;
/// Most XObjects checked on one page (through nested forms).
const MAX_XOBJECTS: usize = 10_000;
/// Share of the page a single image must cover for the page to count as a scan.
const SCAN_COVER: f64 = 0.5;

/// One page of a PDF (0-based `index`), rendered at about `budget.dpi`.
pub fn pdf_page(pdf: &[u8], index: u32, budget: &Budget) -> Result<PageImage, ReadError> {
    if index >= budget.max_pages {
        return Err(ReadError::TooLarge(format!(
            "page {} beyond the {} pages read",
            index + 1,
            budget.max_pages
        )));
    }
    check_structure(pdf)?;
    let data = pdf.to_vec();
    let budget = *budget;
    let worker = std::thread::Builder::new()
        .name("pdf-page".into())
        .stack_size(RENDER_STACK)
        .spawn(move || render_page(data, index, &budget))?;
    worker.join().unwrap_or_else(|_| Err(ReadError::Damaged("the PDF reader failed on this file".into())))
}

fn render_page(data: Vec<u8>, index: u32, budget: &Budget) -> Result<PageImage, ReadError> {
    let pdf = Pdf::new(data).map_err(|e| match e {
        LoadPdfError::Decryption(_) => ReadError::Encrypted,
        LoadPdfError::Invalid => ReadError::Damaged("not a readable PDF".into()),
    })?;
    let pages = pdf.pages();
    let page = pages
        .get(index as usize)
        .ok_or_else(|| ReadError::Damaged(format!("no page {} (the file has {})", index + 1, pages.len())))?;
    if let Some(content) = page.page_stream() {
        check_nesting(content)?;
    }
    check_xobjects(page, budget)?;
    let scan = find_scan(page, budget)?;
    let (width_pt, height_pt) = page.render_dimensions();
    let dpi = scan.as_ref().map_or(budget.dpi, |s| s.dpi.min(budget.dpi)).max(1.0);
    let scale = dpi / 72.0;
    let (w, h) = ((width_pt * scale).floor(), (height_pt * scale).floor());
    if !(w >= 1.0 && h >= 1.0) || w > f32::from(u16::MAX) || h > f32::from(u16::MAX) {
        return Err(ReadError::TooLarge(format!("page of {width_pt}×{height_pt} pt at {dpi} dpi")));
    }
    if (w as u64) * (h as u64) > budget.max_pixels {
        return Err(ReadError::TooLarge(format!("page render of {w}×{h} pixels")));
    }
    let settings = RenderSettings {
        x_scale: scale,
        y_scale: scale,
        bg_color: hayro::vello_cpu::color::palette::css::WHITE,
        ..RenderSettings::default()
    };
    let cache = RenderCache::new();
    let pixmap = hayro::render(page, &cache, &InterpreterSettings::default(), &settings);
    let (pw, ph) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    let raw: Vec<u8> = pixmap.take_unpremultiplied().into_iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    let image = RgbImage::from_raw(pw, ph, raw).ok_or_else(|| ReadError::Damaged("render size".into()))?;
    let mode = match scan.as_ref().and_then(|s| s.mode) {
        Some(mode) => mode,
        None if carries_colour(&image) => ColourMode::Colour,
        None => ColourMode::Grey,
    };
    Ok(PageImage { image, dpi, source_dpi: scan.map(|s| s.dpi), mode })
}

/// The image that makes a page a scan.
struct Scan {
    /// Image pixels over its placed size, the lower of the two axes.
    dpi: f32,
    /// Grey or bilevel when the image's dictionary says so; `None`: decided from the pixels.
    mode: Option<ColourMode>,
}

/// The largest image placed on the page, if it covers at least half of it.
fn find_scan(page: &Page<'_>, budget: &Budget) -> Result<Option<Scan>, ReadError> {
    let crop = page.intersected_crop_box();
    let page_area = ((crop.x1 - crop.x0) * (crop.y1 - crop.y0)).abs();
    let mut ctm = [1.0f64, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut saved: Vec<[f64; 6]> = Vec::new();
    let mut best: Option<(f64, Scan)> = None;
    let mut ops = page.typed_operations();
    let mut count = 0usize;
    while let Some(op) = ops.next() {
        count += 1;
        if count > MAX_OPERATIONS {
            break;
        }
        match op {
            TypedInstruction::SaveState(_) if saved.len() < 4096 => saved.push(ctm),
            TypedInstruction::RestoreState(_) => ctm = saved.pop().unwrap_or(ctm),
            TypedInstruction::Transform(t) => {
                let m = [t.0.as_f64(), t.1.as_f64(), t.2.as_f64(), t.3.as_f64(), t.4.as_f64(), t.5.as_f64()];
                ctm = concat(&m, &ctm);
            }
            TypedInstruction::XObject(x) => {
                let Some(stream) = page.resources().get_x_object(x.0) else { continue };
                let dict = stream.dict();
                if dict.get::<Name<'_>>(b"Subtype").is_none_or(|n| &*n != b"Image") {
                    continue;
                }
                let (iw, ih) = image_size(dict, false);
                let area = (ctm[0] * ctm[3] - ctm[1] * ctm[2]).abs();
                let (len_x, len_y) = (ctm[0].hypot(ctm[1]), ctm[2].hypot(ctm[3]));
                if area <= 0.0 || iw <= 0.0 || ih <= 0.0 || best.as_ref().is_some_and(|(a, _)| *a >= area) {
                    continue;
                }
                let dpi = (iw / (len_x / 72.0)).min(ih / (len_y / 72.0)) as f32;
                best = Some((area, Scan { dpi, mode: declared_mode(&stream) }));
            }
            TypedInstruction::InlineImage(inline) => {
                let (iw, ih) = image_size(inline.0.dict(), true);
                check_image_pixels(iw, ih, budget)?;
            }
            _ => {}
        }
    }
    Ok(best.filter(|(area, _)| *area >= SCAN_COVER * page_area).map(|(_, scan)| scan))
}

/// `m × ctm`, the PDF order for `cm`.
fn concat(m: &[f64; 6], c: &[f64; 6]) -> [f64; 6] {
    [
        m[0] * c[0] + m[1] * c[2],
        m[0] * c[1] + m[1] * c[3],
        m[2] * c[0] + m[3] * c[2],
        m[2] * c[1] + m[3] * c[3],
        m[4] * c[0] + m[5] * c[2] + c[4],
        m[4] * c[1] + m[5] * c[3] + c[5],
    ]
}

/// Width and height an image dictionary declares (inline images may abbreviate the keys).
fn image_size(dict: &Dict<'_>, inline: bool) -> (f64, f64) {
    let get = |long: &[u8], short: &[u8]| {
        dict.get::<f64>(long).or_else(|| if inline { dict.get::<f64>(short) } else { None }).unwrap_or(0.0)
    };
    (get(b"Width", b"W"), get(b"Height", b"H"))
}

fn check_image_pixels(width: f64, height: f64, budget: &Budget) -> Result<(), ReadError> {
    if width * height > budget.max_pixels as f64 {
        return Err(ReadError::TooLarge(format!("image of {width}×{height} pixels in the PDF")));
    }
    Ok(())
}

/// Every image the page's resources can reach (through forms, their soft masks included) within
/// the pixel budget, and every form's content nested no deeper than [`MAX_NESTING`].
fn check_xobjects(page: &Page<'_>, budget: &Budget) -> Result<(), ReadError> {
    let mut pending: Vec<(Dict<'_>, u32)> = Vec::new();
    let mut resources = Some(page.resources());
    while let Some(r) = resources {
        pending.push((r.x_objects.clone(), 0));
        resources = r.parent();
    }
    let mut seen: HashSet<ObjectIdentifier> = HashSet::new();
    while let Some((xobjects, depth)) = pending.pop() {
        for key in xobjects.keys() {
            let Some(stream) = xobjects.get::<Stream<'_>>(&*key) else { continue };
            if !seen.insert(stream.obj_id()) {
                continue;
            }
            if seen.len() > MAX_XOBJECTS {
                return Err(ReadError::TooLarge("too many XObjects on the page".into()));
            }
            let dict = stream.dict();
            match dict.get::<Name<'_>>(b"Subtype").as_deref() {
                Some(b"Image") => {
                    let (w, h) = image_size(dict, false);
                    check_image_pixels(w, h, budget)?;
                    if let Some(mask) = dict.get::<Stream<'_>>(b"SMask") {
                        let (w, h) = image_size(mask.dict(), false);
                        check_image_pixels(w, h, budget)?;
                    }
                }
                Some(b"Form") => {
                    if let Ok(content) = stream.decoded() {
                        check_nesting(&content)?;
                    }
                    // hayro stops interpreting forms nested deeper than 50.
                    if depth < 50
                        && let Some(inner) =
                            dict.get::<Dict<'_>>(b"Resources").and_then(|r| r.get::<Dict<'_>>(b"XObject"))
                    {
                        pending.push((inner, depth + 1));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Grey or bilevel from an image's dictionary: an image mask, 1 bit a component, a fax or JBIG2
/// filter, or a grey colour space (device, calibrated, one-channel ICC, indexed over grey).
fn declared_mode(stream: &Stream<'_>) -> Option<ColourMode> {
    let dict = stream.dict();
    let bilevel_filter =
        stream.filters().iter().any(|f| matches!(f, Filter::CcittFaxDecode | Filter::Jbig2Decode));
    if dict.get::<bool>(b"ImageMask") == Some(true)
        || dict.get::<f64>(b"BitsPerComponent") == Some(1.0)
        || bilevel_filter
    {
        return Some(ColourMode::Bilevel);
    }
    let space = dict.get::<Object<'_>>(b"ColorSpace")?;
    is_grey_space(&space, 0).then_some(ColourMode::Grey)
}

fn is_grey_space(space: &Object<'_>, depth: u32) -> bool {
    match space {
        Object::Name(n) => matches!(&**n, b"DeviceGray" | b"CalGray" | b"G"),
        Object::Array(a) if depth < 3 => {
            let mut items = a.iter::<Object<'_>>();
            match items.next() {
                Some(Object::Name(n)) if &*n == b"CalGray" => true,
                Some(Object::Name(n)) if &*n == b"ICCBased" => {
                    matches!(items.next(), Some(Object::Stream(s)) if s.dict().get::<f64>(b"N") == Some(1.0))
                }
                Some(Object::Name(n)) if &*n == b"Indexed" || &*n == b"I" => {
                    items.next().is_some_and(|base| is_grey_space(&base, depth + 1))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Refuses a file that would send hayro into unbounded recursion: an object nested deeper than
/// [`MAX_NESTING`] (in the file or in its object streams) or a page tree that loops or is deeper
/// than [`MAX_NESTING`] (hayro walks `/Kids` recursively without noticing a loop).
pub(crate) fn check_structure(bytes: &[u8]) -> Result<(), ReadError> {
    let mut tree = PageTree::default();
    scan(bytes, Some(&mut tree))?;
    tree.check()
}

/// Refuses bytes (a content stream) nesting arrays or dictionaries deeper than [`MAX_NESTING`].
pub(crate) fn check_nesting(bytes: &[u8]) -> Result<(), ReadError> {
    scan(bytes, None)
}

/// The `/Kids` of every object that has them, by object number.
#[derive(Default)]
struct PageTree {
    kids: HashMap<u32, Vec<u32>>,
}

impl PageTree {
    fn add(&mut self, number: u32, text: &[u8]) {
        if let Some(kids) = parse_kids(text) {
            self.kids.entry(number).or_default().extend(kids);
        }
    }

    /// No loop and no path longer than [`MAX_NESTING`], by an iterative depth-first walk that
    /// remembers each node's height.
    fn check(&self) -> Result<(), ReadError> {
        let looped = || ReadError::Damaged("the PDF's page tree loops".into());
        let mut height: HashMap<u32, u32> = HashMap::new();
        let mut on_path: HashSet<u32> = HashSet::new();
        for &root in self.kids.keys() {
            if height.contains_key(&root) {
                continue;
            }
            let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
            on_path.insert(root);
            while let Some(top) = stack.last_mut() {
                let (node, index) = *top;
                top.1 += 1;
                let kids = self.kids.get(&node).map_or(&[][..], Vec::as_slice);
                if let Some(&kid) = kids.get(index) {
                    if on_path.contains(&kid) {
                        return Err(looped());
                    }
                    if !height.contains_key(&kid) {
                        if stack.len() as u32 > MAX_NESTING {
                            return Err(ReadError::Damaged(format!(
                                "the PDF's page tree is deeper than {MAX_NESTING}"
                            )));
                        }
                        on_path.insert(kid);
                        stack.push((kid, 0));
                    }
                } else {
                    let h = kids.iter().filter_map(|k| height.get(k)).max().map_or(0, |h| h + 1);
                    if h > MAX_NESTING {
                        return Err(ReadError::Damaged(format!(
                            "the PDF's page tree is deeper than {MAX_NESTING}"
                        )));
                    }
                    height.insert(node, h);
                    on_path.remove(&node);
                    stack.pop();
                }
            }
        }
        Ok(())
    }
}

/// The object numbers referenced in a `/Kids [n g R …]` array.
fn parse_kids(text: &[u8]) -> Option<Vec<u32>> {
    let at = text.windows(5).position(|w| w == b"/Kids")? + 5;
    let rest = &text[at..];
    let open = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[open] != b'[' {
        return None;
    }
    let close = rest[open..].iter().position(|&b| b == b']')? + open;
    let inner = std::str::from_utf8(&rest[open + 1..close]).ok()?;
    let tokens: Vec<&str> = inner.split_ascii_whitespace().collect();
    let mut kids = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        if *token == "R"
            && k >= 2
            && let Ok(n) = tokens[k - 2].parse()
        {
            kids.push(n);
        }
    }
    Some(kids)
}

/// The object number before an `obj` keyword at `at` (`12 0 obj`).
fn object_number(bytes: &[u8], at: usize) -> Option<u32> {
    let mut i = at;
    let mut numbers = [0u32; 2];
    for slot in &mut numbers {
        while i > 0 && bytes[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        let end = i;
        while i > 0 && bytes[i - 1].is_ascii_digit() {
            i -= 1;
        }
        *slot = std::str::from_utf8(&bytes[i..end]).ok()?.parse().ok()?;
    }
    Some(numbers[1])
}

/// One linear pass without recursion: the nesting of arrays and dictionaries is counted while
/// strings, comments, stream bodies (by a direct `/Length` that lands on `endstream`, else up to
/// the next `endstream`) and inline image data are skipped; the count restarts at each object,
/// as hayro parses each object on its own. With a page tree to fill (a whole file), each
/// object's `/Kids` are noted, and each object stream (`/Type /ObjStm`, Flate or unfiltered) is
/// decompressed (bounded) and scanned too.
fn scan(bytes: &[u8], mut tree: Option<&mut PageTree>) -> Result<(), ReadError> {
    let too_deep = || ReadError::Damaged(format!("PDF structure nested deeper than {MAX_NESTING} levels"));
    let mut depth = 0u32;
    let mut dict_start = 0usize;
    let mut object: Option<(u32, usize)> = None;
    let mut i = 0usize;
    let n = bytes.len();
    let close = |object: &mut Option<(u32, usize)>, end: usize, tree: &mut Option<&mut PageTree>| {
        if let (Some((number, start)), Some(tree)) = (object.take(), tree.as_deref_mut()) {
            tree.add(number, &bytes[start.min(end)..end]);
        }
    };
    while i < n {
        match bytes[i] {
            b'%' => {
                while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                let mut open = 0u32;
                while i < n {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => open += 1,
                        b')' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                if depth == 0 {
                    dict_start = i;
                }
                depth += 1;
                i += 1;
            }
            b'<' => {
                while i < n && bytes[i] != b'>' {
                    i += 1;
                }
            }
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            // Inline image data in a content stream (binary, its brackets mean nothing): to `EI`.
            b'I' if bytes.get(i + 1) == Some(&b'D')
                && i > 0
                && bytes[i - 1].is_ascii_whitespace()
                && bytes.get(i + 2).is_some_and(u8::is_ascii_whitespace) =>
            {
                let mut j = i + 3;
                while j + 1 < n
                    && !(bytes[j - 1].is_ascii_whitespace()
                        && bytes[j..].starts_with(b"EI")
                        && bytes.get(j + 2).is_none_or(u8::is_ascii_whitespace))
                {
                    j += 1;
                }
                i = j + 1;
            }
            b'e' if bytes[i..].starts_with(b"endobj") => {
                close(&mut object, i, &mut tree);
                depth = 0;
                i += 5;
            }
            b'o' if bytes[i..].starts_with(b"obj") && i > 0 && !bytes[i - 1].is_ascii_alphabetic() => {
                close(&mut object, i, &mut tree);
                object = object_number(bytes, i).map(|number| (number, i + 3));
                depth = 0;
            }
            b's' if bytes[i..].starts_with(b"stream") && (i == 0 || !bytes[i - 1].is_ascii_alphabetic()) => {
                close(&mut object, i, &mut tree);
                let body_start = skip_eol(bytes, i + 6);
                let dict = &bytes[dict_start.min(i)..i];
                let end = stream_end(bytes, dict, body_start);
                if let Some(tree) = tree.as_deref_mut()
                    && contains(dict, b"/ObjStm")
                {
                    let decoded = decode_object_stream(dict, &bytes[body_start.min(end)..end.min(n)])?;
                    scan(&decoded, None)?;
                    for (number, text) in objects_of_stream(dict, &decoded) {
                        tree.add(number, text);
                    }
                }
                depth = 0;
                i = end;
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        i += 1;
    }
    close(&mut object, n, &mut tree);
    Ok(())
}

/// The objects of a decoded object stream: its header's `number offset` pairs from `/First`.
fn objects_of_stream<'d>(dict: &[u8], decoded: &'d [u8]) -> Vec<(u32, &'d [u8])> {
    let (Some(count), Some(first)) = (direct_number(dict, b"/N"), direct_number(dict, b"/First")) else {
        return Vec::new();
    };
    let Some(header) = decoded.get(..first).and_then(|h| std::str::from_utf8(h).ok()) else {
        return Vec::new();
    };
    let numbers: Vec<usize> =
        header.split_ascii_whitespace().filter_map(|t| t.parse().ok()).take(count * 2).collect();
    let pairs: Vec<(u32, usize)> =
        numbers.chunks_exact(2).map(|p| (p[0] as u32, first.saturating_add(p[1]))).collect();
    pairs
        .iter()
        .enumerate()
        .filter_map(|(k, &(number, start))| {
            let end = pairs.get(k + 1).map_or(decoded.len(), |p| p.1).min(decoded.len());
            decoded.get(start..end).map(|text| (number, text))
        })
        .collect()
}

fn skip_eol(bytes: &[u8], mut i: usize) -> usize {
    if bytes.get(i) == Some(&b'\r') {
        i += 1;
    }
    if bytes.get(i) == Some(&b'\n') {
        i += 1;
    }
    i
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where a stream's body ends: by a direct `/Length` when `endstream` follows it, else at the
/// next `endstream` (or the end of the bytes).
fn stream_end(bytes: &[u8], dict: &[u8], body_start: usize) -> usize {
    if let Some(len) = direct_number(dict, b"/Length") {
        let end = body_start.saturating_add(len);
        if let Some(rest) = bytes.get(end..) {
            let skip = rest.iter().take(4).take_while(|b| b.is_ascii_whitespace()).count();
            if rest[skip..].starts_with(b"endstream") {
                return end;
            }
        }
    }
    let mut i = body_start;
    while i < bytes.len() {
        match bytes[i..].iter().position(|&b| b == b'e') {
            Some(p) if bytes[i + p..].starts_with(b"endstream") => return i + p,
            Some(p) => i += p + 1,
            None => break,
        }
    }
    bytes.len()
}

/// `key N` when N is a number, not a reference.
fn direct_number(dict: &[u8], key: &[u8]) -> Option<usize> {
    let at = dict.windows(key.len()).rposition(|w| w == key)? + key.len();
    let rest = &dict[at..];
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = &rest[digits..];
    let after = &after[after.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    // "12 0 R" is a reference.
    if after.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// An object stream's objects: Flate-decoded (bounded) or as stored; other filters are left to
/// hayro (the thread's stack still stands behind it).
fn decode_object_stream(dict: &[u8], body: &[u8]) -> Result<Vec<u8>, ReadError> {
    if contains(dict, b"/Filter") {
        if !contains(dict, b"/FlateDecode") || contains(dict, b"/DecodeParms") {
            return Ok(Vec::new());
        }
        let mut d = lopdf::Dictionary::new();
        d.set("Filter", lopdf::Object::Name(b"FlateDecode".to_vec()));
        let stream = lopdf::Stream::new(d, body.to_vec());
        return stream.decompressed_content_with_limit(MAX_OBJECT_STREAM).map_err(|e| match e {
            lopdf::Error::Decompress(_) if body.len() > 1 => ReadError::TooLarge(format!(
                "object stream larger than {MAX_OBJECT_STREAM} bytes or damaged: {e}"
            )),
            other => ReadError::Damaged(format!("object stream: {other}")),
        });
    }
    Ok(body.to_vec())
}
