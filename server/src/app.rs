//! The application: builds the shared state from the settings, wires the surfaces, binds the
//! listener (port 0 in tests; [`Application::port`] reports the real one) and runs until
//! stopped. On SIGINT/SIGTERM it shuts down gracefully: WebSocket upgrades are refused, every
//! connection finishes its in-flight command and is closed 4000 (up to
//! `ws_shutdown_grace_seconds`), then actix-web stops accepting and lets in-flight HTTP
//! requests finish (up to the shutdown timeout) before the process exits.

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpServer, ResponseError};

use crate::api::{self, ApiError, Surface};
use crate::auth::{Authenticator, DevToken};
use crate::config::{AuthMode, Settings};
use crate::session::{SessionLimits, SessionService};
use crate::store::embedded::EmbeddedBackend;
use crate::store::log::LogOptions;
use crate::store::KnowledgeBases;
use crate::telemetry;

/// Seconds in-flight requests get to finish on shutdown.
pub const SHUTDOWN_TIMEOUT_SECONDS: u64 = 10;

/// Everything handlers share. One instance per process, behind `web::Data`.
pub struct AppState {
    pub settings: Settings,
    pub sessions: SessionService,
    pub auth: Authenticator,
    pub limits: api::input::InputLimits,
    pub started: Instant,
    /// Random id of this process, for `/status` and `welcome.server.instance`.
    pub instance: String,
    pub metrics: Arc<telemetry::metrics::Metrics>,
    /// The v1 surface's per-caller default sessions.
    pub v1_defaults: api::v1::DefaultSessions,
    /// WebSocket connections: live count, ids, shutdown signal.
    pub ws: crate::ws::WsRuntime,
}

pub struct Application {
    server: Server,
    port: u16,
    host: String,
    dev_token: Option<DevToken>,
    sweeper: tokio::task::JoinHandle<()>,
    state: web::Data<AppState>,
}

/// A rate or burst setting as governor wants it (0 is refused by `Settings::validate`; 1 here
/// only keeps the type total).
pub(crate) fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

impl Application {
    /// Builds the state and binds the listener. Must run inside a Tokio runtime.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        for (name, value) in [
            ("KATO_REDIS_URL", &settings.redis_url),
            ("KATO_MONGO_URL", &settings.mongo_url),
            ("KATO_QDRANT_URL", &settings.qdrant_url),
        ] {
            if value.is_some() {
                anyhow::bail!("{name} is set, but this build supports only the embedded stores so far; unset it");
            }
        }
        if settings.auth == AuthMode::Disabled {
            tracing::warn!("authentication is DISABLED (KATO_AUTH=disabled): every caller is 'anonymous' with every scope; never use this in production");
        }
        if settings.dev_echo {
            tracing::warn!("the development echo WebSocket /dev/echo is ON (KATO_DEV_ECHO=true): it is unauthenticated; never use this in production");
        }
        let (auth, dev_token) =
            Authenticator::from_settings(&settings).map_err(anyhow::Error::msg)?;
        let backend = EmbeddedBackend::open(&settings.data_dir, LogOptions::default())?;
        let kbs = Arc::new(KnowledgeBases::new(Arc::new(backend)));
        let sessions = SessionService::new(
            kbs,
            settings.engine.clone(),
            SessionLimits {
                default_ttl: Duration::from_secs(settings.session_ttl_seconds),
                max_ttl: Duration::from_secs(settings.session_max_ttl_seconds),
                max_sessions: settings.max_sessions,
                session_per_second: nonzero(settings.rate_session_per_second),
                session_burst: nonzero(settings.rate_session_burst),
                subject_per_second: nonzero(settings.rate_subject_per_second),
                subject_burst: nonzero(settings.rate_subject_burst),
                stream: crate::session::StreamLimits {
                    history_len: settings.event_history_len,
                    history_bytes: settings.event_history_bytes,
                    history_age: Duration::from_secs(settings.event_history_seconds),
                    idempotency_window: settings.idempotency_window,
                },
            },
        );
        let sweeper = sessions.spawn_sweeper(Duration::from_secs(settings.session_sweep_seconds));
        let metrics = Arc::new(telemetry::metrics::Metrics::with_history(
            settings.metrics_history_samples(),
        ));
        sessions.set_observer(metrics.clone());
        telemetry::metrics::spawn_sampler(
            &metrics,
            sessions.clone(),
            settings.data_dir.clone(),
            Duration::from_secs(settings.metrics_sample_seconds),
        );
        let listener = TcpListener::bind(&settings.bind)?;
        let address = listener.local_addr()?;
        let state = web::Data::new(AppState {
            limits: api::input::InputLimits::from(&settings),
            settings,
            sessions,
            auth,
            started: Instant::now(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            metrics,
            v1_defaults: api::v1::DefaultSessions::default(),
            ws: crate::ws::WsRuntime::default(),
        });
        let max_body = state.settings.max_body_bytes;
        let app_state = state.clone();
        let dev_echo = state.settings.dev_echo;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .wrap(
                    ErrorHandlers::new()
                        .handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed_body),
                )
                .wrap(from_fn(telemetry::request_metrics))
                .wrap(from_fn(telemetry::trace_id))
                .wrap(tracing_actix_web::TracingLogger::<telemetry::RequestSpan>::new())
                .service(
                    web::scope("/v2")
                        .app_data(Surface::V2)
                        .configure(api::v2::configure)
                        .configure(crate::ws::configure),
                )
                .configure(crate::ws::configure)
                // Upstream's event stream, at the root only (API.md §3.1).
                .configure(crate::ws::events::configure)
                .configure(|cfg| {
                    if dev_echo {
                        crate::dev_echo::configure(cfg);
                    }
                })
                // v1 first: its `/pattern/{id}`, `/percept-data` and `/cognition-data` answer
                // only requests with `X-Session-ID` (a guard) and leave the rest to `current`.
                .configure(api::v1::configure)
                .configure(api::current::configure)
                .default_service(web::to(api::error::not_found))
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
        // Signals are handled in `run_until_stopped`, so WebSockets close before HTTP stops.
        .disable_signals()
        // Replies are written as soon as they are ready: with Nagle on, a WebSocket reply that
        // spans several segments waits for the peer's delayed ACK (~40 ms on Linux).
        .tcp_nodelay(true)
        .listen(listener)?
        .run();
        Ok(Application {
            server,
            port: address.port(),
            host: address.ip().to_string(),
            dev_token,
            sweeper,
            state: app_state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The development token generated when no JWT key was configured.
    pub fn dev_token(&self) -> Option<&DevToken> {
        self.dev_token.as_ref()
    }

    /// Serves until SIGINT/SIGTERM, then shuts down gracefully (see the module comment).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        let stopper = tokio::spawn(async move {
            shutdown_signal().await;
            let live = state.ws.live();
            tracing::info!(
                websocket_connections = live,
                "shutdown requested: closing WebSocket connections with 4000"
            );
            state.ws.begin_shutdown();
            let grace = Duration::from_secs(state.settings.ws_shutdown_grace_seconds);
            let left = state.ws.drained(grace).await;
            if left > 0 {
                tracing::warn!(
                    left,
                    "WebSocket connections still open after the grace period"
                );
            }
            handle.stop(true).await;
        });
        let result = self.server.await;
        stopper.abort();
        self.sweeper.abort();
        result
    }
}

fn json_error(error: actix_web::error::JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let api_error = match &error {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => {
            ApiError::new(req, api::error::ApiErrorKind::TooLarge { limit: *limit })
        }
        JsonPayloadError::ContentType => {
            ApiError::body(req, "body", "Content-Type must be application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => {
            ApiError::json_invalid(req, e)
        }
        other => ApiError::body(req, "body", format!("JSON decode error: {other}")),
    };
    api_error.into()
}

/// A resource that has no route for the request's method answers 405 with an empty body;
/// give it the surface's error body (API.md §1.1: `{"detail":"Method Not Allowed"}`), keeping
/// the `Allow` header. A 405 a handler rendered itself is left alone.
fn method_not_allowed_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if !matches!(
        res.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    ) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, res) = res.into_parts();
    let mut rendered = ApiError::http(
        &req,
        kato_protocol::ErrorCode::MethodNotAllowed,
        "Method Not Allowed",
    )
    .error_response();
    if let Some(allow) = res.headers().get(header::ALLOW) {
        rendered.headers_mut().insert(header::ALLOW, allow.clone());
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, rendered).map_into_right_body(),
    ))
}

fn query_error(error: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    ApiError::body(req, "query", error.to_string()).into()
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
