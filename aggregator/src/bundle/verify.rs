//! `verify-bundle`: recomputes every file's SHA-256 and compares the zip with its manifest.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use yingjian_shared::sha256_reader;
use zip::ZipArchive;

use super::{BAG_INFO, MANIFEST};

/// What `verify-bundle` found; `is_intact` when nothing is missing, extra or altered.
#[derive(Debug, Default, PartialEq)]
pub struct VerifyReport {
    pub files: usize,
    pub bytes: u64,
    /// In the manifest, not in the zip.
    pub missing: Vec<String>,
    /// In the zip, not in the manifest.
    pub extra: Vec<String>,
    /// In both, with another SHA-256.
    pub altered: Vec<String>,
    /// bag-info's Payload-Oxum does not match what is there.
    pub oxum_mismatch: Option<String>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.altered.is_empty()
            && self.oxum_mismatch.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not a zip file the bundle command wrote: {1}")]
    NotABundle(String, String),
}

fn read_text(archive: &mut ZipArchive<File>, name: &str) -> Result<String, String> {
    let mut text = String::new();
    archive
        .by_name(name)
        .map_err(|e| format!("{name}: {e}"))?
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(text)
}

/// Checks every file of the bundle at `path` against its manifest.
pub fn verify(path: &Path) -> Result<VerifyReport, VerifyError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| VerifyError::Io(shown.clone(), e))?;
    let mut archive =
        ZipArchive::new(file).map_err(|e| VerifyError::NotABundle(shown.clone(), e.to_string()))?;
    let manifest_entry = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(&format!("/{MANIFEST}")) && n.matches('/').count() == 1)
        .map(|n| n.to_string())
        .ok_or_else(|| VerifyError::NotABundle(shown.clone(), format!("no {MANIFEST} at its root")))?;
    let root = manifest_entry.trim_end_matches(MANIFEST).to_string();
    let manifest =
        read_text(&mut archive, &manifest_entry).map_err(|e| VerifyError::NotABundle(shown.clone(), e))?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let Some((sha, name)) = line.split_once("  ") else {
            return Err(VerifyError::NotABundle(shown, format!("a manifest line is malformed: {line:?}")));
        };
        expected.insert(name.to_string(), sha.to_string());
    }
    let mut report = VerifyReport::default();
    for i in 0..archive.len() {
        let mut entry =
            archive.by_index(i).map_err(|e| VerifyError::NotABundle(shown.clone(), e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name =
            entry.name().map_err(|e| VerifyError::NotABundle(shown.clone(), e.to_string()))?.to_string();
        let Some(relative) = name.strip_prefix(&root) else {
            report.extra.push(name);
            continue;
        };
        if relative == MANIFEST || relative == BAG_INFO {
            continue;
        }
        let relative = relative.to_string();
        match expected.remove(&relative) {
            None => report.extra.push(relative),
            Some(sha) => {
                let (actual, len) =
                    sha256_reader(&mut entry).map_err(|e| VerifyError::Io(relative.clone(), e))?;
                report.files += 1;
                report.bytes += len;
                if actual.as_str() != sha {
                    report.altered.push(relative);
                }
            }
        }
    }
    report.missing = expected.into_keys().collect();
    if let Ok(info) = read_text(&mut archive, &format!("{root}{BAG_INFO}")) {
        let oxum = info.lines().find_map(|l| l.strip_prefix("Payload-Oxum: ")).map(str::trim);
        let actual = format!("{}.{}", report.bytes, report.files);
        if oxum != Some(actual.as_str()) && report.missing.is_empty() {
            report.oxum_mismatch =
                Some(format!("bag-info says {}, the bundle holds {actual}", oxum.unwrap_or("nothing")));
        }
    }
    Ok(report)
}
