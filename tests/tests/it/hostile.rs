//! Hostile input: a table of bad requests, each answered with the right error, nothing stored,
//! the server healthy afterwards; and the two hostile files only an agent meets.

use std::fs;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yingjian_tests::{Aggregator, DeptAgent, eventually, record, sha, temp};

/// The server under attack accepts uploads up to this size.
const MAX_UPLOAD: u64 = 64 * 1024;

/// Who sends the request.
#[derive(Clone, Copy)]
enum Who {
    Police,
    Office,
    Nobody,
    Forged,
    Revoked,
    /// An `Authorization` header that is not a bearer token.
    Basic,
    /// The police token, sent by a page of another site (`Origin: http://evil.example`).
    CrossSite,
}

enum Body {
    None,
    Json(Value),
    Bytes(&'static str, Vec<u8>),
    /// Chunked, with no declared length.
    Stream(usize),
}

enum Req {
    Http(Method, String, Who, Body),
    /// Bytes written to the socket as they are; `{token}` is replaced by the police token.
    /// With `hang_up`, the sender closes its side right after them.
    Raw {
        bytes: Vec<u8>,
        hang_up: bool,
    },
}

struct Case {
    name: &'static str,
    req: Req,
    /// The status and error code; a status of 0 means "refused in any 4xx way or hung up".
    want: (u16, &'static str),
}

fn cases(good: &str, good_len: usize, theirs: &str, theirs_len: usize) -> Vec<Case> {
    let item = "08.03 昆仑2021专项行动";
    let put_record = |name: &'static str, path: String, want: (u16, &'static str)| Case {
        name,
        req: Req::Http(
            Method::PUT,
            "/api/v1/evidence".into(),
            Who::Police,
            Body::Json(record(&path, good, good_len)),
        ),
        want,
    };
    let bad_path = (400, "bad_request");
    let unsorted = (422, "unprocessable");
    let blob = |hash: &str| format!("/api/v1/blobs/{hash}");
    // `target` is `PUT /api/v1/blobs/{hash}` or the unnamed `POST /api/v1/blobs`.
    let raw_upload = |target: &str, length: u64, body: &[u8], hang_up: bool| {
        let mut r = format!(
            "{target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {{token}}\r\nContent-Length: {length}\r\n\r\n"
        )
        .into_bytes();
        r.extend_from_slice(body);
        Req::Raw { bytes: r, hang_up }
    };
    let raw_put = |hash: &str, length: u64, body: &[u8], hang_up: bool| {
        raw_upload(&format!("PUT /api/v1/blobs/{hash}"), length, body, hang_up)
    };
    let long_body = b"%PDF-1.4 twenty bytes".to_vec();
    let heartbeat = |host: String, unsorted: usize| {
        let unsorted: Vec<String> = (0..unsorted).map(|i| format!("放错{i}.pdf")).collect();
        json!({"version": "0.1.0", "host": host, "watch_mode": "native", "pending": 0, "unsorted": unsorted})
    };
    let login = "token={token}";
    let cross_site_login = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{login}",
        login.len() - "{token}".len() + 43
    );
    let mut nested = "[".repeat(5000);
    nested.push_str(&"]".repeat(5000));
    vec![
        // Traversal in many spellings, absolute and Windows paths.
        put_record("parent at the start", "../etc/passwd".into(), bad_path),
        put_record("parent in the middle", format!("{item}/../../etc/passwd"), bad_path),
        put_record("parent at the end", format!("{item}/.."), bad_path),
        put_record("a lone parent", "..".into(), bad_path),
        put_record("a dot component", format!("{item}/./a.pdf"), bad_path),
        put_record("an empty component", format!("{item}//a.pdf"), bad_path),
        put_record("a trailing slash", format!("{item}/"), bad_path),
        put_record("an empty path", String::new(), bad_path),
        put_record("absolute Unix path", "/etc/passwd".into(), bad_path),
        put_record("Windows drive path", "C:\\Windows\\system32\\a.pdf".into(), bad_path),
        put_record("Windows drive, forward slashes", "C:/Windows/a.pdf".into(), bad_path),
        put_record("UNC path", "\\\\server\\share\\a.pdf".into(), bad_path),
        put_record("backslash traversal", format!("{item}\\..\\..\\a.pdf"), bad_path),
        put_record("NUL in a name", format!("{item}/a\0.pdf"), bad_path),
        put_record("a control character", format!("{item}/a\u{7}.pdf"), bad_path),
        put_record("a newline", format!("{item}/a\n.pdf"), bad_path),
        put_record("an overlong name", format!("{item}/{}.pdf", "长".repeat(300)), bad_path),
        put_record("an overlong path", format!("{item}/{}", "a/".repeat(3000)) + "a.pdf", bad_path),
        put_record(
            "percent-encoded parent (a plain name, outside every item)",
            "%2e%2e/a.pdf".into(),
            unsorted,
        ),
        put_record("full-width dots (a plain name, outside every item)", "．．/a.pdf".into(), unsorted),
        // Items that are not this department's.
        put_record("another department's item", "01.01 制造业产品质量合格率/a.pdf".into(), unsorted),
        put_record("an item not in the catalogue", "99.99 不存在/a.pdf".into(), unsorted),
        // Hashes.
        Case {
            name: "content that does not match its hash",
            req: Req::Http(
                Method::PUT,
                blob(&sha(b"other")),
                Who::Police,
                Body::Bytes("", b"%PDF-1.4 x".to_vec()),
            ),
            want: (422, "hash_mismatch"),
        },
        Case {
            name: "a short hash",
            req: Req::Http(Method::PUT, blob(&good[..63]), Who::Police, Body::Bytes("", b"x".to_vec())),
            want: (400, "bad_request"),
        },
        Case {
            name: "a non-hex hash",
            req: Req::Http(
                Method::PUT,
                blob(&format!("{}g", &good[..63])),
                Who::Police,
                Body::Bytes("", b"x".to_vec()),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "a hash with traversal",
            req: Req::Http(Method::HEAD, blob("..%2F..%2Fyingjian.sqlite3"), Who::Police, Body::None),
            want: (400, ""),
        },
        Case {
            name: "a record for a blob never uploaded",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Json(record(&format!("{item}/a.pdf"), &sha(b"never"), 5)),
            ),
            want: (409, "conflict"),
        },
        Case {
            name: "a record whose hash is not hex",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Json(record(&format!("{item}/a.pdf"), "zz", 5)),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "a record whose size is not the blob's",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Json(record(&format!("{item}/a.pdf"), good, good_len + 1)),
            ),
            want: (422, "unprocessable"),
        },
        // Bodies.
        Case {
            name: "a body longer than declared (the rest is not the file)",
            req: raw_put(&sha(&long_body), 10, &long_body, false),
            want: (422, "hash_mismatch"),
        },
        Case {
            name: "a body shorter than declared, then the sender hangs up",
            req: raw_put(&sha(b"0123456789"), 10, b"01234", true),
            want: (0, ""),
        },
        Case {
            name: "a declared length above the maximum",
            req: raw_put(&sha(b"x"), 3 << 30, b"", false),
            want: (413, "too_large"),
        },
        Case {
            name: "an unnamed upload shorter than declared, then the sender hangs up",
            req: raw_upload("POST /api/v1/blobs", 10, b"01234", true),
            want: (0, ""),
        },
        Case {
            name: "an unnamed upload declaring more than the maximum",
            req: raw_upload("POST /api/v1/blobs", 3 << 30, b"", false),
            want: (413, "too_large"),
        },
        Case {
            name: "an unnamed chunked upload above the maximum",
            req: Req::Http(
                Method::POST,
                "/api/v1/blobs".into(),
                Who::Police,
                Body::Stream(MAX_UPLOAD as usize * 2),
            ),
            want: (413, "too_large"),
        },
        Case {
            name: "an undeclared (chunked) body above the maximum",
            req: Req::Http(
                Method::PUT,
                blob(&sha(b"big")),
                Who::Police,
                Body::Stream(MAX_UPLOAD as usize * 2),
            ),
            want: (413, "too_large"),
        },
        Case {
            name: "a JSON body above the request limit",
            req: Req::Http(
                Method::POST,
                "/api/v1/heartbeat".into(),
                Who::Police,
                Body::Bytes("application/json", vec![b' '; 3 << 20]),
            ),
            want: (413, ""),
        },
        // JSON.
        Case {
            name: "malformed JSON",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Bytes("application/json", b"{\"path\": ".to_vec()),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "deeply nested JSON",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Bytes("application/json", nested.into_bytes()),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "JSON of the wrong shape",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Json(json!({"path": 5})),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "JSON that is not UTF-8",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Bytes("application/json", b"{\"path\": \"\xff\xfe\"}".to_vec()),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "JSON sent as plain text",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Bytes("text/plain", b"{}".to_vec()),
            ),
            want: (400, "bad_request"),
        },
        Case {
            name: "a withdrawal of a path that is not UTF-8",
            req: Req::Http(Method::DELETE, "/api/v1/evidence?path=%FF%FE".into(), Who::Police, Body::None),
            want: (400, "bad_request"),
        },
        Case {
            name: "a withdrawal with traversal",
            req: Req::Http(
                Method::DELETE,
                "/api/v1/evidence?path=..%2F..%2Fa.pdf".into(),
                Who::Police,
                Body::None,
            ),
            want: (400, "bad_request"),
        },
        // Tokens.
        Case {
            name: "no token",
            req: Req::Http(Method::GET, "/api/v1/status".into(), Who::Nobody, Body::None),
            want: (401, "unauthorized"),
        },
        Case {
            name: "a forged token",
            req: Req::Http(Method::GET, "/api/v1/status".into(), Who::Forged, Body::None),
            want: (401, "unauthorized"),
        },
        Case {
            name: "a revoked token",
            req: Req::Http(Method::PUT, blob(&sha(b"x")), Who::Revoked, Body::Bytes("", b"x".to_vec())),
            want: (401, "unauthorized"),
        },
        Case {
            name: "basic instead of bearer",
            req: Req::Http(Method::GET, "/api/v1/status".into(), Who::Basic, Body::None),
            want: (401, "unauthorized"),
        },
        Case {
            name: "a token of bytes that are not text",
            req: Req::Raw {
                bytes: b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n"
                    .to_vec(),
                hang_up: false,
            },
            want: (401, "unauthorized"),
        },
        // Another department's data, the office's functions.
        Case {
            name: "the audit log with a department token",
            req: Req::Http(Method::GET, "/api/v1/audit".into(), Who::Police, Body::None),
            want: (403, "forbidden"),
        },
        Case {
            name: "a bundle built with a department token",
            req: Req::Http(Method::POST, "/api/v1/bundles".into(), Who::Police, Body::None),
            want: (403, "forbidden"),
        },
        Case {
            name: "another department's contacts",
            req: Req::Http(
                Method::PUT,
                "/api/v1/contacts".into(),
                Who::Police,
                Body::Json(json!({"department": "market", "contacts": []})),
            ),
            want: (403, "forbidden"),
        },
        Case {
            name: "another department's page",
            req: Req::Http(Method::GET, "/departments/market".into(), Who::Police, Body::None),
            want: (403, ""),
        },
        Case {
            name: "an unnamed upload with the office token",
            req: Req::Http(Method::POST, "/api/v1/blobs".into(), Who::Office, Body::Bytes("", b"x".to_vec())),
            want: (403, "forbidden"),
        },
        Case {
            name: "an unnamed upload without a token",
            req: Req::Http(Method::POST, "/api/v1/blobs".into(), Who::Nobody, Body::Bytes("", b"x".to_vec())),
            want: (401, "unauthorized"),
        },
        Case {
            name: "a blob uploaded with the office token",
            req: Req::Http(Method::PUT, blob(&sha(b"x")), Who::Office, Body::Bytes("", b"x".to_vec())),
            want: (403, "forbidden"),
        },
        // Another department's content, known by its hash (every hash is in the bundle's manifest).
        Case {
            name: "HEAD of a blob only another department delivered",
            req: Req::Http(Method::HEAD, blob(theirs), Who::Police, Body::None),
            want: (404, ""),
        },
        Case {
            name: "a record pointing at another department's blob",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::Police,
                Body::Json(record(&format!("{item}/借来的.pdf"), theirs, theirs_len)),
            ),
            want: (409, "conflict"),
        },
        Case {
            name: "downloading another department's file by its hash",
            req: Req::Http(Method::GET, format!("/files/{theirs}"), Who::Police, Body::None),
            want: (404, ""),
        },
        Case {
            name: "claiming another department's hash with other bytes",
            req: Req::Http(
                Method::PUT,
                blob(theirs),
                Who::Police,
                Body::Bytes("", b"%PDF-1.4 guess".to_vec()),
            ),
            want: (422, "hash_mismatch"),
        },
        // Fields no person writes.
        Case {
            name: "a heartbeat naming a 1.9 MB host",
            req: Req::Http(
                Method::POST,
                "/api/v1/heartbeat".into(),
                Who::Police,
                Body::Json(heartbeat("h".repeat(1_900_000), 0)),
            ),
            want: (422, "unprocessable"),
        },
        Case {
            name: "a heartbeat listing 201 unsorted files",
            req: Req::Http(
                Method::POST,
                "/api/v1/heartbeat".into(),
                Who::Police,
                Body::Json(heartbeat("PC".into(), 201)),
            ),
            want: (422, "unprocessable"),
        },
        Case {
            name: "a caption of 501 characters",
            req: Req::Http(Method::PUT, "/api/v1/evidence".into(), Who::Police, {
                let mut r = record(&format!("{item}/图片/照片.pdf"), good, good_len);
                r["caption"] = json!("字".repeat(501));
                Body::Json(r)
            }),
            want: (422, "unprocessable"),
        },
        Case {
            name: "a contact's name longer than a spreadsheet cell",
            req: Req::Http(
                Method::PUT,
                "/api/v1/contacts".into(),
                Who::Police,
                Body::Json(json!({"contacts": [{"role": "leader", "name": "名".repeat(40_000)}]})),
            ),
            want: (422, "unprocessable"),
        },
        // Another site's page.
        Case {
            name: "a record sent by another site's page",
            req: Req::Http(
                Method::PUT,
                "/api/v1/evidence".into(),
                Who::CrossSite,
                Body::Json(record(&format!("{item}/跨站.pdf"), good, good_len)),
            ),
            want: (403, "forbidden"),
        },
        Case {
            name: "a login posted by another site's page",
            req: Req::Raw { bytes: cross_site_login.into_bytes(), hang_up: false },
            want: (403, "forbidden"),
        },
        Case {
            name: "a bundle name with traversal",
            req: Req::Http(
                Method::GET,
                "/api/v1/bundles/..%2Fyingjian.sqlite3".into(),
                Who::Office,
                Body::None,
            ),
            want: (404, ""),
        },
    ]
}

/// Sends one case; returns the status (0 if the server hung up without one) and error code.
async fn send(server: &Aggregator, tokens: &Tokens, req: Req) -> (u16, String) {
    match req {
        Req::Http(method, path, who, body) => {
            let mut r = reqwest::Client::new().request(method, format!("{}{path}", server.url()));
            r = match who {
                Who::Police => r.bearer_auth(&tokens.police),
                Who::Office => r.bearer_auth(&tokens.office),
                Who::Revoked => r.bearer_auth(&tokens.revoked),
                Who::Forged => r.bearer_auth("yj_forged0000000000000000000000000000"),
                Who::Basic => r.basic_auth("police", Some(&tokens.police)),
                Who::CrossSite => r.bearer_auth(&tokens.police).header("origin", "http://evil.example"),
                Who::Nobody => r,
            };
            r = match body {
                Body::None => r,
                Body::Json(v) => r.json(&v),
                Body::Bytes("", b) => r.body(b),
                Body::Bytes(content_type, b) => r.header("content-type", content_type).body(b),
                Body::Stream(n) => {
                    let chunks = futures_util::stream::iter(
                        (0..n / 4096).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 4096])),
                    );
                    r.body(reqwest::Body::wrap_stream(chunks))
                }
            };
            match r.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    (status, body["error"].as_str().unwrap_or_default().to_string())
                }
                Err(_) => (0, String::new()),
            }
        }
        Req::Raw { bytes, hang_up } => {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            let text = String::from_utf8_lossy(&bytes).replace("{token}", &tokens.police);
            // A request that is not UTF-8 carries no token and is sent as it is.
            let bytes = if text.contains('\u{fffd}') { bytes } else { text.into_bytes() };
            stream.write_all(&bytes).await.unwrap();
            if hang_up {
                stream.shutdown().await.unwrap();
            }
            let answer = tokio::time::timeout(Duration::from_secs(10), read_response(&mut stream))
                .await
                .unwrap_or_default();
            let answer = String::from_utf8_lossy(&answer);
            let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let code = answer
                .split("\"error\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_string();
            (status, code)
        }
    }
}

/// Reads one HTTP/1.1 response (headers and a body of `Content-Length` bytes), or what came
/// before the connection closed. Not hanging up first matters: the server is free to drop a
/// connection whose client has closed its side before it answers.
async fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                return answer;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

struct Tokens {
    police: String,
    office: String,
    revoked: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_refused_and_changes_nothing() {
    let dir = temp();
    let server = Aggregator::start_with(&dir.path().join("data"), |c| c.max_upload_bytes = MAX_UPLOAD).await;
    let tokens = Tokens {
        police: server.token(Some("police")).await,
        office: server.token(None).await,
        revoked: {
            let t = server.token(Some("police")).await;
            let id = server.state.db.list_tokens().await.unwrap().last().unwrap().id;
            assert!(server.state.db.revoke_token(id).await.unwrap());
            t
        },
    };
    // One legitimate blob, so that records fail for their own fault and not for a missing blob.
    let good = b"%PDF-1.4 legitimate".to_vec();
    let good_sha = sha(&good);
    let put = reqwest::Client::new()
        .put(format!("{}/api/v1/blobs/{good_sha}", server.url()))
        .bearer_auth(&tokens.police)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    // Content only another department delivered.
    let market = server.token(Some("market")).await;
    let theirs = b"%PDF-1.4 market's own inspection report".to_vec();
    let client = reqwest::Client::new();
    yingjian_tests::deliver(&client, &server.url(), &market, "01.01 制造业产品质量合格率/抽检.pdf", &theirs)
        .await
        .unwrap();
    let audit_before =
        server.get("/api/v1/audit?limit=100000", &tokens.office).await.as_array().unwrap().len();

    let table = cases(&good_sha, good.len(), &sha(&theirs), theirs.len());
    assert!(table.len() >= 40, "the table has {} cases", table.len());
    let mut wrong = Vec::new();
    for case in table {
        let (status, code) = send(&server, &tokens, case.req).await;
        let (want_status, want_code) = case.want;
        let ok = match want_status {
            0 => status == 0 || (400..500).contains(&status),
            _ => status == want_status && (want_code.is_empty() || code == want_code),
        };
        if !ok {
            wrong.push(format!("{}: got {status} {code:?}, want {want_status} {want_code:?}", case.name));
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));

    // Nothing stored: no record of police's, no blob but the two legitimate ones, no temporary
    // file, no audit entry; and market's content is still not police's to see.
    assert!(server.paths(&tokens.police).await.is_empty());
    assert_eq!(server.state.db.all_blobs().await.unwrap().len(), 2);
    assert!(server.state.db.held_blob("police".into(), sha(&theirs)).await.unwrap().is_none());
    assert_eq!(server.state.blobs.temp_files().unwrap(), 0);
    let audit_after =
        server.get("/api/v1/audit?limit=100000", &tokens.office).await.as_array().unwrap().len();
    assert_eq!(audit_after, audit_before);
    // And the server still serves.
    let health = reqwest::get(format!("{}/healthz", server.url())).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let r = reqwest::Client::new()
        .put(format!("{}/api/v1/evidence", server.url()))
        .bearer_auth(&tokens.police)
        .json(&record("08.03 昆仑2021专项行动/正常.pdf", &good_sha, good.len()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_out_of_the_folder_and_files_replaced_while_hashed() {
    let dir = temp();
    let server = Aggregator::start(&dir.path().join("data")).await;
    let token = server.token(Some("police")).await;
    let mut agent = DeptAgent::prepare(dir.path(), "police", &server.url(), &token);
    agent.start().await;
    let item = agent.item("08.03");

    // Links that lead out of the evidence folder: to a file, and to a folder of files.
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("机密.pdf"), b"%PDF-1.4 secret").unwrap();
    std::os::unix::fs::symlink(outside.join("机密.pdf"), item.join("链接.pdf")).unwrap();
    std::os::unix::fs::symlink(&outside, item.join("外部文件夹")).unwrap();

    // A large file replaced (by rename, as editors save) while the agent may be hashing it, and
    // uploading it already: 64 MiB is where the agent starts uploading before the hash is known.
    let big = |tag: u8| vec![tag; 64 << 20];
    let staging = dir.path().join("staging");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("a"), big(b'a')).unwrap();
    fs::write(staging.join("b"), big(b'b')).unwrap();
    fs::rename(staging.join("a"), item.join("扫描.pdf")).unwrap();
    fs::rename(staging.join("b"), item.join("扫描.pdf")).unwrap();
    // A marker that arrives after both: once it is there, the agent has seen everything.
    fs::write(item.join("最后.pdf"), b"%PDF-1.4 last").unwrap();

    let final_sha = sha(&big(b'b'));
    let records = eventually("the replacement and the marker on the server", || async {
        let records = server.get("/api/v1/evidence", &token).await;
        let records = records.as_array().unwrap().clone();
        let scan = records.iter().find(|r| r["path"].as_str().unwrap().ends_with("扫描.pdf"));
        let last = records.iter().any(|r| r["path"].as_str().unwrap().ends_with("最后.pdf"));
        (last && scan.is_some_and(|r| r["sha256"] == final_sha.as_str())).then_some(records)
    })
    .await;
    let paths: Vec<&str> = records.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 2, "only the scan and the marker: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("链接") || p.contains("外部")));
    let secret = sha(b"%PDF-1.4 secret");
    assert!(server.state.db.blob(secret).await.unwrap().is_none(), "nothing from outside was uploaded");
    agent.stop().await;
    server.stop().await;
}
