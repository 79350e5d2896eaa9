//! What the store-platform fakes share: one wiremock responder per fake that routes every request to a
//! handler over the fake's state, after the injected failures.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use wiremock::{Request, Respond, ResponseTemplate};

use crate::failure::{FailurePlan, FakeFailure, retry_after_header};

/// An answer before it becomes a `ResponseTemplate`.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body), headers: Vec::new() }
    }

    pub fn empty(status: u16) -> Self {
        Self { status, body: None, headers: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// The state of a store fake: counters, failures, and the platform's error bodies for them.
pub(crate) trait StoreState: Send + 'static {
    fn requests(&mut self) -> &mut usize;
    fn failures(&mut self) -> &mut FailurePlan;
    /// The platform's body for an injected 5xx or 429.
    fn failure_body(&self, status: u16) -> Value;
    fn route(&mut self, request: &Request) -> Reply;
}

pub(crate) struct Router<S> {
    pub state: Arc<Mutex<S>>,
}

pub(crate) fn lock<S>(state: &Arc<Mutex<S>>) -> MutexGuard<'_, S> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: StoreState> Respond for Router<S> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        *state.requests() += 1;
        let mut delay = None;
        let reply = match state.failures().next() {
            Some(FakeFailure::Http500) => Reply::json(500, state.failure_body(500)),
            Some(FakeFailure::Http503) => Reply::json(503, state.failure_body(503)),
            Some(FakeFailure::Http429 { retry_after }) => {
                let reply = Reply::json(429, state.failure_body(429));
                match retry_after {
                    Some(wait) => reply.header("retry-after", retry_after_header(wait)),
                    None => reply,
                }
            }
            Some(FakeFailure::Delay(wait)) => {
                delay = Some(wait);
                state.route(request)
            }
            None => state.route(request),
        };
        drop(state);
        let mut template = ResponseTemplate::new(reply.status);
        if let Some(body) = reply.body {
            template = template.set_body_json(body);
        }
        for (name, value) in reply.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        match delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// The query parameter `name`, decoded.
pub(crate) fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// A header's value as text.
pub(crate) fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|value| value.to_str().ok())
}

/// The path split into segments after `prefix` (`None` when the path does not start with it).
pub(crate) fn segments_after<'r>(request: &'r Request, prefix: &str) -> Option<Vec<&'r str>> {
    let rest = request.url.path().strip_prefix(prefix)?;
    Some(rest.split('/').filter(|segment| !segment.is_empty()).collect())
}
