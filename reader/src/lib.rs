//! Reading what a department sent: the text of a document (its PDF text layer, the text of an
//! Office file, or OCR of its page images), the archival fields in that text (文号, 责任者,
//! 成文日期, 题名, 密级), and checks of each scanned page against DA/T 31-2017.
//!
//! Everything here parses untrusted bytes, so it runs only in the aggregator's worker process,
//! under memory and time limits; nothing here does network or async I/O.

// A dependency the library does not use is a warning (an error under CI's clippy). The tests
// and binaries are crates of their own, with dev-dependencies, so only the library is held to it.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

#[cfg(feature = "corpus")]
pub mod corpus;
mod error;
pub mod fields;
pub mod ocr;
pub mod pages;
pub mod quality;
pub mod read;
pub mod similar;
pub mod text;

pub use error::ReadError;
pub use fields::Fields;
pub use read::{OcrOnDemand, Reading, TextSource, read_file};
