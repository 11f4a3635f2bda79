//! Mints the HS256 JWTs the load connections authenticate with, from the server's shared
//! secret: `sub` (one subject per connection, so per-subject rate limits do not couple them),
//! `exp`, `iat` and `scope`. Never prints or logs a token or the secret.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Scopes every load token carries (no `admin`).
pub const SCOPE: &str = "observe learn watch";

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    exp: u64,
    iat: u64,
    scope: &'static str,
}

/// Signs tokens with one secret.
pub struct Minter {
    key: EncodingKey,
    valid_for_s: u64,
}

impl Minter {
    /// Tokens valid for `valid_for_s` seconds from the moment they are minted.
    pub fn new(secret: &str, valid_for_s: u64) -> Self {
        Minter {
            key: EncodingKey::from_secret(secret.as_bytes()),
            valid_for_s,
        }
    }

    pub fn token(&self, subject: &str) -> anyhow::Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            sub: subject,
            exp: now + self.valid_for_s,
            iat: now,
            scope: SCOPE,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .context("signing a token")
    }
}
