//! The agent's own writes into the clerk's folder (the to-do file, the marker, the canary):
//! always a new file under a random name, created so that no link is followed
//! (`O_CREAT|O_EXCL|O_NOFOLLOW`; `FILE_FLAG_OPEN_REPARSE_POINT` on Windows), then renamed into
//! place. A link planted where the agent writes is refused, never written through: the agent
//! may run above the clerk, and a link would let anyone who can write the folder steer its
//! writes to any file.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Where the agent would write there is a link (or something else that is not a file).
    #[error("{0} is a link or not a plain file: not written")]
    Link(PathBuf),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> io::Error {
        match e {
            WriteError::Io(e) => e,
            link @ WriteError::Link(_) => io::Error::other(link.to_string()),
        }
    }
}

/// A name no one can guess ahead: the process, a counter, and the standard library's random
/// hash keys.
fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:x}{:016x}", std::process::id(), hasher.finish())
}

/// Who may read what the agent writes: everyone who can see the folder, or (a file holding the
/// token) its owner alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readers {
    All,
    Owner,
}

/// Creates a new file at `path`, failing if anything (a link included) is there already.
fn create_new(path: &Path, hidden: bool, readers: Readers) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_EXCL alone already refuses a link at the last component; O_NOFOLLOW says so twice.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
        if readers == Readers::Owner {
            options.mode(0o600);
        }
    }
    #[cfg(not(unix))]
    let _ = readers;
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        /// `FILE_FLAG_OPEN_REPARSE_POINT`: open a link itself, never its target.
        const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        /// `FILE_ATTRIBUTE_HIDDEN`: a leading dot hides nothing on Windows, and a clerk tidying
        /// up would delete the agent's files.
        const HIDDEN: u32 = 0x2;
        options.custom_flags(OPEN_REPARSE_POINT);
        if hidden {
            options.attributes(HIDDEN);
        }
    }
    #[cfg(not(windows))]
    let _ = hidden;
    options.open(path)
}

/// Creates a new file beside `dest` under a random name (hidden: it starts with a dot), and
/// answers it with its path.
pub fn create_beside(dest: &Path, hidden: bool) -> io::Result<(File, PathBuf)> {
    create_beside_for(dest, hidden, Readers::All)
}

fn create_beside_for(dest: &Path, hidden: bool, readers: Readers) -> io::Result<(File, PathBuf)> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{}.{}.new", name.trim_start_matches('.'), random_suffix()));
    Ok((create_new(&temp, hidden, readers)?, temp))
}

/// Whether `path` is a link (or anything but a plain file); a missing file is not.
pub fn is_link_or_odd(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file())
}

/// Reads `path` unless it is a link.
pub fn read_no_link(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        options.custom_flags(0x0020_0000);
    }
    if is_link_or_odd(path) {
        return Err(io::Error::other("a link"));
    }
    let mut out = Vec::new();
    io::Read::read_to_end(&mut options.open(path)?, &mut out)?;
    Ok(out)
}

/// Replaces `dest` with `contents`: written to a new file beside it, flushed, renamed over it,
/// so that a reader never sees half a file. Refused if `dest` is a link (renaming would replace
/// only the link, but a link there is someone's doing and is reported, not silently undone).
pub fn replace(dest: &Path, contents: &[u8], hidden: bool) -> Result<(), WriteError> {
    replace_for(dest, contents, hidden, Readers::All)
}

/// [`replace`] for a file only its owner may read, from its first byte (the config file).
pub fn replace_private(dest: &Path, contents: &[u8]) -> Result<(), WriteError> {
    replace_for(dest, contents, false, Readers::Owner)
}

fn replace_for(dest: &Path, contents: &[u8], hidden: bool, readers: Readers) -> Result<(), WriteError> {
    if is_link_or_odd(dest) {
        return Err(WriteError::Link(dest.to_path_buf()));
    }
    let (mut file, temp) = create_beside_for(dest, hidden, readers)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    drop(file);
    let renamed = written.and_then(|()| rename(&temp, dest));
    if let Err(e) = renamed {
        let _ = fs::remove_file(&temp);
        return Err(e.into());
    }
    Ok(())
}

/// Renames `from` over `to`. On Windows a hidden file in the way may refuse to be replaced:
/// it is removed first then (a plain file, just checked).
fn rename(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied && !is_link_or_odd(to) => {
            fs::remove_file(to)?;
            fs::rename(from, to)
        }
        other => other,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_where_the_agent_writes_is_refused_and_its_target_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, b"precious").unwrap();
        let dest = dir.path().join("dest.txt");
        std::os::unix::fs::symlink(&outside, &dest).unwrap();
        assert!(matches!(replace(&dest, b"agent", false), Err(WriteError::Link(_))));
        assert!(create_new(&dest, false, Readers::All).is_err(), "never opened through the link");
        assert!(read_no_link(&dest).is_err());
        // A dangling link: O_EXCL refuses to create its target.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("made-through-link"), &dangling).unwrap();
        assert!(create_new(&dangling, false, Readers::All).is_err());
        assert!(!dir.path().join("made-through-link").exists());
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
    }

    #[test]
    fn a_plain_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest.txt");
        replace(&dest, b"one", false).unwrap();
        replace(&dest, b"two", false).unwrap();
        assert_eq!(read_no_link(&dest).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["dest.txt"]);
        // Two temporary names never collide.
        assert_ne!(random_suffix(), random_suffix());
    }
}
