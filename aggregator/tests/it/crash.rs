//! The real binary killed with SIGKILL in the middle of an upload restarts clean.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode};

use super::sha;

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    Server { child, addr }
}

fn token(data: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["token", "create", "--dept", "公安局", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn sigkill_mid_upload_leaves_no_partial_blob() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let token = token(&data);
    let mut server = start(&data);
    let client = reqwest::Client::new();
    let bytes = vec![42u8; 1 << 20];
    let hash = sha(&bytes);

    // Send the headers and half of the body by hand, then kill the server.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "PUT /api/v1/blobs/{hash} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    )
    .unwrap();
    stream.write_all(&bytes[..bytes.len() / 2]).unwrap();
    stream.flush().unwrap();
    // Wait until the server has started writing the temporary file.
    let tmp = data.join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // `tmp/uploads/` holds resumable uploads, which outlive restarts; the rest of `tmp/` does not.
    let writes = |tmp: &std::path::Path| {
        std::fs::read_dir(tmp).unwrap().flatten().filter(|e| e.file_name() != "uploads").count()
    };
    while writes(&tmp) == 0 {
        assert!(std::time::Instant::now() < deadline, "the upload never reached tmp/");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(stream);

    let server = start(&data);
    assert_eq!(writes(&tmp), 0, "tmp/ is emptied at start");
    let head = client
        .request(Method::HEAD, format!("http://{}/api/v1/blobs/{hash}", server.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert!(!data.join("blobs").join(&hash[..2]).join(&hash[2..4]).join(&hash).exists());
    // The same upload now goes through.
    let put = client
        .put(format!("http://{}/api/v1/blobs/{hash}", server.addr))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let scrub = Command::new(env!("CARGO_BIN_EXE_yingjian-aggregator"))
        .args(["scrub", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(scrub.status.success());
    assert!(String::from_utf8_lossy(&scrub.stdout).contains("1 blobs checked, 0 damaged"));
}
