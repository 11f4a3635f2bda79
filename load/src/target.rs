//! Where the load goes and how a connection is opened: the server's base URL (loopback only
//! unless `--allow-remote`), the WebSocket upgrade with `Authorization: Bearer`, Nagle off.
//! Never prints a token; never connects anywhere the user did not name.

use std::net::IpAddr;

use anyhow::{bail, Context};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open WebSocket to the server.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server's base address (`ws://host:port`), checked once.
#[derive(Debug, Clone)]
pub struct Target {
    base: String,
}

impl Target {
    /// Accepts `ws://` or `http://` URLs (a path is ignored: endpoints
    /// are chosen by mode). Non-loopback hosts are refused unless `allow_remote`.
    pub fn parse(url: &str, allow_remote: bool) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("bad --url {url:?}"))?;
        let scheme = match uri.scheme_str() {
            Some("ws") | Some("http") => "ws",
            Some("wss") | Some("https") => bail!("TLS targets are not supported (loopback only)"),
            _ => bail!("--url must start with ws:// or http://"),
        };
        let Some(authority) = uri.authority() else {
            bail!("--url has no host");
        };
        let host = authority.host();
        if !allow_remote && !is_loopback(host) {
            bail!(
                "refusing to load {host}: only loopback targets (127.0.0.0/8, ::1, localhost) unless --allow-remote"
            );
        }
        Ok(Target {
            base: format!("{scheme}://{authority}"),
        })
    }

    /// The URL of an endpoint path such as `/v2/ws`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Opens a WebSocket to `path`, with `Authorization: Bearer <token>` when given.
    pub async fn connect(&self, path: &str, token: Option<&str>) -> anyhow::Result<Socket> {
        let mut request = self.url(path).into_client_request()?;
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .context("token is not a valid header value")?;
            request.headers_mut().insert("authorization", value);
        }
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|e| anyhow::anyhow!("connect {path}: {e}"))?;
        Ok(socket)
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_by_default() {
        for ok in [
            "ws://127.0.0.1:8000",
            "http://localhost:1",
            "ws://[::1]:80/x",
            "ws://127.1.2.3:9",
        ] {
            assert!(Target::parse(ok, false).is_ok(), "{ok}");
        }
        for refused in ["ws://10.0.0.1:8000", "ws://example.com", "ws://0.0.0.0:80"] {
            assert!(Target::parse(refused, false).is_err(), "{refused}");
            assert!(Target::parse(refused, true).is_ok(), "{refused}");
        }
        assert!(Target::parse("ftp://127.0.0.1", false).is_err());
        assert_eq!(
            Target::parse("http://127.0.0.1:8000/ignored", false)
                .unwrap()
                .url("/v2/ws"),
            "ws://127.0.0.1:8000/v2/ws"
        );
    }
}
