//! The upstream-compatible node-scoped routes (API.md §1.2 rows 23–28 and 32–36): pattern
//! lookup, symbol statistics and affinity, the deprecated node-level percept/cognition stubs,
//! and minimal bodies for upstream's Python-infrastructure introspection routes. Reads only:
//! nothing here changes a knowledge base or a session.

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{bodies, ApiError, Caller};
use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::engine::kb::NodeKb;
use crate::session::ServiceError;
use crate::telemetry::rfc3339_now;

/// Upstream's `SERVICE_NAME`, the suffix of every kb_id.
const SERVICE_NAME: &str = "kato";
/// Node of a node-scoped request that names none (upstream's default).
const DEFAULT_NODE: &str = "default_node";
/// Longest kb_id before upstream shortens it with a hash.
const MAX_KB_ID_CHARS: usize = 60;

/// Registers the node-scoped routes (one resource per path, so a wrong method is a 405).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str, route: actix_web::Route| web::resource(path).route(route);
    cfg.service(resource("/pattern/{pattern_id}", web::get().to(pattern)))
        .service(resource("/percept-data", web::get().to(percept_data)))
        .service(resource("/cognition-data", web::get().to(cognition_data)))
        .service(resource(
            "/symbols/affinity",
            web::get().to(symbol_affinities),
        ))
        .service(resource("/symbols/stats", web::get().to(symbol_stats)))
        .service(resource(
            "/symbols/{symbol}/affinity",
            web::get().to(symbol_affinity),
        ))
        .service(resource("/concurrency", web::get().to(concurrency)))
        .service(resource("/cache/stats", web::get().to(cache_stats)))
        .service(resource(
            "/cache/invalidate",
            web::post().to(cache_invalidate),
        ))
        .service(resource(
            "/distributed-stm/stats",
            web::get().to(distributed_stm_stats),
        ))
        .service(resource(
            "/connection-pools",
            web::get().to(connection_pools),
        ));
}

#[derive(Debug, Deserialize)]
struct NodeQuery {
    node_id: Option<String>,
}

/// The node a node-scoped request means (API.md §1.1 "node routing"): `?node_id=`, else
/// `x-test-id` (prefixed `test_`), else `x-node-id`, else `default_node`.
fn requested_node(query: &NodeQuery, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if let Some(node) = query.node_id.clone() {
        return node;
    }
    if let Some(test_id) = header("x-test-id") {
        return if test_id.starts_with("test_") {
            test_id
        } else {
            format!("test_{test_id}")
        };
    }
    header("x-node-id").unwrap_or_else(|| DEFAULT_NODE.to_string())
}

/// Upstream's internal knowledge-base id, which node-scoped responses return as `node_id`
/// (API.md §1.1 "kb_id").
pub fn kb_id(node: &str) -> String {
    let sanitized: String = node
        .chars()
        .map(|c| match c {
            '/' | '\\' | '.' | '"' | '$' | '*' | '<' | '>' | ':' | '|' | '?' | '-' | ' ' => '_',
            other => other,
        })
        .collect();
    let full = format!("{sanitized}_{SERVICE_NAME}");
    if full.chars().count() <= MAX_KB_ID_CHARS {
        return full;
    }
    let keep = MAX_KB_ID_CHARS - SERVICE_NAME.len() - 10;
    let head: String = sanitized.chars().take(keep).collect();
    let digest = md5_hex(node.as_bytes());
    format!("{head}_{}_{SERVICE_NAME}", &digest[..8])
}

/// Runs `read` on the requested node's knowledge base for an authenticated caller with the
/// `observe` scope and access to that node.
async fn read_node<R: Send + 'static>(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    node: &str,
    read: impl FnOnce(&NodeKb) -> R + Send + 'static,
) -> Result<R, ApiError> {
    if !principal.has(Scope::Observe) {
        return Err(ApiError::service(
            req,
            ServiceError::Forbidden("the credentials lack the 'observe' scope".into()),
        ));
    }
    state
        .sessions
        .node_read(principal, node, read)
        .await
        .map_err(|e| match e {
            ServiceError::Validation { field, message } => ApiError::body(req, &field, message),
            other => ApiError::service(req, other),
        })
}

/// Answers `read`'s object plus `node_id` (the node's kb_id) for the node the request means
/// (the shape of every node-scoped read).
async fn node_reply(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    query: &NodeQuery,
    read: impl FnOnce(&NodeKb) -> Map<String, Value> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let node = requested_node(query, req.headers());
    let mut body = read_node(req, state, &caller.0, &node, read).await?;
    body.insert("node_id".into(), json!(kb_id(&node)));
    Ok(HttpResponse::Ok().json(body))
}

/// One-key object `{key: value}`.
fn object(key: &str, value: Value) -> Map<String, Value> {
    Map::from_iter([(key.to_string(), value)])
}

/// `GET /pattern/{id}` (row 23): id with or without `PTRN|`. Unknown is still 200.
async fn pattern(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<NodeQuery>,
) -> Result<HttpResponse, ApiError> {
    let pattern_id = path.into_inner();
    node_reply(&req, &state, &caller, &query, move |kb| {
        object("pattern", bodies::pattern_result(kb, &pattern_id))
    })
    .await
}

/// `GET /percept-data` (row 24): deprecated upstream; percept data lives in sessions.
async fn percept_data(
    req: HttpRequest,
    _caller: Caller,
    query: web::Query<NodeQuery>,
) -> HttpResponse {
    let node = requested_node(&query, req.headers());
    HttpResponse::Ok().json(json!({
        "percept_data": {},
        "node_id": kb_id(&node),
        "warning": "This endpoint is deprecated. Use /sessions/{session_id}/percept-data for session-aware data.",
    }))
}

/// `GET /cognition-data` (row 25): deprecated upstream; cognition data lives in sessions.
async fn cognition_data(
    req: HttpRequest,
    _caller: Caller,
    query: web::Query<NodeQuery>,
) -> HttpResponse {
    let node = requested_node(&query, req.headers());
    HttpResponse::Ok().json(json!({
        "cognition_data": {
            "predictions": [],
            "emotives": {},
            "symbols": [],
            "command": "",
            "metadata": {},
            "path": [],
            "strings": [],
            "vectors": [],
            "short_term_memory": [],
        },
        "node_id": kb_id(&node),
        "warning": "This endpoint is deprecated. Use /sessions/{session_id}/cognition-data for session-aware data.",
    }))
}

/// `GET /symbols/affinity` (row 26): every symbol that has an affinity, in first-seen order.
async fn symbol_affinities(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<NodeQuery>,
) -> Result<HttpResponse, ApiError> {
    node_reply(&req, &state, &caller, &query, |kb| {
        let affinities = kb
            .symbols()
            .iter()
            .filter(|s| !s.affinity.is_empty())
            .map(|s| (s.name.to_string(), json!(s.affinity)))
            .collect();
        object("affinities", Value::Object(affinities))
    })
    .await
}

/// `GET /symbols/stats` (row 27): frequency and pattern-member frequency of every symbol.
async fn symbol_stats(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<NodeQuery>,
) -> Result<HttpResponse, ApiError> {
    node_reply(&req, &state, &caller, &query, |kb| {
        let symbols = kb
            .symbols()
            .iter()
            .map(|s| {
                let stats = json!({
                    "frequency": s.frequency,
                    "pattern_member_frequency": s.pattern_member_frequency,
                });
                (s.name.to_string(), stats)
            })
            .collect();
        object("symbols", Value::Object(symbols))
    })
    .await
}

/// `GET /symbols/{symbol}/affinity` (row 28): `{}` for an unknown symbol.
async fn symbol_affinity(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<NodeQuery>,
) -> Result<HttpResponse, ApiError> {
    let symbol = path.into_inner();
    node_reply(&req, &state, &caller, &query, move |kb| {
        let affinity = kb
            .symbol_by_name(&symbol)
            .map_or_else(|| json!({}), |s| json!(s.affinity));
        let mut body = object("symbol", json!(symbol));
        body.insert("affinity".into(), affinity);
        body
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Rows 32–36: upstream's Python-infrastructure introspection. No test reads them; this server
// has none of that machinery, so the bodies keep the shape with neutral values.

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `GET /concurrency` (row 32).
async fn concurrency(_caller: Caller) -> HttpResponse {
    let workers = workers();
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "current": {"concurrent_requests": 0, "utilization_percent": 0.0},
        "peak": {"concurrent_requests": 0, "utilization_percent": 0.0},
        "limits": {
            "per_worker": null,
            "warning_threshold": null,
            "critical_threshold": null,
            "total_capacity": null,
        },
        "configuration": {"workers": workers, "backlog": null, "max_requests": null},
        "recommendations": [],
        "timestamp": rfc3339_now(),
    }))
}

/// `GET /cache/stats` (row 33): this server keeps no prediction cache.
async fn cache_stats(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "cache_performance": {},
        "cache_health": {},
        "timestamp": rfc3339_now(),
    }))
}

#[derive(Debug, Deserialize)]
struct InvalidateQuery {
    session_id: Option<String>,
}

/// `POST /cache/invalidate?session_id=` (row 34): nothing to invalidate.
async fn cache_invalidate(_caller: Caller, query: web::Query<InvalidateQuery>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "disabled",
        "session_id": query.session_id,
        "reason": "this server keeps no prediction cache",
        "timestamp": rfc3339_now(),
    }))
}

/// `GET /distributed-stm/stats` (row 35): STM lives in the session service.
async fn distributed_stm_stats(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "disabled",
        "distributed_stm_enabled": false,
        "reason": "the STM lives in the session service of this server",
        "timestamp": rfc3339_now(),
    }))
}

/// `GET /connection-pools` (row 36): the embedded store has no connection pools.
async fn connection_pools(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "health": {"embedded_store": "healthy"},
        "pool_statistics": {},
        "timestamp": rfc3339_now(),
    }))
}

// ---------------------------------------------------------------------------------------------

/// MD5 (RFC 1321) as lowercase hex. Only used to shorten long kb_ids exactly as upstream does;
/// never for anything that needs a secure hash.
fn md5_hex(input: &[u8]) -> String {
    const SHIFTS: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let constants: Vec<u32> = (0..64)
        .map(|i: u32| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = input.to_vec();
    let bit_length = (input.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_length.to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in message.chunks_exact(64) {
        let words: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(constants[i])
                .wrapping_add(words[g])
                .rotate_left(SHIFTS[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        for (slot, value) in state.iter_mut().zip([a, b, c, d]) {
            *slot = slot.wrapping_add(value);
        }
    }
    state
        .iter()
        .flat_map(|word| word.to_le_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_rfc_1321_vectors() {
        let rows = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            (
                "The quick brown fox jumps over the lazy dog",
                "9e107d9d372bb6826bd81d3542a419d6",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(md5_hex(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn kb_ids_follow_upstream() {
        assert_eq!(kb_id("default_node"), "default_node_kato");
        assert_eq!(kb_id("a/b.c-d e:f|g"), "a_b_c_d_e_f_g_kato");
        let long = "n".repeat(70);
        let id = kb_id(&long);
        assert_eq!(id.len(), MAX_KB_ID_CHARS);
        assert!(id.starts_with(&"n".repeat(46)));
        assert_eq!(&id[47..55], &md5_hex(long.as_bytes())[..8]);
        assert!(id.ends_with("_kato"));
    }

    #[test]
    fn node_routing_prefers_query_then_test_id_then_node_id() {
        let mut headers = HeaderMap::new();
        let none = NodeQuery { node_id: None };
        assert_eq!(requested_node(&none, &headers), "default_node");
        headers.insert(
            actix_web::http::header::HeaderName::from_static("x-node-id"),
            actix_web::http::header::HeaderValue::from_static("n1"),
        );
        assert_eq!(requested_node(&none, &headers), "n1");
        headers.insert(
            actix_web::http::header::HeaderName::from_static("x-test-id"),
            actix_web::http::header::HeaderValue::from_static("t1"),
        );
        assert_eq!(requested_node(&none, &headers), "test_t1");
        headers.insert(
            actix_web::http::header::HeaderName::from_static("x-test-id"),
            actix_web::http::header::HeaderValue::from_static("test_t2"),
        );
        assert_eq!(requested_node(&none, &headers), "test_t2");
        let query = NodeQuery {
            node_id: Some("q".into()),
        };
        assert_eq!(requested_node(&query, &headers), "q");
    }
}
