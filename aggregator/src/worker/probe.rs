//! The probe job: what the tests ask of a worker to see its limits hold — a crash, an
//! allocation past the memory limit, a loop past the CPU limit, a job that never ends, a
//! connection attempt.

use serde::{Deserialize, Serialize};

use super::job::{Context, Job};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Answers the text.
    Echo(String),
    /// Refuses with the text.
    Refuse(String),
    /// Allocates and touches this many MiB, answers the peak.
    Allocate(u64),
    /// Recurses this deep (a stack overflow when deep enough).
    Recurse(u64),
    /// Burns CPU forever.
    Spin,
    /// Sleeps this many seconds.
    Sleep(u64),
    /// Panics.
    Panic,
    /// Tries to connect to this address; answers whether it could.
    Connect(std::net::SocketAddr),
    /// Answers the job folder and whether the network was isolated.
    Where,
}

impl Job for Probe {
    const NAME: &'static str = "probe";
}

impl Probe {
    pub fn run(self, context: &Context) -> Result<serde_json::Value, String> {
        Ok(match self {
            Probe::Echo(text) => text.into(),
            Probe::Refuse(why) => return Err(why),
            Probe::Allocate(mib) => {
                let mut held: Vec<Vec<u8>> = Vec::new();
                for _ in 0..mib {
                    held.push(vec![1u8; 1 << 20]);
                }
                held.iter().map(|v| v.len() as u64).sum::<u64>().into()
            }
            Probe::Recurse(depth) => recurse(depth).into(),
            Probe::Spin => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
            }
            Probe::Sleep(secs) => {
                std::thread::sleep(std::time::Duration::from_secs(secs));
                secs.into()
            }
            Probe::Panic => panic!("a probe asked for a panic"),
            Probe::Connect(to) => {
                std::net::TcpStream::connect_timeout(&to, std::time::Duration::from_secs(5)).is_ok().into()
            }
            Probe::Where => serde_json::json!({
                "dir": context.dir,
                "network": context.network,
                "tmpdir": std::env::temp_dir(),
            }),
        })
    }
}

/// Uses about 1 KiB of stack per level.
fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth as u8; 1024]);
    if depth == 0 { u64::from(pad[0]) } else { recurse(depth - 1) + u64::from(pad[1]) }
}
