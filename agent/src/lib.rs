//! The Yingjian agent: runs on a department PC, watches the evidence folder, and delivers every
//! settled file to the aggregator exactly once, through restarts, outages and slow links.

// A dependency the library does not use is a warning (an error under CI's clippy). The tests
// and binaries are crates of their own, with dev-dependencies, so only the library is held to it.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod cli;
mod client;
mod config;
mod error;
mod init;
mod lock;
mod newfile;
mod report;
mod scan;
mod service;
mod setup;
mod state;
mod sync;
mod todo;
mod watch;
mod words;

pub use cli::{Cli, execute};
pub use config::AgentConfig;
pub use error::{AgentError, AgentResult};
pub use init::init_folder;
pub use scan::MARKER_FILE;
pub use sync::Agent;
