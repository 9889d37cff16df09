//! End-to-end: the real aggregator and real agents on loopback against real folders.

mod agent_clerk;
mod agent_sync;
mod architecture;
mod boundaries;
mod city;
mod dashboard;
mod faults;
mod hostile;
mod https;
mod instances;
mod load;
mod migrate;
mod reading;
mod resumable;
mod s3;
mod scans;
mod shaped_link;
mod worker;
