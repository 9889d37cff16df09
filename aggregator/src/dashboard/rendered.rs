//! The pages every open tab fetches again on each change (`live.js`), rendered once per change
//! and viewer and shared by every tab that asks at that change; a tab that has the page already
//! is answered `304 Not Modified`. A thousand open overviews then cost one render a change, not
//! a thousand (docs/performance.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;
use yingjian_shared::Sha256Stream;

use crate::auth::Caller;
use crate::state::AppState;

/// How long a render is shared at most: the pages tell the time to the minute, and who fell
/// silent, without a change announcing it.
const FRESH: Duration = Duration::from_secs(2);
/// Renders kept at once (a viewer may ask for any query string).
const KEPT: usize = 256;
/// A page larger than this is sent as rendered, not kept.
const LARGEST: u64 = 8 << 20;

/// The renders of the current change, kept by the router of the pages that share them.
pub struct Rendered {
    state: AppState,
    slots: Mutex<HashMap<Key, Arc<Slot>>>,
}

/// What a render depends on besides the time: the page, who sees it, and the change it saw.
#[derive(Hash, PartialEq, Eq)]
struct Key {
    uri: String,
    department: Option<String>,
    generation: u64,
}

struct Slot {
    made: Instant,
    page: OnceCell<Page>,
}

struct Page {
    headers: HeaderMap,
    etag: HeaderValue,
    body: Bytes,
}

impl Rendered {
    pub fn new(state: AppState) -> Arc<Rendered> {
        Arc::new(Rendered { state, slots: Mutex::default() })
    }

    /// The slot for `key`, made if need be; `None` when too many distinct pages are kept.
    fn slot(&self, key: Key) -> Option<Arc<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|k, slot| k.generation == key.generation && slot.made.elapsed() < FRESH);
        if let Some(slot) = slots.get(&key) {
            return Some(slot.clone());
        }
        if slots.len() >= KEPT {
            return None;
        }
        let slot = Arc::new(Slot { made: Instant::now(), page: OnceCell::new() });
        slots.insert(key, slot.clone());
        Some(slot)
    }
}

/// Middleware of the pages `live.js` refreshes: one render per change, viewer and page; the
/// first tab to ask renders it while the others wait for it.
pub async fn shared(State(pages): State<Arc<Rendered>>, request: Request, next: Next) -> Response {
    let state = &pages.state;
    let (mut parts, body) = request.into_parts();
    // No session: the page itself sends the visitor to the login.
    let Ok(caller) = Caller::from_request_parts(&mut parts, state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = Key {
        uri: parts.uri.to_string(),
        department: caller.department.clone(),
        generation: state.generation(),
    };
    let asked = parts.headers.get(IF_NONE_MATCH).cloned();
    // The page's own extractor finds the caller already resolved.
    parts.extensions.insert(caller);
    let request = Request::from_parts(parts, body);
    let Some(slot) = pages.slot(key) else { return next.run(request).await };
    let mut unshared = None;
    let made = slot
        .page
        .get_or_try_init(|| async {
            let response = next.run(request).await;
            Page::of(response).await.map_err(|response| unshared = Some(response))
        })
        .await;
    match made {
        Ok(page) => page.answer(asked.as_ref()),
        // This request's own render, not one to share (an error, a redirect), as it was made.
        Err(()) => unshared.unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

impl Page {
    /// A successful page of a known, bounded size; anything else back as it is.
    async fn of(response: Response) -> Result<Page, Response> {
        let size = response.body().size_hint().exact();
        if response.status() != StatusCode::OK || size.is_none_or(|size| size > LARGEST) {
            return Err(response);
        }
        let (parts, body) = response.into_parts();
        let Ok(body) = axum::body::to_bytes(body, LARGEST as usize).await else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let mut hash = Sha256Stream::new();
        hash.update(&body);
        let (sha256, _) = hash.finish();
        let etag = HeaderValue::from_str(&format!("\"{}\"", &sha256.as_str()[..32]))
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        Ok(Page { headers: parts.headers, etag, body })
    }

    fn answer(&self, asked: Option<&HeaderValue>) -> Response {
        let mut response = if asked == Some(&self.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = Response::new(Body::from(self.body.clone()));
            *response.headers_mut() = self.headers.clone();
            response
        };
        let headers = response.headers_mut();
        headers.insert(ETAG, self.etag.clone());
        // The browser keeps the page but asks each time whether it changed.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        response
    }
}
