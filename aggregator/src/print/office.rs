//! Office files (Word, Excel, PowerPoint, WPS, RTF) turned into PDF pages by LibreOffice when
//! the server has it (`soffice` on PATH, or `[print] soffice`): one conversion at a time, in a
//! profile of its own for the build, with a time limit per file. Without it, or when a file
//! does not convert in time, the file gets a placeholder page as before.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Extensions LibreOffice opens that a clerk may file.
const CONVERTIBLE: [&str; 12] =
    ["doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "rtf", "odt", "ods"];

pub fn is_convertible(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| CONVERTIBLE.contains(&ext.to_ascii_lowercase().as_str()))
}

/// A LibreOffice for one print build.
pub struct Converter {
    soffice: PathBuf,
    timeout: Duration,
    /// Holds the profile and the files being converted; removed with the build.
    work: tempfile::TempDir,
}

impl Converter {
    /// LibreOffice as configured (`None`: looked for on PATH; `""`: never used).
    pub fn find(configured: Option<&str>, timeout: Duration) -> Option<Converter> {
        let soffice = match configured.map(str::trim) {
            Some("") => return None,
            Some(path) => PathBuf::from(path),
            None => std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .flat_map(|dir| ["soffice", "soffice.exe", "libreoffice"].map(|n| dir.join(n)))
                    .find(|p| p.is_file())
            })?,
        };
        let work = tempfile::tempdir().ok()?;
        Some(Converter { soffice, timeout, work })
    }

    /// The PDF LibreOffice makes of `bytes` (a file named `name`), or why there is none.
    pub fn convert(&self, name: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let ext = name.rsplit_once('.').map_or("bin", |(_, e)| e);
        let dir = tempfile::tempdir_in(self.work.path()).map_err(|e| e.to_string())?;
        let input = dir.path().join(format!("input.{ext}"));
        std::fs::write(&input, bytes).map_err(|e| e.to_string())?;
        let profile = url_of(&self.work.path().join("profile"));
        let mut child = Command::new(&self.soffice)
            .arg(format!("-env:UserInstallation={profile}"))
            .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
            .arg(dir.path())
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("LibreOffice did not start: {e}"))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(_) => break,
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("LibreOffice did not finish within {} s", self.timeout.as_secs()));
                }
                // A child process has no future to await here (a blocking thread): look again soon.
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        std::fs::read(dir.path().join("input.pdf")).map_err(|_| "LibreOffice made no PDF of it".to_string())
    }
}

/// A `file://` URL of a local folder, as LibreOffice's `-env:UserInstallation` wants it.
fn url_of(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    if text.starts_with('/') { format!("file://{text}") } else { format!("file:///{text}") }
}
