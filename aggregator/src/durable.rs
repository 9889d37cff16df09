//! Making a rename durable: the folder that holds the new name is synced (Unix). Windows has
//! no such call and needs none (NTFS journals the rename), and cannot open a folder as a file.
//! And writing a small generated file (a printed volume, a report) whole or not at all.

use std::io;
use std::path::Path;

/// Syncs `folder` after a file was renamed into it.
#[cfg_attr(not(unix), expect(clippy::unnecessary_wraps, reason = "fallible on Unix"))]
pub fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(folder)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file beside it, synced and renamed into place:
/// a crash leaves the old file or the new one, never half of one. The caller syncs the folder.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
