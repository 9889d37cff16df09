//! Annotations that print — an electronic seal, a stamp, a filled-in form field — drawn into
//! their page's content before the page is placed: a volume places pages as content only, and a
//! seal left in an annotation would be missing on paper.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};

/// Annotation flags (ISO 32000-1, 12.5.3).
const HIDDEN: i64 = 2;
const PRINT: i64 = 4;

/// `bytes` with the appearance of every annotation that prints drawn into its page; `bytes`
/// unchanged when there is none, or when lopdf cannot read or write the file (hayro may still).
pub fn annotations_into_pages(bytes: Vec<u8>) -> Vec<u8> {
    // Pages name their annotations in `/Annots`, unless an object stream compresses them.
    if !contains(&bytes, b"/Annots") && !contains(&bytes, b"/ObjStm") {
        return bytes;
    }
    let Ok(mut doc) = Document::load_mem(&bytes) else { return bytes };
    if doc.is_encrypted() {
        return bytes;
    }
    let mut changed = false;
    for page in doc.get_pages().into_values() {
        changed |= flatten_page(&mut doc, page).unwrap_or(false);
    }
    let mut out = Vec::new();
    if changed && doc.save_to(&mut out).is_ok() { out } else { bytes }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Draws the page's printing annotations over its content (`q … Q`, so the content's own
/// graphics state cannot move them) and takes them off the page.
fn flatten_page(doc: &mut Document, page: ObjectId) -> lopdf::Result<bool> {
    let annots = doc.get_dictionary(page)?.get_deref(b"Annots", doc)?.as_array()?.clone();
    let draws: Vec<(ObjectId, [f32; 6])> = annots
        .iter()
        .filter_map(|a| match doc.dereference(a) {
            Ok((_, Object::Dictionary(a))) => appearance(doc, a),
            _ => None,
        })
        .collect();
    if draws.is_empty() {
        return Ok(false);
    }
    let mut resources = inherited_resources(doc, page);
    let mut xobjects =
        resources.get_deref(b"XObject", doc).and_then(Object::as_dict).cloned().unwrap_or_default();
    let mut paint = b"Q\n".to_vec();
    for (i, (form, [a, b, c, d, e, f])) in draws.iter().enumerate() {
        let name = format!("YjAnnot{i}");
        xobjects.set(name.as_bytes(), Object::Reference(*form));
        paint.extend(format!("q {a} {b} {c} {d} {e} {f} cm /{name} Do Q\n").bytes());
        if let Ok(Object::Stream(s)) = doc.get_object_mut(*form) {
            // Some writers leave out what makes an appearance stream a form.
            s.dict.set("Type", Object::Name(b"XObject".to_vec()));
            s.dict.set("Subtype", Object::Name(b"Form".to_vec()));
        }
    }
    resources.set("XObject", xobjects);
    let open = doc.add_object(Stream::new(dictionary! {}, b"q\n".to_vec()));
    let close = doc.add_object(Stream::new(dictionary! {}, paint));
    let mut contents = vec![Object::Reference(open)];
    contents.extend(doc.get_page_contents(page).into_iter().map(Object::Reference));
    contents.push(Object::Reference(close));
    let page = doc.get_dictionary_mut(page)?;
    page.set("Resources", resources);
    page.set("Contents", contents);
    page.remove(b"Annots");
    Ok(true)
}

/// The page's resources, its own or the nearest ancestor's, as a dictionary of its own to add to
/// (another page may share the original).
fn inherited_resources(doc: &Document, page: ObjectId) -> Dictionary {
    let mut node = doc.get_dictionary(page).ok();
    for _ in 0..32 {
        let Some(n) = node else { break };
        if let Ok(resources) = n.get_deref(b"Resources", doc).and_then(Object::as_dict) {
            return resources.clone();
        }
        node = n.get_deref(b"Parent", doc).and_then(Object::as_dict).ok();
    }
    Dictionary::new()
}

/// The annotation's normal appearance (a form XObject) and the matrix that puts it on its
/// rectangle (ISO 32000-1, 12.5.5), when it prints.
fn appearance(doc: &Document, annot: &Dictionary) -> Option<(ObjectId, [f32; 6])> {
    let flags = annot.get(b"F").and_then(Object::as_i64).unwrap_or(0);
    if flags & HIDDEN != 0 || flags & PRINT == 0 {
        return None;
    }
    let normal = annot.get_deref(b"AP", doc).ok()?.as_dict().ok()?.get(b"N").ok()?;
    let form = match normal {
        Object::Reference(id) if matches!(doc.get_object(*id), Ok(Object::Stream(_))) => *id,
        // A checkbox or radio button: one appearance per state, `/AS` says which is on.
        states => {
            let (_, states) = doc.dereference(states).ok()?;
            let state = annot.get(b"AS").and_then(Object::as_name).ok()?;
            states.as_dict().ok()?.get(state).ok()?.as_reference().ok()?
        }
    };
    let Ok(Object::Stream(stream)) = doc.get_object(form) else { return None };
    let rect: [f32; 4] = numbers(doc, annot.get(b"Rect").ok()?)?;
    let bbox: [f32; 4] = numbers(doc, stream.dict.get(b"BBox").ok()?)?;
    let m: [f32; 6] = stream
        .dict
        .get(b"Matrix")
        .ok()
        .and_then(|m| numbers(doc, m))
        .unwrap_or([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    // The bounding box as the form's matrix places it, then fitted to the rectangle.
    let corners = [(bbox[0], bbox[1]), (bbox[2], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[3])];
    let placed = corners.map(|(x, y)| (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]));
    let low = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
    let high = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
    let (bx0, bx1) = (low(placed.map(|p| p.0)), high(placed.map(|p| p.0)));
    let (by0, by1) = (low(placed.map(|p| p.1)), high(placed.map(|p| p.1)));
    let (rx0, rx1) = (rect[0].min(rect[2]), rect[0].max(rect[2]));
    let (ry0, ry1) = (rect[1].min(rect[3]), rect[1].max(rect[3]));
    // An empty box (a point or a line) has nothing to fit.
    if bx1 - bx0 < 0.01 || by1 - by0 < 0.01 {
        return None;
    }
    let (sx, sy) = ((rx1 - rx0) / (bx1 - bx0), (ry1 - ry0) / (by1 - by0));
    Some((form, [sx, 0.0, 0.0, sy, rx0 - bx0 * sx, ry0 - by0 * sy]))
}

fn numbers<const N: usize>(doc: &Document, object: &Object) -> Option<[f32; N]> {
    let (_, array) = doc.dereference(object).ok()?;
    let values: Vec<f32> =
        array.as_array().ok()?.iter().map(Object::as_float).collect::<Result<_, _>>().ok()?;
    values.try_into().ok()
}
