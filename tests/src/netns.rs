//! A shaped link in a network namespace made for the purpose (`ip netns`, a veth pair, `tc`):
//! the server runs inside, whatever connects to it from outside crosses the link. Root only.
//! The namespace and the pair are removed when the `Link` is dropped.

use std::io;
use std::process::{Command, Stdio};

fn run(args: &[&str]) -> io::Result<()> {
    let status = Command::new(args[0]).args(&args[1..]).stderr(Stdio::null()).status()?;
    if status.success() { Ok(()) } else { Err(io::Error::other(format!("{} failed", args.join(" ")))) }
}

/// One namespace and its veth pair, on `10.<net>.0.0/24`.
pub struct Link {
    pub ns: String,
    host_if: String,
    net: u8,
}

impl Link {
    /// Makes the link named `name` (a few letters) on `10.<net>.0.0/24`, each direction shaped
    /// by `netem` settings (`rate 200kbit delay 20ms`); a kernel without netem (`sch_netem`)
    /// gets the rate alone, by `tbf`. Answers the shaping in force.
    pub fn create(name: &str, net: u8, netem: &str) -> io::Result<(Link, String)> {
        let (ns, host_if, ns_if) = (format!("yj-{name}"), format!("yj-{name}-a"), format!("yj-{name}-b"));
        let link = Link { ns: ns.clone(), host_if: host_if.clone(), net };
        link.remove(); // what an interrupted run left behind
        let netem: Vec<&str> = netem.split_whitespace().collect();
        run(&["ip", "netns", "add", &ns])?;
        run(&["ip", "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if])?;
        run(&["ip", "link", "set", &ns_if, "netns", &ns])?;
        run(&["ip", "addr", "add", &format!("{}/24", link.host_ip()), "dev", &host_if])?;
        run(&["ip", "link", "set", &host_if, "up"])?;
        let exec = ["ip", "netns", "exec", ns.as_str()];
        run(&[&exec[..], &["ip", "addr", "add", &format!("{}/24", link.ns_ip()), "dev", &ns_if]].concat())?;
        run(&[&exec[..], &["ip", "link", "set", &ns_if, "up"]].concat())?;
        run(&[&exec[..], &["ip", "link", "set", "lo", "up"]].concat())?;
        let with_netem =
            [&["tc", "qdisc", "add", "dev", host_if.as_str(), "root", "netem"][..], &netem].concat();
        let shaping = if run(&with_netem).is_ok() {
            run(&[&exec[..], &["tc", "qdisc", "add", "dev", &ns_if, "root", "netem"], &netem].concat())?;
            format!("netem {}", netem.join(" "))
        } else {
            let shaping = tbf(&netem);
            let tbf: Vec<&str> = shaping.split_whitespace().collect();
            run(&[&["tc", "qdisc", "add", "dev", host_if.as_str(), "root"][..], &tbf].concat())?;
            run(&[&exec[..], &["tc", "qdisc", "add", "dev", &ns_if, "root"], &tbf].concat())?;
            format!("{shaping} (no netem in this kernel: no delay, no loss)")
        };
        Ok((link, shaping))
    }

    /// This side's address.
    pub fn host_ip(&self) -> String {
        format!("10.{}.0.1", self.net)
    }

    /// The namespace's address, where its server listens.
    pub fn ns_ip(&self) -> String {
        format!("10.{}.0.2", self.net)
    }

    /// `program` run inside the namespace.
    pub fn command(&self, program: &std::path::Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns]).arg(program);
        command
    }

    /// Bytes sent from this side towards the namespace, as the interface counts them.
    pub fn sent(&self) -> u64 {
        std::fs::read_to_string(format!("/sys/class/net/{}/statistics/tx_bytes", self.host_if))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn remove(&self) {
        let _ = run(&["ip", "link", "del", &self.host_if]);
        let _ = run(&["ip", "netns", "del", &self.ns]);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The shaping used when the kernel has no netem: the same rate (20mbit when netem's settings
/// name none), no delay, no loss.
fn tbf(netem: &[&str]) -> String {
    let rate = netem.windows(2).find(|w| w[0] == "rate").map_or("20mbit", |w| w[1]);
    format!("tbf rate {rate} burst 32kbit latency 400ms")
}
