//! Slow links and slow servers never stall the agent: a heartbeat the server holds does not
//! delay a file, a transfer longer than the stall interval is not cut for being long, a cut
//! goes on from where it was, and after a spell of 503s what waited goes at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};

use crate::{Setup, agent_with, eventually};

/// A proxy in front of the server that can slow the link, hold heartbeats unanswered, answer
/// 503 to everything, and cut every connection.
struct Proxy {
    addr: std::net::SocketAddr,
    /// Bytes per second towards the server (0: no limit).
    rate: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    heartbeats: Arc<Heartbeats>,
    unavailable: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Proxy {
    async fn start(server: std::net::SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            rate: Arc::default(),
            sent: Arc::default(),
            heartbeats: Arc::default(),
            unavailable: Arc::default(),
            cut: Arc::default(),
        };
        let (rate, sent, heartbeats, unavailable, cut) = (
            proxy.rate.clone(),
            proxy.sent.clone(),
            proxy.heartbeats.clone(),
            proxy.unavailable.clone(),
            proxy.cut.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if unavailable.load(Ordering::SeqCst) {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        let _ = client.read(&mut buf).await;
                        let _ = client
                            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    });
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(server).await else { continue };
                let (rate, sent, heartbeats, cut) =
                    (rate.clone(), sent.clone(), heartbeats.clone(), cut.clone());
                tokio::spawn(async move {
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = upstream.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                            let mut chunk = buf[..n].to_vec();
                            if chunk.starts_with(b"POST /api/v1/heartbeat")
                                && !heartbeats.hold(&mut from_client, &mut chunk).await
                            {
                                break;
                            }
                            if to_server.write_all(&chunk).await.is_err() {
                                break;
                            }
                            let n = chunk.len();
                            sent.fetch_add(n as u64, Ordering::SeqCst);
                            let rate = rate.load(Ordering::SeqCst);
                            if rate > 0 {
                                // The link's pace (the scenario, not synchronisation).
                                tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                            }
                        }
                        let _ = to_server.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                        let _ = to_client.shutdown().await;
                    };
                    tokio::select! {
                        _ = async { tokio::join!(up, down) } => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Heartbeats the proxy holds unanswered until released, and what became of them.
#[derive(Default)]
struct Heartbeats {
    hold: AtomicBool,
    release: tokio::sync::Notify,
    /// Heartbeats held so far.
    held: AtomicU64,
    /// Held heartbeats whose connection the agent closed before they were released.
    given_up: AtomicU64,
}

impl Heartbeats {
    /// Holds a heartbeat while `hold` is set; false when the agent gives up on it meanwhile.
    /// What it sends meanwhile (the rest of the request) is added to `request`.
    async fn hold(&self, from_agent: &mut OwnedReadHalf, request: &mut Vec<u8>) -> bool {
        let mut counted = false;
        loop {
            // Made before the flag is read: a release in between still wakes it.
            let released = self.release.notified();
            if !self.hold.load(Ordering::SeqCst) {
                return true;
            }
            if !counted {
                self.held.fetch_add(1, Ordering::SeqCst);
                counted = true;
            }
            let mut more = [0u8; 4096];
            tokio::select! {
                () = released => {}
                read = from_agent.read(&mut more) => {
                    let Ok(n @ 1..) = read else {
                        self.given_up.fetch_add(1, Ordering::SeqCst);
                        return false;
                    };
                    request.extend_from_slice(&more[..n]);
                }
            }
        }
    }

    fn release(&self) {
        self.hold.store(false, Ordering::SeqCst);
        self.release.notify_waiters();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_the_server_holds_delays_no_file() {
    let setup = Setup::start();
    let proxy = Proxy::start(setup.server.addr).await;
    proxy.heartbeats.hold.store(true, Ordering::SeqCst);
    let config = setup.config(&proxy.url(), "");
    let _agent = agent_with(&config, &["run"], &[]);
    eventually("a heartbeat held", Duration::from_mins(1), async || {
        (proxy.heartbeats.held.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    fs_write(&setup.item("08.03").join("心跳卡住时放入.pdf"), b"%PDF-1.4 while the heartbeat hangs");
    eventually("the file while a heartbeat is held", Duration::from_mins(2), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
    // The agent waits 30 s for a heartbeat's answer, then closes its connection: a file that
    // waited for the heartbeat would arrive only after that.
    assert_eq!(
        proxy.heartbeats.given_up.load(Ordering::SeqCst),
        0,
        "the file waited for the agent to give up a heartbeat"
    );
    proxy.heartbeats.release();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_longer_than_the_stall_interval_is_not_cut_and_a_cut_goes_on_where_it_was() {
    let setup = Setup::start();
    let proxy = Proxy::start(setup.server.addr).await;
    // A stall interval of 2 s; the first file takes about 6 s at 128 KiB/s.
    let config = setup.config(&proxy.url(), "stall_secs = 2");
    proxy.rate.store(128 << 10, Ordering::SeqCst);
    let _agent = agent_with(&config, &["run"], &[]);
    let first: Vec<u8> = (0..768 * 1024u32).map(|i| (i % 251) as u8).collect();
    fs_write(&setup.item("08.03").join("慢速链路.pdf"), &first);
    eventually("the long transfer", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
    let sent = proxy.sent.load(Ordering::SeqCst);
    assert!(sent < first.len() as u64 * 12 / 10, "sent once, not restarted: {sent} bytes");

    // The next file is longer than the stall interval at the pace seen: it goes resumably, and
    // a cut in its middle costs only the part under way.
    let second: Vec<u8> = (0..1536 * 1024u32).map(|i| (i % 241) as u8).collect();
    let before = proxy.sent.load(Ordering::SeqCst);
    fs_write(&setup.item("11.02").join("断线续传.pdf"), &second);
    eventually("half of it through", Duration::from_mins(1), async || {
        (proxy.sent.load(Ordering::SeqCst) - before > second.len() as u64 / 2).then_some(())
    })
    .await;
    proxy.cut.notify_waiters();
    eventually("the cut file", Duration::from_mins(1), async || {
        (setup.records().await.len() == 2).then_some(())
    })
    .await;
    let sent = proxy.sent.load(Ordering::SeqCst) - before;
    assert!(sent < second.len() as u64 * 13 / 10, "went on where it was: {sent} bytes for {}", second.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_spell_of_503s_what_waited_goes_at_once() {
    let setup = Setup::start();
    let proxy = Proxy::start(setup.server.addr).await;
    let config = setup.config(&proxy.url(), "");
    let _agent = agent_with(&config, &["run"], &[]);
    fs_write(&setup.item("08.03").join("之前.pdf"), b"%PDF-1.4 before");
    eventually("the first file", Duration::from_mins(1), async || {
        (setup.records().await.len() == 1).then_some(())
    })
    .await;
    proxy.unavailable.store(true, Ordering::SeqCst);
    proxy.cut.notify_waiters();
    fs_write(&setup.item("08.03").join("故障时放入.pdf"), b"%PDF-1.4 during the 503s");
    // It failed, and, as after a long spell, its next try is an hour away.
    let db = setup.agent_state.join("agent.sqlite3");
    eventually("a failed delivery", Duration::from_mins(1), async || {
        let conn = rusqlite::Connection::open(&db).ok()?;
        let n: i64 =
            conn.query_row("SELECT count(*) FROM files WHERE attempts > 0", [], |r| r.get(0)).ok()?;
        (n == 1).then_some(())
    })
    .await;
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let hour_ahead = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap()
        + Duration::from_hours(1))
    .as_millis() as i64;
    conn.execute("UPDATE files SET next_try = ?1 WHERE attempts > 0", [hour_ahead]).unwrap();
    proxy.unavailable.store(false, Ordering::SeqCst);
    eventually("the file, well before its backoff ends", Duration::from_mins(1), async || {
        (setup.records().await.len() == 2).then_some(())
    })
    .await;
}

fn fs_write(path: &std::path::Path, bytes: &[u8]) {
    // Written beside the evidence folder, then renamed in: whole at once.
    let folder = path.parent().and_then(std::path::Path::parent).unwrap();
    let staging = folder.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}
