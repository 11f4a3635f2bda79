//! Command line: `kato-server` (serve), `kato-server token ...` (mint a JWT with the configured
//! secret), `kato-server shell` (the engine shell on stdin/stdout).

use std::sync::Arc;

use anyhow::Context;

use crate::app::Application;
use crate::auth::jwt::{mint_hs256, now_seconds, Claims};
use crate::config::Settings;
use crate::shell::Shell;
use crate::store::embedded::EmbeddedBackend;
use crate::store::log::LogOptions;
use crate::store::KnowledgeBases;
use crate::telemetry;

const USAGE: &str = "usage:
  kato-server                     serve HTTP/WebSocket (settings from KATO_* variables)
  kato-server token --sub SUBJECT [--ttl SECONDS] [--nodes a,b|*] [--scope \"observe learn\"] [--sid SESSION]
                                  print an HS256 JWT signed with KATO_JWT_SECRET
                                  (refused when the server is set up for RS256/ES256)
  kato-server shell               the engine shell: JSON commands on stdin
  kato-server --help";

pub fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("token") => token(&args[1..]),
        Some("shell") => shell(),
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn serve() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init_tracing(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        // The first stdout line is the address (scripts and tests read it).
        println!("kato-server listening on http://{}:{}", app.host(), app.port());
        if let Some(dev) = app.dev_token() {
            println!(
                "no KATO_JWT_SECRET configured: generated a random one for this process.\n\
                 development token (subject '{}', all scopes, valid {} h; it dies with this process):\n{}",
                dev.subject,
                dev.expires_in_seconds / 3600,
                dev.token
            );
        }
        app.run_until_stopped().await?;
        anyhow::Ok(())
    })
}

fn token(args: &[String]) -> anyhow::Result<()> {
    let mut sub = None;
    let mut ttl = 3600u64;
    let mut nodes = None;
    let mut scope = None;
    let mut sid = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--sub" => sub = Some(value()?),
            "--ttl" => ttl = value()?.parse().context("--ttl takes seconds")?,
            "--nodes" => {
                let raw = value()?;
                nodes = Some(if raw == "*" {
                    serde_json::Value::String(raw)
                } else {
                    serde_json::Value::Array(
                        raw.split(',')
                            .map(|n| serde_json::Value::String(n.trim().to_string()))
                            .collect(),
                    )
                });
            }
            "--scope" => scope = Some(value()?),
            "--sid" => sid = Some(value()?),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => anyhow::bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let settings = Settings::load()?;
    if settings.jwt_public_key.is_some() || settings.jwt_jwks_file.is_some() {
        anyhow::bail!(
            "this server verifies RS256/ES256 tokens (KATO_JWT_PUBLIC_KEY or KATO_JWT_JWKS_FILE is set); \
             `kato-server token` signs only HS256 tokens with KATO_JWT_SECRET and cannot sign these: \
             mint tokens with the holder of the private key (your identity provider)"
        );
    }
    let secret = settings
        .jwt_secret
        .clone()
        .filter(|s| !s.is_empty())
        .context("set KATO_JWT_SECRET (the server's HS256 secret) to mint tokens")?;
    let now = now_seconds();
    let claims = Claims {
        sub: sub.context("--sub is required")?,
        exp: now + ttl,
        nbf: None,
        iat: Some(now),
        aud: settings.jwt_audience.clone().map(serde_json::Value::String),
        iss: settings.jwt_issuer.clone(),
        nodes,
        sid,
        scope,
    };
    println!(
        "{}",
        mint_hs256(secret.as_bytes(), &claims).map_err(anyhow::Error::msg)?
    );
    Ok(())
}

fn shell() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let backend = EmbeddedBackend::open(&settings.data_dir, LogOptions::default())?;
    eprintln!(
        "kato-server engine shell: knowledge bases in {} (fsync per learn). One JSON command per line, e.g.\n  {{\"op\":\"observe\",\"session\":\"s1\",\"node\":\"demo\",\"strings\":[\"hello\"]}}",
        settings.data_dir.display()
    );
    let kbs = Arc::new(KnowledgeBases::new(Arc::new(backend)));
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    Shell::new(kbs).run(stdin.lock(), stdout.lock())?;
    Ok(())
}
