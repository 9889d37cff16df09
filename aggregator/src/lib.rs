//! The Yingjian aggregator: the central server that receives evidence from the department
//! agents, stores it content-addressed and verified, and tells the office what is missing.

// A dependency the library does not use is a warning (an error under CI's clippy). The tests
// and binaries are crates of their own, with dev-dependencies, so only the library is held to it.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api;
mod archival;
mod auth;
pub mod blobs;
pub mod bundle;
mod cli;
mod completeness;
pub mod config;
mod contacts;
mod dashboard;
pub mod db;
mod demo;
mod direct_io;
mod download_name;
mod durable;
mod error;
pub mod facts;
/// The table of jobs a worker child runs.
pub mod jobs;
/// What is known of each stored content and record: readings, corrections, holds.
mod knowledge;
/// The paper version's volumes and pages, for the print and the 目录.
mod layout;
mod libreoffice;
mod migrate;
mod pictures;
/// What goes into a hand-in, in which order, under which names.
mod plan;
/// Which PCs are heard from, and which fell silent.
mod presence;
pub mod print;
mod programs;
mod reading;
mod review;
mod server;
/// What requests, background work and builds all reach.
mod services;
/// Where bundles and printouts are kept: a folder, and a shared store's prefix.
mod shelf;
mod state;
mod tls;
mod uploads;
pub mod worker;

pub use auth::{new_token, token_hash};
pub use cli::{Cli, init_logging, run};
pub use config::{Config, TlsFiles};
pub use error::{AppError, AppResult};
/// The reader's version: what was read by an older one is read again.
pub use facts::READER_VERSION;
/// What the worker runs to read one file (the reading bench runs it too).
pub use reading::job::ReadJob;
pub use server::{Server, launch};
pub use state::AppState;
