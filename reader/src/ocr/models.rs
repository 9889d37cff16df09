//! The three PP-OCR models (see `reader/models/README.md`): embedded in the binary (the
//! `embedded-models` feature, on by default: `demo` and the tests need nothing beside it), or read
//! from a folder of files, each checked against the SHA-256 it was built with (the Debian
//! package installs them in `/usr/share/yingjian/models`, keeping the binary a third of its size);
//! and their loading with tract.
//!
//! Shapes: tract cannot type these graphs with symbolic sizes (the detector's FPN concatenation
//! cannot be proven to line up for an unknown multiple of 32, and the recogniser computes a
//! reshape through casts of its input's shape), so each model is parsed once and optimised for
//! each concrete input shape met, keeping the last few plans. Pages of one scanner share a
//! detector shape; line widths are rounded up to a few buckets so that a handful of recogniser
//! plans serve a whole document. An optimisation costs 0.3–0.7 s of CPU and a plan 15–20 MB.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;

use tract_onnx::prelude::*;

use crate::ReadError;

/// PP-OCRv4 text detection (DB), input `[1, 3, h, w]`, output `[1, 1, h, w]` probabilities.
const DETECT: &str = "ch_PP-OCRv4_det_infer.onnx";
/// PP-OCRv4 recognition (SVTR-LCNet, CTC), input `[n, 3, 48, w]`, output `[n, w / 8, 6625]`.
const RECOGNISE: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// PP-OCR mobile v2 text orientation (0° / 180°), input `[n, 3, 48, 192]`, output `[n, 2]`.
const CLASSIFY: &str = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
/// The models' SHA-256, as `sha256sum` writes them: a model file must match to be loaded.
const SUMS: &str = include_str!("../../models/SHA256SUMS");
/// No model file is larger (the recogniser is 10.9 MB): a larger one is not read.
const MAX_MODEL_BYTES: u64 = 32 << 20;

/// A model carried in the binary.
#[cfg(feature = "embedded-models")]
fn embedded(file: &str) -> Option<&'static [u8]> {
    match file {
        DETECT => Some(include_bytes!("../../models/ch_PP-OCRv4_det_infer.onnx")),
        RECOGNISE => Some(include_bytes!("../../models/ch_PP-OCRv4_rec_infer.onnx")),
        CLASSIFY => Some(include_bytes!("../../models/ch_ppocr_mobile_v2.0_cls_infer.onnx")),
        _ => None,
    }
}

#[cfg(not(feature = "embedded-models"))]
fn embedded(_file: &str) -> Option<&'static [u8]> {
    None
}

/// A model's bytes: from `folder` when one is given, checked against [`SUMS`]; else embedded.
fn model_bytes(folder: Option<&Path>, file: &str) -> Result<Cow<'static, [u8]>, ReadError> {
    let Some(folder) = folder else {
        return embedded(file).map(Cow::Borrowed).ok_or_else(|| {
            ReadError::Model(format!(
                "{file}: this build carries no models; set [reading] models to their folder"
            ))
        });
    };
    let path = folder.join(file);
    let unreadable = |e: std::io::Error| ReadError::Model(format!("{}: {e}", path.display()));
    let len = std::fs::metadata(&path).map_err(unreadable)?.len();
    if len > MAX_MODEL_BYTES {
        return Err(ReadError::Model(format!("{}: {len} bytes, not a model of this build", path.display())));
    }
    let bytes = std::fs::read(&path).map_err(unreadable)?;
    let sha = yingjian_shared::sha256_bytes(&bytes);
    let expected = SUMS.lines().find_map(|l| l.split_once("  ").filter(|(_, f)| *f == file).map(|(h, _)| h));
    if expected != Some(sha.as_str()) {
        return Err(ReadError::Model(format!(
            "{}: SHA-256 {sha} is not the model this build expects",
            path.display()
        )));
    }
    Ok(Cow::Owned(bytes))
}

/// Checks that `folder` holds the three models this build expects (read and hashed, not parsed):
/// what the server says once at start, so a broken install is noticed before a scan needs them.
pub fn verify_folder(folder: &Path) -> Result<(), ReadError> {
    for file in [DETECT, RECOGNISE, CLASSIFY] {
        model_bytes(Some(folder), file)?;
    }
    Ok(())
}

/// The recogniser's character list in its ONNX metadata, one character a line.
const CHARACTER_KEY: &str = "onnx.metadata_props.character";
/// Detector plans kept (one page size per scanner setting).
const DETECT_PLANS: usize = 2;
/// Recogniser plans kept (one per line-width bucket in use).
const RECOGNISE_PLANS: usize = 6;

type Plan = Arc<TypedRunnableModel>;

pub(super) struct Models {
    detect: Shapes,
    classify: Shapes,
    recognise: Shapes,
    /// CTC classes: index 0 is the blank, then the model's 6,623 characters, then a space.
    pub dict: Vec<String>,
}

impl Models {
    /// The models from `folder`, or embedded when there is none.
    pub fn load(folder: Option<&Path>) -> Result<Self, ReadError> {
        let parse = |file: &str, what: &str| parse(&model_bytes(folder, file)?, what);
        let recognise = parse(RECOGNISE, "recognition")?;
        let dict = dictionary(&recognise)?;
        let models = Self {
            detect: Shapes::new(parse(DETECT, "detection")?, "detection", DETECT_PLANS),
            classify: Shapes::new(parse(CLASSIFY, "orientation")?, "orientation", 1),
            recognise: Shapes::new(recognise, "recognition", RECOGNISE_PLANS),
            dict,
        };
        // The orientation model always takes one 48 × 192 line: optimise it now, so that a
        // model tract cannot run fails at load rather than on the first page.
        models.classify.plan([1, 3, 48, 192])?;
        Ok(models)
    }

    /// Runs the detector on `[1, 3, h, w]`, returning the output's shape and values.
    pub fn detect(&self, input: Tensor) -> Result<(Vec<usize>, Vec<f32>), ReadError> {
        self.detect.run(input)
    }

    /// Runs the orientation model on `[1, 3, 48, 192]`.
    pub fn classify(&self, input: Tensor) -> Result<(Vec<usize>, Vec<f32>), ReadError> {
        self.classify.run(input)
    }

    /// Runs the recogniser on `[1, 3, 48, w]`.
    pub fn recognise(&self, input: Tensor) -> Result<(Vec<usize>, Vec<f32>), ReadError> {
        self.recognise.run(input)
    }
}

/// A parsed model and its plans for the last few input shapes.
struct Shapes {
    model: InferenceModel,
    what: &'static str,
    keep: usize,
    /// Most recently used last.
    plans: Mutex<Vec<([usize; 4], Plan)>>,
}

impl Shapes {
    fn new(model: InferenceModel, what: &'static str, keep: usize) -> Self {
        Self { model, what, keep, plans: Mutex::new(Vec::new()) }
    }

    fn plan(&self, shape: [usize; 4]) -> Result<Plan, ReadError> {
        // A panic elsewhere while holding the lock leaves the list itself intact.
        let mut plans = self.plans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = plans.iter().position(|(s, _)| *s == shape) {
            let entry = plans.remove(at);
            let plan = entry.1.clone();
            plans.push(entry);
            return Ok(plan);
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(shape).into())
            .and_then(InferenceModelExt::into_optimized)
            .and_then(TypedModel::into_runnable)
            .map_err(|e| ReadError::Model(format!("{} model for {shape:?}: {e:#}", self.what)))?;
        if plans.len() >= self.keep {
            plans.remove(0);
        }
        plans.push((shape, plan.clone()));
        Ok(plan)
    }

    /// Runs the plan for the input's shape and returns its first output as `(shape, values)`.
    fn run(&self, input: Tensor) -> Result<(Vec<usize>, Vec<f32>), ReadError> {
        let shape: [usize; 4] = input
            .shape()
            .try_into()
            .map_err(|_| ReadError::Model(format!("{} input of shape {:?}", self.what, input.shape())))?;
        let plan = self.plan(shape)?;
        let outputs = plan
            .run(tvec![input.into()])
            .map_err(|e| ReadError::Model(format!("{} inference: {e:#}", self.what)))?;
        let out = outputs
            .into_iter()
            .next()
            .ok_or_else(|| ReadError::Model(format!("{} inference: no output", self.what)))?;
        let view = out
            .to_plain_array_view::<f32>()
            .map_err(|e| ReadError::Model(format!("{} output: {e:#}", self.what)))?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }
}

fn parse(bytes: &[u8], what: &str) -> Result<InferenceModel, ReadError> {
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .map_err(|e| ReadError::Model(format!("{what} model: {e:#}")))
}

/// The recogniser's classes from its metadata: blank, the characters, a space (as RapidOCR's
/// `CTCLabelDecode` builds them).
fn dictionary(model: &InferenceModel) -> Result<Vec<String>, ReadError> {
    let chars = model
        .properties
        .get(CHARACTER_KEY)
        .and_then(|t| t.try_as_plain_ram().ok()?.to_scalar::<String>().ok().cloned())
        .ok_or_else(|| ReadError::Model("recognition model: no character list".into()))?;
    let mut dict = vec![String::new()];
    dict.extend(chars.lines().map(str::to_owned));
    dict.push(" ".to_owned());
    Ok(dict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
    }

    #[test]
    fn the_dictionary_has_the_models_classes() {
        let bytes = model_bytes(Some(&folder()), RECOGNISE).expect("the model file");
        let dict = dictionary(&parse(&bytes, "recognition").expect("parses")).expect("dict");
        assert_eq!(dict.len(), 6_625, "blank + 6,623 characters + space");
        assert_eq!(dict[0], "");
        assert_eq!(dict[6_624], " ");
        for ch in ["平", "〔", "〕", "号", "年", "0", "9"] {
            assert!(dict.iter().any(|d| d == ch), "{ch} in the dictionary");
        }
    }

    #[test]
    fn a_model_file_must_be_the_one_built_for() {
        verify_folder(&folder()).expect("the repository's models");
        let dir = tempfile::tempdir().expect("tempdir");
        for file in [DETECT, RECOGNISE, CLASSIFY] {
            std::fs::copy(folder().join(file), dir.path().join(file)).expect("copy");
        }
        verify_folder(dir.path()).expect("copies");
        // One byte changed: refused, and the message names the file.
        let path = dir.path().join(CLASSIFY);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[1000] ^= 1;
        std::fs::write(&path, bytes).expect("write");
        let err = verify_folder(dir.path()).expect_err("a changed model");
        assert!(matches!(&err, ReadError::Model(m) if m.contains(CLASSIFY)), "{err}");
        // Missing: refused.
        std::fs::remove_file(dir.path().join(DETECT)).expect("remove");
        assert!(matches!(verify_folder(dir.path()), Err(ReadError::Model(_))));
    }
}
