//! HTTP helpers shared by the REST end-to-end tests: a [`Caller`] (a subject's token, or none)
//! that sends requests to a [`TestApp`], and the [`Answer`] it gets back with exact-body
//! assertions for each surface's error shape. Never loosens a check: every helper asserts the
//! whole status and body it is given.

use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{token, TestApp};

/// One HTTP answer: status, the headers the tests check, and the body as JSON (or a JSON
/// string when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The `X-Trace-ID` header (empty when absent).
    pub trace_id: String,
    /// The `X-Session-ID` header.
    pub session_header: Option<String>,
    pub body: Value,
}

/// Sends `request` and reads the whole answer.
pub fn send(request: RequestBuilder) -> Answer {
    Answer::from_response(request.send().expect("request"))
}

impl Answer {
    pub fn from_response(response: Response) -> Answer {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let trace_id = header("x-trace-id").unwrap_or_default();
        let session_header = header("x-session-id");
        let text = response.text().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            trace_id,
            session_header,
            body,
        }
    }

    /// Asserts 200 and returns the body.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{:#}", self.body);
        &self.body
    }

    /// The session the reply names in `X-Session-ID`.
    pub fn session(&self) -> String {
        self.session_header
            .clone()
            .unwrap_or_else(|| panic!("no X-Session-ID on {:#}", self.body))
    }

    /// Asserts the status and the whole body in the upstream shapes (current and v1
    /// surfaces). Error bodies (status >= 400) carry the response's trace id (the
    /// `X-Trace-ID` header): it is added to `expected` inside `error` for the
    /// session-not-found shape, at the top level otherwise.
    pub fn is(&self, status: u16, expected: Value) -> &Self {
        let mut expected = expected;
        if status >= 400 {
            if let Some(object) = expected.as_object_mut() {
                match object.get_mut("error").and_then(Value::as_object_mut) {
                    Some(error) => {
                        error.insert("trace_id".into(), json!(self.trace_id));
                    }
                    None => {
                        object.insert("trace_id".into(), json!(self.trace_id));
                    }
                }
            }
        }
        assert_eq!(self.status, status, "status of {:#}", self.body);
        assert_eq!(self.body, expected);
        self
    }

    /// Asserts a structured v2 error: status, code, message and details exactly (the trace id
    /// is added to `details`: it must equal the `X-Trace-ID` header), and an RFC 3339 UTC
    /// timestamp.
    pub fn is_v2_error(&self, status: u16, code: &str, message: &str, details: Value) -> &Self {
        assert_eq!(self.status, status, "status of {:#}", self.body);
        assert_eq!(self.trace_id.len(), 36, "a generated UUID trace id");
        let timestamp = self.body["error"]["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("timestamp in {:#}", self.body));
        assert!(
            timestamp.len() >= 20 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {timestamp}"
        );
        let mut details = details;
        details
            .as_object_mut()
            .expect("details object")
            .insert("trace_id".into(), json!(self.trace_id));
        let expected = json!({
            "error": {"code": code, "message": message, "details": details, "timestamp": timestamp},
            "status": status,
        });
        assert_eq!(self.body, expected);
        self
    }

    /// Asserts the v2 404 for a session that is gone (`code`: `KATO_SESSION_NOT_FOUND` or
    /// `KATO_SESSION_EXPIRED`), via [`Answer::is_v2_error`].
    pub fn is_v2_session_gone(&self, code: &str, id: &str) -> &Self {
        self.is_v2_error(
            404,
            code,
            &format!("Session {id} not found or expired"),
            json!({"session_id": id}),
        )
    }
}

/// The `unique_id` of an observe reply; asserts it is `obs-` and 32 more characters.
pub fn observation_id(body: &Value) -> String {
    prefixed(body, "unique_id", "obs-", 36)
}

/// The `pattern_name` of a learn reply; asserts it is `PTRN|` and a 40-character hash.
pub fn pattern_name(body: &Value) -> String {
    prefixed(body, "pattern_name", "PTRN|", 45)
}

/// `body[key]` as a string; asserts it starts with `prefix` and is `len` bytes long.
fn prefixed(body: &Value, key: &str, prefix: &str, len: usize) -> String {
    let value = body[key].as_str().expect(key).to_string();
    assert!(value.starts_with(prefix) && value.len() == len, "{value}");
    value
}

/// The upstream session middleware's 404 body for an unknown session (without the trace id,
/// which [`Answer::is`] adds inside `error`).
pub fn session_not_found(id: &str) -> Value {
    json!({"error": {
        "code": "SESSION_NOT_FOUND",
        "message": format!("Session {id} not found or expired"),
        "session_id": id,
    }})
}

/// FastAPI's 422 body for one field.
pub fn invalid(kind: &str, loc: Value, msg: &str) -> Value {
    json!({"detail": [{"type": kind, "loc": loc, "msg": msg}]})
}

/// A caller of one test server: a bearer token (or none), plus extra headers.
pub struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

impl<'a> Caller<'a> {
    /// A token for `subject` with every scope but admin.
    pub fn new(app: &'a TestApp, subject: &str) -> Self {
        Self::with_claims(app, subject, json!({}))
    }

    /// A token for `subject` with `claims` merged in (see [`token`]).
    pub fn with_claims(app: &'a TestApp, subject: &str, claims: Value) -> Self {
        Self::with_token(app, &token(subject, &claims))
    }

    /// This exact bearer token.
    pub fn with_token(app: &'a TestApp, token: &str) -> Self {
        Caller {
            app,
            token: Some(token.to_string()),
            headers: Vec::new(),
        }
    }

    /// No `Authorization` header.
    pub fn anonymous(app: &'a TestApp) -> Self {
        Caller {
            app,
            token: None,
            headers: Vec::new(),
        }
    }

    /// Sends `name: value` on every request.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.app.client().request(method, self.app.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    pub fn get(&self, path: &str) -> Answer {
        send(self.request(Method::GET, path))
    }

    pub fn delete(&self, path: &str) -> Answer {
        send(self.request(Method::DELETE, path))
    }

    pub fn post(&self, path: &str, body: Value) -> Answer {
        send(self.request(Method::POST, path).json(&body))
    }

    pub fn post_empty(&self, path: &str) -> Answer {
        send(self.request(Method::POST, path))
    }

    /// POST of a raw body sent as `application/json`.
    pub fn post_raw(&self, path: &str, body: &str) -> Answer {
        send(
            self.request(Method::POST, path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
    }

    /// `POST /sessions` (current surface) on `node`; asserts 200 and returns the session id.
    pub fn create_session(&self, node: &str) -> String {
        self.create_session_with(json!({"node_id": node}))
    }

    /// `POST /sessions` with this body; asserts 200 and returns the session id.
    pub fn create_session_with(&self, body: Value) -> String {
        created_id(&self.post("/sessions", body))
    }

    /// `POST /v2/sessions` on `node`; asserts 200 and returns the session id.
    pub fn create_session_v2(&self, node: &str) -> String {
        created_id(&self.post("/v2/sessions", json!({"node_id": node})))
    }

    /// `POST /sessions/{session}/observe` of strings; asserts 200 and returns the body.
    pub fn observe(&self, session: &str, strings: &[&str]) -> Value {
        self.observe_at("/sessions", session, strings)
    }

    /// `POST /v2/sessions/{session}/observe` of strings; asserts 200 and returns the body.
    pub fn observe_v2(&self, session: &str, strings: &[&str]) -> Value {
        self.observe_at("/v2/sessions", session, strings)
    }

    /// `POST /observe` (v1 surface, routed by `X-Session-ID` or the default session) of
    /// strings; the answer, unchecked.
    pub fn observe_v1(&self, strings: &[&str]) -> Answer {
        self.post("/observe", json!({"strings": strings}))
    }

    /// The session's STM read through `GET /sessions/{session}/stm` (asserts 200).
    pub fn stm(&self, session: &str) -> Value {
        self.get(&format!("/sessions/{session}/stm")).ok()["stm"].clone()
    }

    /// The session's STM read through `GET /v2/sessions/{session}/stm` (asserts 200).
    pub fn stm_v2(&self, session: &str) -> Value {
        self.get(&format!("/v2/sessions/{session}/stm")).ok()["stm"].clone()
    }

    /// `GET /sessions/count` (asserts 200): the number of live sessions.
    pub fn session_count(&self) -> u64 {
        self.get("/sessions/count").ok()["active_session_count"]
            .as_u64()
            .expect("count")
    }

    fn observe_at(&self, sessions: &str, session: &str, strings: &[&str]) -> Value {
        self.post(
            &format!("{sessions}/{session}/observe"),
            json!({"strings": strings}),
        )
        .ok()
        .clone()
    }
}

fn created_id(created: &Answer) -> String {
    created.ok()["session_id"]
        .as_str()
        .expect("session_id")
        .to_string()
}

impl TestApp {
    /// A [`Caller`] with a token for `subject` (all scopes but admin).
    pub fn caller(&self, subject: &str) -> Caller<'_> {
        Caller::new(self, subject)
    }
}
