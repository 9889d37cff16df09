//! HTTPS with the intranet's own CA: the agent trusts the configured certificate, nothing else;
//! the dashboard's session cookie is `Secure`.

use std::fs;

use yingjian_aggregator::{AppState, Config, TlsFiles, launch, new_token, token_hash};
use yingjian_tests::{DeptAgent, eventually, install_crypto, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_delivers_over_https_with_an_extra_ca() {
    install_crypto();
    let dir = temp();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    fs::write(&cert_path, cert.cert.pem()).unwrap();
    fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let config = Config {
        data: dir.path().join("data"),
        tls: Some(TlsFiles { cert: cert_path.clone(), key: key_path }),
        ..Config::default()
    };
    let state = AppState::open(config).unwrap();
    let token = new_token().unwrap();
    state.db.insert_token(token_hash(&token), Some("education".into()), "pc-1".into()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(launch(state.clone(), listener, std::future::pending()));
    let url = format!("https://localhost:{port}");

    // A client that does not trust the intranet CA is refused.
    let untrusting = reqwest::Client::builder().build().unwrap();
    assert!(untrusting.get(format!("{url}/healthz")).send().await.is_err());

    // Under TLS the dashboard's session cookie is Secure: a browser never sends it in the clear.
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = trusting
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");

    let mut agent = DeptAgent::prepare(dir.path(), "education", &url, &token);
    agent.config.ca_cert = Some(cert_path);
    agent.start().await;
    fs::write(agent.item("10.02").join("职业教育改革表彰文件.pdf"), b"%PDF-1.4 tls").unwrap();
    eventually("the file over https", || async {
        let records = state.db.evidence(Some("education".into())).await.unwrap();
        (records.len() == 1).then_some(())
    })
    .await;
    agent.stop().await;
}
