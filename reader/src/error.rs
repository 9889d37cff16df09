//! Why a file could not be read: the one error type of the reader.

use thiserror::Error;

/// Why a file could not be read. Shown to the office as 「无法读取文字（原因）」.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a format that can be read")]
    Unsupported,
    #[error("damaged or unreadable content: {0}")]
    Damaged(String),
    #[error("over the budget: {0}")]
    TooLarge(String),
    #[error("password-protected")]
    Encrypted,
    #[error("OCR model: {0}")]
    Model(String),
}
