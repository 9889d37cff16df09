//! One agent per state folder: `run` holds an advisory lock on `agent.lock` there for as long
//! as the process lives (the system lets go of it when the process ends, however it ends). A
//! second `run` on the same folder would send everything twice; `status` uses the lock to tell
//! whether an agent is running.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{AgentError, AgentResult};

const LOCK_FILE: &str = "agent.lock";

/// Held while it lives.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

fn open(folder: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(folder.join(LOCK_FILE))
}

/// Takes the lock of `folder` (created if need be), or says that another agent holds it.
pub fn hold(folder: &Path) -> AgentResult<StateLock> {
    std::fs::create_dir_all(folder).map_err(|e| AgentError::StateFolder(folder.to_path_buf(), e))?;
    let file = open(folder).map_err(|e| AgentError::StateFolder(folder.to_path_buf(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(StateLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(AgentError::AlreadyRunning(absolute(folder))),
        Err(TryLockError::Error(e)) => Err(AgentError::StateFolder(folder.to_path_buf(), e)),
    }
}

/// Whether an agent holds the lock of `folder` now.
pub fn is_held(folder: &Path) -> bool {
    let Ok(file) = open(folder) else { return false };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

fn absolute(folder: &Path) -> PathBuf {
    std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_held(dir.path()));
        let first = hold(dir.path()).unwrap();
        assert!(is_held(dir.path()));
        let second = hold(dir.path()).unwrap_err();
        assert!(matches!(second, AgentError::AlreadyRunning(_)));
        assert!(second.to_string().contains("已经有一个上传程序在运行"), "{second}");
        drop(first);
        assert!(!is_held(dir.path()));
        hold(dir.path()).unwrap();
    }
}
