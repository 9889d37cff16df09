//! Refuses state-changing requests that another site made a browser send (CSRF): the session
//! cookie is `SameSite=Strict`, and this is the second lock. Agents and scripts send no `Origin`
//! and pass; a browser names the page's origin, which must be this server.

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN, REFERER};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

pub async fn guard(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || same_site(request.headers()) {
        next.run(request).await
    } else {
        AppError::Forbidden(
            "请求来自其他网站的页面，已拒绝：请直接打开本系统的页面再操作；经反向代理访问时，代理须保留原 Host 头（the request came from another site's page, by its Origin/Referer）"
                .into(),
        )
        .into_response()
    }
}

/// The `host[:port]` of an origin or referer URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

fn same_site(headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(host) = header(HOST) else { return true };
    // Origin when the browser sends one ("null" from a sandboxed page names no site), else the
    // Referer; with neither, the request did not come from a page.
    let claimed = match (header(ORIGIN), header(REFERER)) {
        (Some(origin), _) => authority(origin),
        (None, Some(referer)) => authority(referer),
        (None, None) => {
            return headers.get("sec-fetch-site").is_none_or(|v| v == "same-origin" || v == "none");
        }
    };
    claimed.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_server_s_own_pages_may_change_things() {
        let host = ("host", "10.1.2.3:8443");
        assert!(same_site(&headers(&[host])), "an agent or a script");
        assert!(same_site(&headers(&[host, ("origin", "https://10.1.2.3:8443")])));
        assert!(same_site(&headers(&[host, ("referer", "https://10.1.2.3:8443/bundles")])));
        assert!(!same_site(&headers(&[host, ("origin", "http://evil.example")])));
        assert!(!same_site(&headers(&[host, ("origin", "null")])));
        assert!(!same_site(&headers(&[host, ("referer", "http://evil.example/10.1.2.3:8443")])));
        assert!(!same_site(&headers(&[host, ("origin", "https://10.1.2.3:8443.evil.example")])));
        assert!(!same_site(&headers(&[host, ("sec-fetch-site", "cross-site")])));
        assert!(same_site(&headers(&[host, ("sec-fetch-site", "same-origin")])));
    }
}
