//! `verify-bundle`: recomputes every file's SHA-256 and compares a bundle — the zip, or the
//! folder it was unpacked into, in either layout — with its manifest, its tag files with the
//! tag manifest, the payload with `Payload-Oxum`, and the state's fingerprint in the bundle's
//! name with the manifest and the file index.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use yingjian_shared::sha256_reader;
use zip::ZipArchive;

use super::index::{INDEX, state_fingerprint};
use super::{BAG_INFO, BAGIT_TXT, Layout, MANIFEST, NameParts, TAG_MANIFEST};

/// What `verify-bundle` found; `is_intact` when nothing is missing, extra or altered.
#[derive(Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Payload files checked, and their bytes.
    pub files: usize,
    pub bytes: u64,
    pub layout: Layout,
    /// In a manifest, not in the bundle.
    pub missing: Vec<String>,
    /// In the bundle, in no manifest.
    pub extra: Vec<String>,
    /// In both, with another SHA-256 (tag files such as `bag-info.txt` included).
    pub altered: Vec<String>,
    /// bag-info's Payload-Oxum does not match what is there: (what it says, what is there),
    /// each `bytes.files`.
    pub oxum_mismatch: Option<(String, String)>,
    /// The fingerprint in the bundle's name, when it has one, and whether the manifest has it.
    pub fingerprint: Option<(String, bool)>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.altered.is_empty()
            && self.oxum_mismatch.is_none()
            && self.fingerprint.as_ref().is_none_or(|(_, ok)| *ok)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    // Read by the clerk who receives the bundle: Chinese, the system's own detail in brackets.
    #[error("无法读取 {0}（{1}）")]
    Io(String, io::Error),
    #[error("{0} 不是本系统生成的材料包：{1}")]
    NotABundle(String, String),
}

/// Files that file managers leave in folders they show: never part of a bundle, so named as
/// extra like any other, with what they are.
const LITTER: [&str; 3] = ["Thumbs.db", "desktop.ini", ".DS_Store"];

/// The language `verify-bundle` speaks: Chinese for the clerks who receive the bundle, English
/// on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl VerifyReport {
    /// One line per problem, then the verdict, for the bundle shown as `shown`.
    pub fn describe(&self, shown: &str, lang: Lang) -> (Vec<String>, String) {
        let zh = lang == Lang::Zh;
        let mut lines = Vec::new();
        for name in &self.missing {
            lines.push(if zh { format!("缺少：{name}") } else { format!("missing: {name}") });
        }
        for name in &self.extra {
            let litter = LITTER.iter().any(|l| name.rsplit('/').next() == Some(l));
            lines.push(match (zh, litter) {
                (true, true) => format!("多出：{name}（文件管理器生成的系统文件，删除后再校验）"),
                (true, false) => format!("多出：{name}"),
                (false, true) => {
                    format!("extra: {name} (a file manager's own file: delete it and check again)")
                }
                (false, false) => format!("extra: {name}"),
            });
        }
        for name in &self.altered {
            lines.push(if zh { format!("被改动：{name}") } else { format!("altered: {name}") });
        }
        if let Some(oxum) = &self.oxum_mismatch {
            let (said, held) = oxum;
            lines.push(if zh {
                format!("数据量不符：bag-info.txt 写的是 {said}，材料包里是 {held}（字节数.文件数）")
            } else {
                format!("payload: bag-info says {said}, the bundle holds {held}")
            });
        }
        lines.push(match (&self.fingerprint, zh) {
            (Some((named, false)), true) => format!("指纹：文件名中的 {named} 与清单不符"),
            (Some((named, false)), false) => {
                format!("fingerprint: the name says {named}, the manifest does not have it")
            }
            (Some((named, true)), true) => format!("指纹：{named}，与清单一致"),
            (Some((named, true)), false) => format!("fingerprint: {named} matches the manifest"),
            (None, true) => "指纹：文件名中没有指纹（可能被改过名），已逐个核对文件".to_string(),
            (None, false) => {
                "fingerprint: the name carries none (renamed?); the files were checked".to_string()
            }
        });
        let bag = self.layout == Layout::BagIt;
        let verdict = match (self.is_intact(), zh) {
            (true, true) => format!(
                "{shown}：{} 个文件，{} 字节，全部与清单一致{}",
                self.files,
                self.bytes,
                if bag { "（BagIt 1.0 格式）" } else { "" }
            ),
            (true, false) => format!(
                "{shown}: {} files, {} bytes, all match the manifest{}",
                self.files,
                self.bytes,
                if bag { " (a BagIt 1.0 bag)" } else { "" }
            ),
            (false, true) => format!(
                "{shown} 与清单不符（缺少 {} 个，多出 {} 个，被改动 {} 个）：请从服务器重新生成材料包",
                self.missing.len(),
                self.extra.len(),
                self.altered.len()
            ),
            (false, false) => format!(
                "{shown} does not match its manifest ({} missing, {} extra, {} altered): build it again from the server",
                self.missing.len(),
                self.extra.len(),
                self.altered.len()
            ),
        };
        (lines, verdict)
    }
}

/// A bundle's files, by `/`-separated path: inside a zip, or below a folder.
enum Source {
    Zip(ZipArchive<File>),
    Folder(PathBuf),
}

impl Source {
    fn names(&mut self) -> io::Result<Vec<String>> {
        match self {
            Source::Zip(archive) => Ok(archive
                .file_names()
                .filter_map(Result::ok)
                .filter(|n| !n.ends_with('/'))
                .map(|n| n.to_string())
                .collect()),
            Source::Folder(dir) => {
                let mut out = Vec::new();
                walk(dir, "", &mut out)?;
                Ok(out)
            }
        }
    }

    /// Hashes one file: its SHA-256 and length.
    fn hash(&mut self, name: &str) -> io::Result<(String, u64)> {
        let (sha, len) = match self {
            Source::Zip(archive) => sha256_reader(archive.by_name(name).map_err(io::Error::other)?)?,
            Source::Folder(dir) => sha256_reader(File::open(dir.join(name))?)?,
        };
        Ok((sha.to_string(), len))
    }

    fn text(&mut self, name: &str) -> io::Result<String> {
        let mut text = String::new();
        match self {
            Source::Zip(archive) => {
                archive.by_name(name).map_err(io::Error::other)?.read_to_string(&mut text)?;
            }
            Source::Folder(dir) => text = fs::read_to_string(dir.join(name))?,
        }
        Ok(text)
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        let path = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{path}/"), out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `sha256  path` lines of a manifest, in order.
fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            line.split_once(char::is_whitespace)
                .map(|(sha, path)| (sha.to_ascii_lowercase(), path.trim_start().to_string()))
                .ok_or_else(|| format!("清单中有一行格式不对：{line:?}"))
        })
        .collect()
}

/// Checks the bundle at `path` (a zip or a folder) against its manifests.
pub fn verify(path: &Path) -> Result<VerifyReport, VerifyError> {
    let shown = path.display().to_string();
    let not_a_bundle = |why: String| VerifyError::NotABundle(shown.clone(), why);
    let io_error = |e| VerifyError::Io(shown.clone(), e);
    let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().to_string());
    let mut names_for_fingerprint = vec![file_name(path)];
    let mut source = if path.is_dir() {
        names_for_fingerprint.push(path.parent().and_then(file_name));
        Source::Folder(path.to_path_buf())
    } else {
        let file = File::open(path).map_err(io_error)?;
        Source::Zip(ZipArchive::new(file).map_err(|e| not_a_bundle(format!("不是有效的 zip 文件（{e}）")))?)
    };
    let names = source.names().map_err(io_error)?;
    // The root holds the manifest: the zip's one folder, or an unpacked folder or its parent.
    let root = names
        .iter()
        .filter_map(|n| n.strip_suffix(MANIFEST))
        .filter(|root| root.is_empty() || (root.matches('/').count() == 1 && root.ends_with('/')))
        .min_by_key(|root| root.len())
        .ok_or_else(|| not_a_bundle(format!("根目录下没有 {MANIFEST}")))?
        .to_string();
    if !root.is_empty() {
        // The folder given was the one above the bundle's root: its name is the bundle's.
        names_for_fingerprint.truncate(1);
    }
    let mut report = VerifyReport::default();
    let has = |name: &str| names.iter().any(|n| *n == format!("{root}{name}"));
    report.layout = if has(BAGIT_TXT) { Layout::BagIt } else { Layout::Plain };
    let manifest_text = source.text(&format!("{root}{MANIFEST}")).map_err(io_error)?;
    let manifest = parse_manifest(&manifest_text).map_err(&not_a_bundle)?;
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (sha, name) in &manifest {
        if expected.insert(name.clone(), sha.clone()).is_some() {
            return Err(not_a_bundle(format!("清单中 {name} 出现了两次")));
        }
    }

    let tag_files = [BAGIT_TXT, BAG_INFO, MANIFEST, TAG_MANIFEST, INDEX];
    for name in &names {
        let Some(relative) = name.strip_prefix(&root) else {
            report.extra.push(name.clone());
            continue;
        };
        if tag_files.contains(&relative) {
            continue;
        }
        match expected.remove(relative) {
            None => report.extra.push(relative.to_string()),
            Some(sha) => {
                let (actual, len) =
                    source.hash(name).map_err(|e| VerifyError::Io(relative.to_string(), e))?;
                report.files += 1;
                report.bytes += len;
                if actual != sha {
                    report.altered.push(relative.to_string());
                }
            }
        }
    }
    report.missing = expected.into_keys().collect();

    // The tag files, by the tag manifest: an edited bag-info.txt is named.
    if has(TAG_MANIFEST) {
        let text = source.text(&format!("{root}{TAG_MANIFEST}")).map_err(io_error)?;
        for (sha, name) in parse_manifest(&text).map_err(&not_a_bundle)? {
            if !has(&name) {
                report.missing.push(name);
            } else if source.hash(&format!("{root}{name}")).map_err(io_error)?.0 != sha {
                report.altered.push(name);
            }
        }
    }
    if let Ok(info) = source.text(&format!("{root}{BAG_INFO}")) {
        let oxum = info.lines().find_map(|l| l.strip_prefix("Payload-Oxum:")).map(str::trim);
        let actual = format!("{}.{}", report.bytes, report.files);
        if oxum.is_some_and(|o| o != actual) && report.missing.is_empty() {
            report.oxum_mismatch = Some((oxum.unwrap_or("").to_string(), actual));
        }
    }
    // An unpacked folder's name is the zip's without `.zip`.
    let claimed = names_for_fingerprint.into_iter().flatten().find_map(|n| {
        NameParts::of(&format!("{}.zip", n.strip_suffix(".zip").unwrap_or(&n)))
            .filter(|p| !p.legacy)
            .map(|p| p.fingerprint.to_string())
    });
    if let Some(named) = claimed {
        let prefix = report.layout.payload_prefix();
        let payload =
            manifest.iter().map(|(sha, name)| (sha.as_str(), name.strip_prefix(prefix).unwrap_or(name)));
        // Without the index the state cannot be told: the name is not borne out.
        let actual = match source.text(&format!("{root}{INDEX}")) {
            Ok(index) => Some(state_fingerprint(index.as_bytes(), payload)),
            Err(_) => None,
        };
        report.fingerprint = Some((named.clone(), actual.as_deref() == Some(named.as_str())));
    }
    Ok(report)
}
