//! The OpenAPI 3 document of every REST route of the three surfaces (`/openapi.json`) and the
//! offline `/docs` page that renders it. Request and response bodies are described loosely (JSON
//! objects; API.md has the exact shapes); paths, methods, parameters, auth and status codes are
//! exact. The route table here must list every route the surfaces register (an end-to-end test
//! calls each one). The docs page never loads anything from outside the server.

use std::sync::OnceLock;

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths,
    Required, ResponseBuilder, Type,
};

/// Who may call a route.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Health, metrics and docs: no token (API.md product decision 2).
    Public,
    /// `Authorization: Bearer <JWT>` or `X-API-Key` (PROTOCOL.md §3).
    Token,
}

/// What a route's request body is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    /// A JSON object, required.
    Json,
    /// A JSON object the handler ignores or accepts absent.
    OptionalJson,
}

/// Which error shapes a route can answer with, beyond auth.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Current,
    V2,
    V1,
}

/// One route.
struct Route {
    method: HttpMethod,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: Access,
    body: Body,
    /// `(name, JSON type, description)` query parameters.
    query: &'static [(&'static str, Type, &'static str)],
    /// `(name, description)` request headers beyond auth.
    headers: &'static [(&'static str, &'static str)],
    surface: Surface,
    /// Commands that count against the rate limits (429).
    limited: bool,
}

const MONITORING: &str = "monitoring";
const SESSIONS: &str = "sessions";
const NODES: &str = "nodes";
const INTROSPECTION: &str = "introspection";
const V2: &str = "v2";
const V1: &str = "v1";

const NODE_SELECTORS: &[(&str, &str)] = &[
    (
        "x-node-id",
        "Node to read when no `node_id` query parameter is given.",
    ),
    ("x-test-id", "Test isolation: selects node `test_<id>`."),
];
const V1_HEADERS: &[(&str, &str)] = &[(
    "X-Session-ID",
    "Routes the call to this session (404 unknown, 403 another subject's); without it the caller's default session is used.",
)];
const MINUTES: &[(&str, Type, &str)] = &[(
    "minutes",
    Type::Integer,
    "Time window in minutes (1..=1440, default 10).",
)];
const NODE_ID: &[(&str, Type, &str)] = &[(
    "node_id",
    Type::String,
    "Node whose knowledge base is read (else x-test-id, x-node-id, default_node).",
)];
const V1_QUERY: &[(&str, Type, &str)] = &[(
    "processor_id",
    Type::String,
    "Legacy caller key (auth disabled): selects the default session.",
)];

macro_rules! route {
    ($method:ident $path:literal, $tag:expr, $surface:ident, $access:ident, $body:ident, $summary:literal
     $(, query = $query:expr)? $(, headers = $headers:expr)? $(, limited = $limited:expr)?) => {
        Route {
            method: HttpMethod::$method,
            path: $path,
            tag: $tag,
            summary: $summary,
            access: Access::$access,
            body: Body::$body,
            query: route!(@or $($query)?; &[]),
            headers: route!(@or $($headers)?; &[]),
            surface: Surface::$surface,
            limited: route!(@or $($limited)?; false),
        }
    };
    (@or $value:expr; $default:expr) => { $value };
    (@or ; $default:expr) => { $default };
}

/// Every route of the three surfaces, in the order API.md lists them.
fn routes() -> Vec<Route> {
    vec![
        // Monitoring (API.md §1.2 rows 1-3, 29-31; product decisions 4-6).
        route!(Get "/", MONITORING, Current, Public, None, "Service description and uptime"),
        route!(Get "/health", MONITORING, Current, Public, None, "Health: healthy, degraded or unhealthy, with issues"),
        route!(Get "/health/live", MONITORING, Current, Public, None, "Liveness probe: the process answers"),
        route!(Get "/health/ready", MONITORING, Current, Public, None, "Readiness probe: every configured backend is usable (503 when not)"),
        route!(Get "/health/startup", MONITORING, Current, Public, None, "Startup probe: the service is initialised"),
        route!(Get "/status", MONITORING, Current, Public, None, "Sessions, loaded nodes and version"),
        route!(Get "/metrics", MONITORING, Current, Public, None, "Live metrics summary (JSON, upstream shape)"),
        route!(Get "/metrics/prometheus", MONITORING, Current, Public, None, "Prometheus text exposition (format 0.0.4)"),
        route!(Get "/metrics/{metric_name}", MONITORING, Current, Public, None, "Samples and statistics of one series over a window", query = MINUTES),
        route!(Get "/stats", MONITORING, Current, Public, None, "Status, time series and summary over a window", query = MINUTES),
        route!(Get "/openapi.json", MONITORING, Current, Public, None, "This OpenAPI document"),
        route!(Get "/docs", MONITORING, Current, Public, None, "Browsable API documentation (offline HTML)"),
        // Sessions (rows 4-21).
        route!(Post "/sessions", SESSIONS, Current, Token, Json, "Create a session on a node"),
        route!(Get "/sessions/count", SESSIONS, Current, Token, None, "Number of live sessions"),
        route!(Get "/sessions/{session_id}/exists", SESSIONS, Current, Token, None, "Whether a session exists (does not extend its TTL)"),
        route!(Get "/sessions/{session_id}", SESSIONS, Current, Token, None, "Session info"),
        route!(Delete "/sessions/{session_id}", SESSIONS, Current, Token, None, "Delete a session"),
        route!(Get "/sessions/{session_id}/config", SESSIONS, Current, Token, None, "Effective session configuration"),
        route!(Post "/sessions/{session_id}/config", SESSIONS, Current, Token, Json, "Update the session configuration", limited = true),
        route!(Post "/sessions/{session_id}/extend", SESSIONS, Current, Token, None, "Set the expiry to now + ttl_seconds",
            query = &[("ttl_seconds", Type::Integer, "New time to live in seconds (default 3600).")]),
        route!(Post "/sessions/{session_id}/observe", SESSIONS, Current, Token, Json, "Observe one event", limited = true),
        route!(Post "/sessions/{session_id}/observe-sequence", SESSIONS, Current, Token, Json, "Observe a list of events, optionally learning", limited = true),
        route!(Get "/sessions/{session_id}/stm", SESSIONS, Current, Token, None, "Short-term memory"),
        route!(Post "/sessions/{session_id}/learn", SESSIONS, Current, Token, None, "Learn a pattern from the STM", limited = true),
        route!(Post "/sessions/{session_id}/finalize-training", SESSIONS, Current, Token, None, "Finalize training of the node", limited = true),
        route!(Post "/sessions/{session_id}/clear-stm", SESSIONS, Current, Token, OptionalJson, "Clear the STM and accumulators", limited = true),
        route!(Post "/sessions/{session_id}/clear-all", SESSIONS, Current, Token, None, "Clear the session and the node's whole knowledge base (admin)", limited = true),
        route!(Get "/sessions/{session_id}/predictions", SESSIONS, Current, Token, None, "Predictions for the current STM",
            query = &[("unique_id", Type::String, "Accepted and ignored (upstream test fixtures send it).")], limited = true),
        route!(Get "/sessions/{session_id}/percept-data", SESSIONS, Current, Token, None, "The last observation's percept data"),
        route!(Get "/sessions/{session_id}/cognition-data", SESSIONS, Current, Token, None, "The session's cognition data"),
        // Node-scoped reads (rows 23-28) and introspection (rows 32-36).
        route!(Get "/pattern/{pattern_id}", NODES, Current, Token, None, "A pattern of a node (200 with status error when unknown)", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/percept-data", NODES, Current, Token, None, "Deprecated node-level percept data", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/cognition-data", NODES, Current, Token, None, "Deprecated node-level cognition data", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/symbols/affinity", NODES, Current, Token, None, "Emotive affinity of every symbol", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/symbols/stats", NODES, Current, Token, None, "Frequency statistics of every symbol", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/symbols/{symbol}/affinity", NODES, Current, Token, None, "Emotive affinity of one symbol", query = NODE_ID, headers = NODE_SELECTORS),
        route!(Get "/concurrency", INTROSPECTION, Current, Token, None, "Concurrency figures"),
        route!(Get "/cache/stats", INTROSPECTION, Current, Token, None, "Cache statistics (no prediction cache here)"),
        route!(Post "/cache/invalidate", INTROSPECTION, Current, Token, None, "Cache invalidation (no prediction cache here)",
            query = &[("session_id", Type::String, "Session whose cache entries to drop.")]),
        route!(Get "/distributed-stm/stats", INTROSPECTION, Current, Token, None, "Distributed STM statistics"),
        route!(Get "/connection-pools", INTROSPECTION, Current, Token, None, "Connection-pool statistics"),
        // The seeds' v2 surface (API.md §2.2).
        route!(Post "/v2/sessions", V2, V2, Token, Json, "Create a session"),
        route!(Get "/v2/sessions/{session_id}", V2, V2, Token, None, "Session info"),
        route!(Delete "/v2/sessions/{session_id}", V2, V2, Token, None, "Delete a session"),
        route!(Post "/v2/sessions/{session_id}/observe", V2, V2, Token, Json, "Observe one event", limited = true),
        route!(Get "/v2/sessions/{session_id}/stm", V2, V2, Token, None, "Short-term memory"),
        route!(Post "/v2/sessions/{session_id}/learn", V2, V2, Token, None, "Learn a pattern from the STM", limited = true),
        route!(Post "/v2/sessions/{session_id}/clear-stm", V2, V2, Token, OptionalJson, "Clear the STM", limited = true),
        route!(Get "/v2/sessions/{session_id}/predictions", V2, V2, Token, None, "Predictions for the current STM", limited = true),
        route!(Get "/v2/sessions/{session_id}/config", V2, V2, Token, None, "Effective session configuration"),
        route!(Post "/v2/sessions/{session_id}/config", V2, V2, Token, Json, "Update the session configuration", limited = true),
        route!(Post "/v2/sessions/{session_id}/extend", V2, V2, Token, None, "Set the expiry to now + ttl_seconds",
            query = &[("ttl_seconds", Type::Integer, "New time to live in seconds (default 3600).")]),
        route!(Get "/v2/health", V2, V2, Public, None, "Health (v2 body)"),
        route!(Get "/v2/status", V2, V2, Public, None, "Status (v2 body)"),
        route!(Get "/v2/metrics", V2, V2, Public, None, "Metrics summary (v2 body)"),
        // The v1 fallback (API.md product decision 1).
        route!(Post "/observe", V1, V1, Token, Json, "Observe one event in the caller's session", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Get "/stm", V1, V1, Token, None, "Short-term memory", query = V1_QUERY, headers = V1_HEADERS),
        route!(Get "/short-term-memory", V1, V1, Token, None, "Short-term memory (alias)", query = V1_QUERY, headers = V1_HEADERS),
        route!(Post "/learn", V1, V1, Token, None, "Learn a pattern from the STM", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/clear-stm", V1, V1, Token, OptionalJson, "Clear the STM", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/clear-short-term-memory", V1, V1, Token, OptionalJson, "Clear the STM (alias)", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/clear-all", V1, V1, Token, OptionalJson, "Clear the session and the node's knowledge base (admin)", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/clear-all-memory", V1, V1, Token, OptionalJson, "Clear everything (alias)", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Get "/predictions", V1, V1, Token, None, "Predictions for the current STM", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/predictions", V1, V1, Token, OptionalJson, "Predictions for the current STM", query = V1_QUERY, headers = V1_HEADERS, limited = true),
        route!(Post "/observe-sequence", V1, V1, Token, Json, "Observe a list of events", query = V1_QUERY, headers = V1_HEADERS, limited = true),
    ]
}

/// Path parameters of a template (`{name}` segments).
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn operation_id(route: &Route) -> String {
    let method = match route.method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Patch => "patch",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    };
    let path: String = route
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = path.trim_matches('_');
    if path.is_empty() {
        format!("{method}_root")
    } else {
        format!("{method}_{path}")
    }
}

fn json_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                .build(),
        )
        .build()
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(operation_id(route)))
        .summary(Some(route.summary))
        .tag(route.tag);
    for name in path_parameters(route.path) {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    for (name, kind, description) in route.query {
        op = op.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(*description))
                .schema(Some(ObjectBuilder::new().schema_type(kind.clone()))),
        );
    }
    for (name, description) in route.headers {
        op = op.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(*description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if route.body != Body::None {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                        .build(),
                )
                .required(Some(if route.body == Body::Json {
                    Required::True
                } else {
                    Required::False
                }))
                .build(),
        ));
    }
    let text = route.path == "/metrics/prometheus" || route.path == "/docs";
    op = if text {
        let media = if route.path == "/docs" {
            "text/html"
        } else {
            "text/plain; version=0.0.4"
        };
        op.response(
            "200",
            ResponseBuilder::new()
                .description("OK")
                .content(
                    media,
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                )
                .build(),
        )
    } else {
        op.response("200", json_response("OK"))
    };
    let error_shape = match route.surface {
        Surface::V2 => "seeds' structured error body",
        Surface::Current | Surface::V1 => "upstream error body",
    };
    if route.access == Access::Token {
        op = op
            .response(
                "401",
                json_response(&format!("Missing or invalid credentials ({error_shape})")),
            )
            .response(
                "403",
                json_response(&format!(
                    "Another subject's session, a node or scope the credentials lack ({error_shape})"
                )),
            )
            .securities(Some([
                SecurityRequirement::new("bearer", Vec::<String>::new()),
                SecurityRequirement::new("api_key", Vec::<String>::new()),
            ]));
    } else {
        // An empty requirement: no credentials needed.
        op = op.securities(Some([SecurityRequirement::default()]));
    }
    if route.path.contains("{session_id}") || route.surface == Surface::V1 {
        op = op.response(
            "404",
            json_response(&format!("Unknown or expired session ({error_shape})")),
        );
    }
    if route.path == "/metrics/{metric_name}" {
        op = op.response(
            "404",
            json_response("No data for that series in the window"),
        );
    }
    if route.path == "/health/ready" {
        op = op.response("503", json_response("Not ready: a backend check failed"));
    }
    if route.body != Body::None || !route.query.is_empty() {
        let (status, what) = match route.surface {
            Surface::V2 => ("400", "Invalid body or query (KATO_VALIDATION_ERROR)"),
            Surface::Current | Surface::V1 => ("422", "Invalid body or query (FastAPI shape)"),
        };
        op = op.response(status, json_response(what));
    }
    if route.body != Body::None {
        op = op.response("413", json_response("Body larger than KATO_MAX_BODY_BYTES"));
    }
    if route.limited {
        op = op.response(
            "429",
            json_response(
                "Over the session or subject rate limit; see Retry-After. Nothing was applied.",
            ),
        );
    }
    op.build()
}

/// The OpenAPI document of every route.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for route in routes() {
        let operation = operation(&route);
        paths.add_path_operation(route.path, vec![route.method], operation);
    }
    let components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "HS256/RS256/ES256 JWT with sub and exp (PROTOCOL.md §3).",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        )
        .build();
    let tag = |name: &str, description: &str| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    };
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("KATO real-time server")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Three REST surfaces over the same sessions and engine: the upstream-compatible \
                     current API, the seeds' /v2 API and the v1 fallback. Bodies are described \
                     loosely here; API.md gives their exact shapes.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .tags(Some([
            tag(MONITORING, "Health, probes, metrics and documentation (no token needed)."),
            tag(SESSIONS, "The upstream session API (current surface)."),
            tag(NODES, "Node-scoped knowledge-base reads (current surface)."),
            tag(INTROSPECTION, "Upstream infrastructure introspection (current surface)."),
            tag(V2, "The seeds' /v2 surface, with the structured error body."),
            tag(V1, "The v1 fallback: the caller's default session or X-Session-ID."),
        ]))
        .build()
}

/// The document serialised once per process (it never changes while running).
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::to_string(&document()).unwrap_or_else(|error| {
            tracing::error!(%error, "OpenAPI serialisation failed");
            "{}".to_string()
        })
    })
}

/// The `/docs` page: plain HTML, CSS and script, all inline. It fetches `/openapi.json` from
/// this server and lists every operation by tag, with a form to try it; nothing is loaded from
/// anywhere else, so it works offline. Document text is inserted with `textContent` only.
pub const DOCS_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KATO API</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .4rem 0; }
summary { cursor: pointer; padding: .4rem .6rem; font-family: ui-monospace, monospace; }
.m { display: inline-block; min-width: 4.5rem; font-weight: bold; }
.GET { color: #1565c0; } .POST { color: #2e7d32; } .DELETE { color: #c62828; }
.s { color: #555; font-family: system-ui, sans-serif; margin-left: .5rem; }
.body { padding: .4rem .8rem; } table { border-collapse: collapse; } td { padding: .1rem .6rem .1rem 0; vertical-align: top; }
textarea, input { font-family: ui-monospace, monospace; width: 100%; box-sizing: border-box; }
pre { background: #f6f6f6; padding: .5rem; overflow: auto; max-height: 24rem; }
#auth { margin: 1rem 0; }
</style>
</head>
<body>
<h1 id="title">KATO API</h1>
<p id="description"></p>
<div id="auth"><label>Token for "try it" (sent as Authorization: Bearer; kept in this page only)
<input id="token" type="password" autocomplete="off"></label></div>
<div id="operations">Loading /openapi.json ...</div>
<script>
"use strict";
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function tryIt(path, method, op, box) {
  const form = el("div");
  const inputs = {};
  for (const p of op.parameters || []) {
    const label = el("label", p.name + " (" + p.in + ")");
    const input = el("input");
    inputs[p.name] = [p, input];
    label.appendChild(input);
    form.appendChild(label);
  }
  let body = null;
  if (op.requestBody) {
    body = el("textarea");
    body.rows = 5;
    body.value = "{}";
    form.appendChild(el("div", "JSON body"));
    form.appendChild(body);
  }
  const send = el("button", "Send");
  const out = el("pre");
  send.onclick = async function () {
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [name, [p, input]] of Object.entries(inputs)) {
      if (!input.value) continue;
      if (p.in === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
      else if (p.in === "query") query.append(name, input.value);
      else if (p.in === "header") headers[name] = input.value;
    }
    const token = document.getElementById("token").value;
    if (token) headers["Authorization"] = "Bearer " + token;
    const init = { method: method.toUpperCase(), headers: headers };
    if (body) { init.body = body.value; headers["Content-Type"] = "application/json"; }
    const qs = query.toString();
    try {
      const r = await fetch(url + (qs ? "?" + qs : ""), init);
      const text = await r.text();
      out.textContent = r.status + " " + r.statusText + "\n\n" + text;
    } catch (e) { out.textContent = String(e); }
  };
  form.appendChild(send);
  form.appendChild(out);
  box.appendChild(form);
}
function render(doc) {
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("description").textContent = doc.info.description || "";
  const root = document.getElementById("operations");
  root.textContent = "";
  const byTag = new Map();
  for (const t of doc.tags || []) byTag.set(t.name, { description: t.description, ops: [] });
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ["get", "post", "put", "patch", "delete"]) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, { description: "", ops: [] });
      byTag.get(tag).ops.push([path, method, op]);
    }
  }
  for (const [tag, group] of byTag) {
    root.appendChild(el("h2", tag));
    if (group.description) root.appendChild(el("p", group.description));
    for (const [path, method, op] of group.ops) {
      const d = el("details");
      const s = el("summary");
      s.appendChild(el("span", method.toUpperCase(), "m " + method.toUpperCase()));
      s.appendChild(document.createTextNode(path));
      s.appendChild(el("span", op.summary || "", "s"));
      d.appendChild(s);
      const box = el("div", undefined, "body");
      const open = op.security && op.security.some(function (r) { return Object.keys(r).length === 0; });
      box.appendChild(el("p", open ? "No credentials needed." : "Needs a bearer token or X-API-Key."));
      const table = el("table");
      for (const [code, resp] of Object.entries(op.responses || {})) {
        const row = el("tr");
        row.appendChild(el("td", code));
        row.appendChild(el("td", resp.description || ""));
        table.appendChild(row);
      }
      box.appendChild(table);
      let tried = false;
      d.addEventListener("toggle", function () {
        if (d.open && !tried) { tried = true; tryIt(path, method, op, box); }
      });
      d.appendChild(box);
      root.appendChild(d);
    }
  }
}
fetch("/openapi.json").then(function (r) { return r.json(); }).then(render).catch(function (e) {
  document.getElementById("operations").textContent = "Could not load /openapi.json: " + e;
});
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_unique_operation() {
        let routes = routes();
        let mut ids: Vec<String> = routes.iter().map(operation_id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate operation ids");
        let doc: serde_json::Value =
            serde_json::from_str(document_json()).expect("document is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let count: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item.as_object().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(count, routes.len(), "every route is one operation");
        assert_eq!(
            doc["paths"]["/sessions/{session_id}/observe"]["post"]["parameters"][0]["name"],
            "session_id"
        );
        assert_eq!(
            doc["paths"]["/health"]["get"]["security"],
            serde_json::json!([{}])
        );
    }

    #[test]
    fn docs_page_is_self_contained() {
        assert!(!DOCS_HTML.contains("http://") && !DOCS_HTML.contains("https://"));
        assert!(DOCS_HTML.contains("fetch(\"/openapi.json\")"));
        assert!(!DOCS_HTML.contains("innerHTML"));
    }
}
