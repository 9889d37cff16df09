//! End-to-end: the real aggregator and real agents on loopback against real folders.

mod agent_sync;
mod dashboard;
mod https;
