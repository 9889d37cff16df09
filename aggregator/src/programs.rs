//! The programs the print and the reading run besides this one (LibreOffice, qpdf): as
//! configured in `[print]`, or the first found on PATH.

use std::path::{Path, PathBuf};

use crate::config::ConfigError;

/// LibreOffice as configured (`None`: looked for on PATH; `""`: never used).
pub fn soffice(configured: Option<&str>) -> Option<PathBuf> {
    program(configured, &["soffice", "soffice.exe", "libreoffice"])
}

/// qpdf as configured (`None`: looked for on PATH; `""`: never used, PDFs are drawn by krilla).
pub fn qpdf(configured: Option<&str>) -> Option<PathBuf> {
    program(configured, &["qpdf", "qpdf.exe"])
}

/// A program, as configured (`None`: the first of `names` on PATH; `""`: none).
fn program(configured: Option<&str>, names: &[&str]) -> Option<PathBuf> {
    match configured.map(str::trim) {
        Some("") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
                .find(|p| p.is_file())
        }),
    }
}

/// The programs `[print]` names are there: a wrong path is said at start, not found out as
/// every PDF or Office file printed as a placeholder.
pub fn check(settings: &crate::config::PrintSettings) -> Result<(), ConfigError> {
    for (key, configured) in [("qpdf", &settings.qpdf), ("soffice", &settings.soffice)] {
        let named = configured.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let Some(path) = named.filter(|p| !Path::new(p).is_file()) {
            return Err(ConfigError::Setting(format!("[print] {key} = \"{path}\": no such program")));
        }
    }
    Ok(())
}
