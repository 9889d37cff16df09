//! Making a rename durable: the folder that holds the new name is synced (Unix). Windows has
//! no such call and needs none (NTFS journals the rename), and cannot open a folder as a file.

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
