//! The agent's own files in the evidence folder (the marker, the canary): hidden on Windows too,
//! where a leading dot hides nothing and a clerk tidying up would delete them.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path`, replacing it, as a hidden file.
pub fn write_hidden(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        /// `FILE_ATTRIBUTE_HIDDEN` of the Windows API.
        const HIDDEN: u32 = 0x2;
        options.attributes(HIDDEN);
    }
    options.open(path)?.write_all(contents)
}
