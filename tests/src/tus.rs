//! tus 1.0 requests as a client makes them, for the resumable-upload tests.

pub const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

pub fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

pub async fn create(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    length: usize,
    metadata: &str,
) -> reqwest::Response {
    let mut request = client
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(token)
        .header(TUS.0, TUS.1)
        .header("upload-length", length);
    if !metadata.is_empty() {
        request = request.header("upload-metadata", metadata);
    }
    request.send().await.unwrap()
}

pub async fn patch(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    client
        .patch(url)
        .bearer_auth(token)
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset)
        .header("content-type", "application/offset+octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

pub async fn head(client: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    client.head(url).bearer_auth(token).header(TUS.0, TUS.1).send().await.unwrap()
}
