//! A real PostgreSQL for the tests: a cluster made by `initdb` in a temporary folder, served on a
//! loopback port by `pg_ctl` (which waits until it accepts connections), stopped when dropped.
//! Debian's PostgreSQL 15 (`/usr/lib/postgresql/15/bin`, or `pg_config --bindir`); as root the
//! cluster belongs to the `postgres` user, since PostgreSQL refuses to run as root. Without the
//! server binaries `Postgres::start` says SKIPPED and gives `None`.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::ServerProcess;

pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> Option<Postgres> {
        Self::start_with(None)
    }

    /// The same, speaking TLS with the certificate chain and key given (PEM files), and
    /// refusing any connection that does not (`hostssl` alone in `pg_hba.conf`).
    pub fn start_tls(cert: &Path, key: &Path) -> Option<Postgres> {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Option<Postgres> {
        let Some(bin) = bindir() else {
            eprintln!("SKIPPED: no PostgreSQL server (initdb) here: apt-get install postgresql-15");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let cluster = dir.path().join("cluster");
        let as_root = is_root();
        if as_root {
            let status = Command::new("chown").arg("postgres:").arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown the cluster's folder to postgres");
        }
        let port = ServerProcess::free_port();
        let pg = Postgres { dir, bin, port };
        pg.run(&[
            "initdb",
            "-D",
            &cluster.display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]);
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            pg.dir.path().display()
        );
        if let Some((cert, key)) = tls {
            let (to_cert, to_key) = (cluster.join("server.crt"), cluster.join("server.key"));
            std::fs::copy(cert, &to_cert).unwrap();
            std::fs::copy(key, &to_key).unwrap();
            std::fs::set_permissions(&to_key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if as_root {
                let status =
                    Command::new("chown").arg("postgres:").arg(&to_cert).arg(&to_key).status().unwrap();
                assert!(status.success(), "chown the certificate to postgres");
            }
            // Written in place: the file keeps its owner.
            std::fs::write(
                cluster.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            options.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        let log = pg.dir.path().join("server.log").display().to_string();
        pg.run(&["pg_ctl", "start", "-w", "-D", &cluster.display().to_string(), "-l", &log, "-o", &options]);
        Some(pg)
    }

    /// `postgres://…` of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs SQL statements as the cluster's owner (`psql`, stopping at the first error); they
    /// must succeed.
    pub fn sql(&self, statements: &str) {
        let port = self.port.to_string();
        let _ = self.run(&[
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            statements,
        ]);
    }

    /// The rows a query answers, one a line, fields split by `|` (`psql -At`).
    pub fn query(&self, query: &str) -> String {
        let port = self.port.to_string();
        self.run(&["psql", "-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-At", "-c", query])
    }

    /// Runs a server program as the cluster's owner; it must succeed. What it printed.
    fn run(&self, args: &[&str]) -> String {
        let out =
            as_owner(&self.bin.join(args[0])).args(&args[1..]).current_dir(self.dir.path()).output().unwrap();
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{args:?}: {}{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let cluster = self.dir.path().join("cluster").display().to_string();
        let _ = as_owner(&self.bin.join("pg_ctl")).args(["stop", "-m", "immediate", "-D", &cluster]).output();
    }
}

/// `program` to be run as the cluster's owner: `postgres` when this is root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn bindir() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin");
    if debian.join("initdb").exists() {
        return Some(debian);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.join("initdb").exists().then_some(dir)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
