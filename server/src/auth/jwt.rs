//! JWT verification (PROTOCOL.md §3): HS256 with a shared secret by default, or RS256/ES256
//! with a PEM public key or a JWKS file; exactly the configured keys' algorithms are accepted.
//! Required claims `sub`, `exp`; optional `nbf`, `iat`, `aud`/`iss` (checked when configured),
//! `nodes`, `sid`, `scope`. Claims are only looked at after the signature verified. Never logs
//! a token.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::{KeySet, KeySource};
use super::{AuthError, DevToken, NodeAccess, Principal, Scope};
use crate::config::Settings;

/// Longest token accepted (bytes); real ones are well under 2 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest `sub` accepted (bytes).
pub const MAX_SUBJECT_BYTES: usize = 512;

/// Claims of the tokens this server mints (the `token` sub-command and the development
/// token). Verification reads the claims as JSON instead, to report each problem precisely.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Node ids, or `"*"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_fractional() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Signs HS256 tokens (the `token` sub-command and the development token).
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> Result<String, String> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| format!("cannot sign token: {e}"))
}

/// Checks tokens against the configured keys and claim rules.
pub struct Verifier {
    keys: KeySet,
    audience: Option<String>,
    issuer: Option<String>,
    leeway_seconds: f64,
    require_nodes_claim: bool,
}

impl Verifier {
    /// From the settings: `jwt_public_key`, else `jwt_jwks_file`, else `jwt_secret`, else a
    /// random secret for this process plus a development token signed with it.
    pub fn from_settings(settings: &Settings) -> Result<(Self, Option<DevToken>), String> {
        let (keys, dev) = if let Some(path) = &settings.jwt_public_key {
            let setting = "jwt_public_key (KATO_JWT_PUBLIC_KEY)";
            (KeySet::from_pem_file(path, setting)?, None)
        } else if let Some(path) = &settings.jwt_jwks_file {
            let setting = "jwt_jwks_file (KATO_JWT_JWKS_FILE)";
            (KeySet::from_jwks_file(path, setting)?, None)
        } else {
            match &settings.jwt_secret {
                Some(secret) if !secret.is_empty() => {
                    if secret.len() < 32 {
                        tracing::warn!(
                            "KATO_JWT_SECRET is shorter than 32 bytes; use a long random secret"
                        );
                    }
                    (KeySet::secret(secret.as_bytes()), None)
                }
                _ => {
                    let (secret, dev) = development_secret(settings)?;
                    (KeySet::secret(&secret), Some(dev))
                }
            }
        };
        Ok((
            Verifier {
                keys,
                audience: settings.jwt_audience.clone(),
                issuer: settings.jwt_issuer.clone(),
                leeway_seconds: settings.jwt_leeway_seconds as f64,
                require_nodes_claim: settings.require_nodes_claim,
            },
            dev,
        ))
    }

    /// One line for the start-up log: which algorithms and keys are in force.
    pub fn describe(&self) -> String {
        let algs: Vec<String> = self
            .keys
            .algorithms()
            .iter()
            .map(|a| format!("{a:?}"))
            .collect();
        let source = match self.keys.source() {
            KeySource::Secret => "shared secret".to_string(),
            KeySource::PublicKeyFile => "public key file".to_string(),
            KeySource::Jwks => format!("JWKS, {} keys", self.keys.len()),
        };
        format!("JWT {} ({source})", algs.join("/"))
    }

    /// Whether this server verifies with a shared secret (so the `token` command can mint).
    pub fn uses_secret(&self) -> bool {
        self.keys.source() == KeySource::Secret
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::InvalidToken("token_too_large"));
        }
        let header = JoseHeader::parse(token)?;
        let key = self.keys.select(header.alg, header.kid.as_deref())?;
        // Signature only: every claim is checked below, after the signature verified.
        let mut validation = Validation::new(key.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data =
            decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => AuthError::InvalidToken("bad_signature"),
                    ErrorKind::InvalidAlgorithm => AuthError::InvalidToken("unexpected_algorithm"),
                    _ => AuthError::InvalidToken("malformed_token"),
                }
            })?;
        self.check_claims(&data.claims, now_fractional())
    }

    /// The registered and KATO claims of a verified token, checked at `now` (seconds).
    fn check_claims(&self, claims: &Map<String, Value>, now: f64) -> Result<Principal, AuthError> {
        let present = |name: &str| claims.get(name).filter(|v| !v.is_null());
        let time = |name: &str, invalid: &'static str| match present(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|t| t.is_finite())
                .map(Some)
                .ok_or(AuthError::InvalidToken(invalid)),
        };
        let subject = match present("sub") {
            None => return Err(AuthError::InvalidToken("missing_sub")),
            Some(Value::String(s))
                if !s.is_empty()
                    && s.len() <= MAX_SUBJECT_BYTES
                    && !s.chars().any(char::is_control) =>
            {
                s.clone()
            }
            Some(_) => return Err(AuthError::InvalidToken("invalid_sub")),
        };
        let exp = time("exp", "invalid_exp")?.ok_or(AuthError::InvalidToken("missing_exp"))?;
        let nbf = time("nbf", "invalid_nbf")?;
        let iat = time("iat", "invalid_iat")?;
        // As PyJWT: expired once `exp <= now - leeway`; not yet valid while `nbf` (or an
        // `iat` in the future) is beyond `now + leeway`.
        if exp <= now - self.leeway_seconds {
            return Err(AuthError::Expired);
        }
        for not_before in [nbf, iat].into_iter().flatten() {
            if not_before > now + self.leeway_seconds {
                return Err(AuthError::NotYetValid);
            }
        }
        if let Some(expected) = &self.issuer {
            if present("iss").and_then(Value::as_str) != Some(expected.as_str()) {
                return Err(AuthError::InvalidToken("bad_issuer"));
            }
        }
        if let Some(expected) = &self.audience {
            let matches = match present("aud") {
                Some(Value::String(aud)) => aud == expected,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
                _ => false,
            };
            if !matches {
                return Err(AuthError::InvalidToken("bad_audience"));
            }
        }
        let nodes = node_access(present("nodes"), self.require_nodes_claim)?;
        let scopes = match present("scope") {
            None => Scope::default_set(),
            Some(Value::String(raw)) => scopes_from(raw.split_whitespace()),
            // Some identity providers send scopes as a list.
            Some(Value::Array(list)) => {
                let names: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
                scopes_from(names.ok_or(AuthError::InvalidToken("invalid_scope"))?)
            }
            Some(_) => return Err(AuthError::InvalidToken("invalid_scope")),
        };
        let session = match present("sid") {
            None => None,
            Some(Value::String(sid)) if !sid.is_empty() => Some(sid.clone()),
            Some(_) => return Err(AuthError::InvalidToken("invalid_sid")),
        };
        Ok(Principal {
            subject,
            scopes,
            nodes,
            session,
            expires_at: Some(exp.max(0.0) as u64),
        })
    }
}

/// Unknown scope names are ignored (forward compatibility), never granted.
fn scopes_from<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<Scope> {
    names.into_iter().filter_map(Scope::parse).collect()
}

/// The `nodes` claim: a list of node ids or `"*"` (also `["*"]`). Absent means any node
/// unless the server requires the claim.
pub fn node_access(claim: Option<&Value>, require: bool) -> Result<NodeAccess, AuthError> {
    match claim {
        None if require => Err(AuthError::InvalidToken("missing_nodes_claim")),
        None => Ok(NodeAccess::Any),
        Some(Value::String(s)) if s == "*" => Ok(NodeAccess::Any),
        Some(Value::Array(list)) => {
            let mut nodes = BTreeSet::new();
            for node in list {
                match node.as_str() {
                    Some("*") => return Ok(NodeAccess::Any),
                    Some(n) if !n.is_empty() => {
                        nodes.insert(n.to_string());
                    }
                    _ => return Err(AuthError::InvalidToken("bad_nodes_claim")),
                }
            }
            Ok(NodeAccess::Only(nodes))
        }
        Some(_) => Err(AuthError::InvalidToken("bad_nodes_claim")),
    }
}

/// The parts of the JOSE header that select and constrain verification. Parsed by hand so
/// that `alg: none` and unknown algorithms get their own reasons.
struct JoseHeader {
    alg: Algorithm,
    kid: Option<String>,
}

impl JoseHeader {
    fn parse(token: &str) -> Result<JoseHeader, AuthError> {
        let malformed = AuthError::InvalidToken("malformed_token");
        let mut parts = token.split('.');
        let (Some(header), Some(_payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| malformed.clone())?;
        let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(malformed);
        };
        let alg = match header.get("alg") {
            Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
                return Err(AuthError::InvalidToken("alg_none"))
            }
            Some(Value::String(alg)) => Algorithm::from_str(alg)
                .map_err(|_| AuthError::InvalidToken("unexpected_algorithm"))?,
            _ => return Err(malformed),
        };
        // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
        if header.contains_key("crit") {
            return Err(AuthError::InvalidToken("unsupported_header"));
        }
        let kid = match header.get("kid") {
            None | Some(Value::Null) => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed),
        };
        // Keys embedded in the header (`jwk`, `jku`, `x5u`, `x5c`) are never used.
        Ok(JoseHeader { alg, kid })
    }
}

/// A random HS256 secret for this process and a development token signed with it.
fn development_secret(settings: &Settings) -> Result<(Vec<u8>, DevToken), String> {
    use rand::RngCore;
    let mut secret = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let expires_in_seconds = 24 * 3600;
    let claims = Claims {
        sub: "dev".into(),
        exp: now_seconds() + expires_in_seconds,
        nbf: None,
        iat: Some(now_seconds()),
        aud: settings.jwt_audience.clone().map(Value::String),
        iss: settings.jwt_issuer.clone(),
        nodes: settings
            .require_nodes_claim
            .then(|| Value::String("*".into())),
        sid: None,
        scope: Some("observe learn watch admin".into()),
    };
    let token = mint_hs256(&secret, &claims)?;
    Ok((
        secret,
        DevToken {
            token,
            subject: "dev".into(),
            expires_in_seconds,
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    const SECRET: &str = "unit-test-secret-0123456789abcdef0123";
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    fn settings() -> Settings {
        Settings {
            jwt_secret: Some(SECRET.into()),
            ..Settings::default()
        }
    }

    fn verifier(settings: &Settings) -> Verifier {
        Verifier::from_settings(settings).expect("verifier").0
    }

    fn claims(extra: Value) -> Value {
        let now = now_seconds();
        let mut claims = json!({"sub": "alice", "exp": now + 600, "iat": now});
        if let (Some(c), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                if v.is_null() {
                    c.remove(k);
                } else {
                    c.insert(k.clone(), v.clone());
                }
            }
        }
        claims
    }

    fn sign(header: Header, key: &EncodingKey, claims: &Value) -> String {
        encode(&header, claims, key).expect("sign")
    }

    fn hs(claims: &Value) -> String {
        sign(
            Header::new(Algorithm::HS256),
            &EncodingKey::from_secret(SECRET.as_bytes()),
            claims,
        )
    }

    fn rs(kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let key =
            EncodingKey::from_rsa_pem(&fixture("test-only-rsa2048-private.pem")).expect("rsa");
        sign(header, &key, claims)
    }

    fn es(file: &str, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_string);
        let key = EncodingKey::from_ec_pem(&fixture(file)).expect("ec");
        sign(header, &key, claims)
    }

    /// A token with an arbitrary header and payload and the given signature segment.
    fn raw(header: &Value, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn reason(result: Result<Principal, AuthError>) -> &'static str {
        match result {
            Ok(p) => panic!("accepted: {p:?}"),
            Err(e) => e.reason(),
        }
    }

    #[test]
    fn hs256_tokens_carry_their_claims_into_the_principal() {
        let v = verifier(&settings());
        let p = v
            .verify(&hs(&claims(
                json!({"nodes": ["a", "b"], "sid": "s1", "scope": "observe admin bogus"}),
            )))
            .expect("valid");
        assert_eq!(p.subject, "alice");
        assert_eq!(
            p.nodes,
            NodeAccess::Only(["a".to_string(), "b".to_string()].into())
        );
        assert_eq!(p.session.as_deref(), Some("s1"));
        assert_eq!(p.scopes, [Scope::Observe, Scope::Admin].into());
        let p = v
            .verify(&hs(&claims(json!({"scope": ["learn"], "nodes": "*"}))))
            .expect("valid");
        assert_eq!(p.scopes, [Scope::Learn].into());
        assert_eq!(p.nodes, NodeAccess::Any);
        let p = v.verify(&hs(&claims(json!({})))).expect("valid");
        assert_eq!(p.scopes, Scope::default_set());
        // Fractional NumericDates are numbers too (RFC 7519 §2).
        let exp = now_seconds() as f64 + 100.5;
        assert!(v.verify(&hs(&claims(json!({"exp": exp})))).is_ok());
    }

    #[test]
    fn every_rejection_has_its_reason() {
        let v = verifier(&settings());
        let now = now_seconds();
        let other = sign(
            Header::new(Algorithm::HS256),
            &EncodingKey::from_secret(b"another-secret-another-secret-00"),
            &claims(json!({})),
        );
        let valid = hs(&claims(json!({})));
        let mut tampered_parts: Vec<&str> = valid.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(claims(json!({"sub": "mallory"})).to_string());
        tampered_parts[1] = &forged_payload;
        let tampered = tampered_parts.join(".");
        let cases: Vec<(String, &str)> = vec![
            ("garbage".into(), "malformed_token"),
            ("a.b.c".into(), "malformed_token"),
            (format!("{valid}.extra"), "malformed_token"),
            ("x".repeat(MAX_TOKEN_BYTES + 1), "token_too_large"),
            (
                raw(&json!({"alg": "none"}), &claims(json!({})), ""),
                "alg_none",
            ),
            (
                raw(
                    &json!({"alg": "NONE", "typ": "JWT"}),
                    &claims(json!({})),
                    "",
                ),
                "alg_none",
            ),
            (
                raw(&json!({"alg": "XX99"}), &claims(json!({})), "c2ln"),
                "unexpected_algorithm",
            ),
            (
                raw(&json!({"typ": "JWT"}), &claims(json!({})), "c2ln"),
                "malformed_token",
            ),
            (
                raw(
                    &json!({"alg": "HS256", "crit": ["b64"]}),
                    &claims(json!({})),
                    "c2ln",
                ),
                "unsupported_header",
            ),
            (rs(None, &claims(json!({}))), "unexpected_algorithm"),
            (
                es("test-only-ec-p256-private.pem", None, &claims(json!({}))),
                "unexpected_algorithm",
            ),
            (other, "bad_signature"),
            (tampered, "bad_signature"),
            (hs(&claims(json!({"exp": now - 60}))), "token_expired"),
            (hs(&claims(json!({"nbf": now + 60}))), "token_not_yet_valid"),
            (hs(&claims(json!({"iat": now + 60}))), "token_not_yet_valid"),
            (hs(&claims(json!({"sub": null}))), "missing_sub"),
            (hs(&claims(json!({"sub": ""}))), "invalid_sub"),
            (hs(&claims(json!({"sub": 7}))), "invalid_sub"),
            (
                hs(&claims(json!({"sub": "x".repeat(MAX_SUBJECT_BYTES + 1)}))),
                "invalid_sub",
            ),
            (hs(&claims(json!({"exp": null}))), "missing_exp"),
            (hs(&claims(json!({"exp": "tomorrow"}))), "invalid_exp"),
            (hs(&claims(json!({"nbf": "now"}))), "invalid_nbf"),
            (hs(&claims(json!({"iat": [1]}))), "invalid_iat"),
            (hs(&claims(json!({"nodes": "a"}))), "bad_nodes_claim"),
            (hs(&claims(json!({"nodes": [1]}))), "bad_nodes_claim"),
            (hs(&claims(json!({"scope": 3}))), "invalid_scope"),
            (hs(&claims(json!({"sid": 3}))), "invalid_sid"),
        ];
        for (token, expected) in cases {
            let shown: String = token.chars().take(60).collect();
            assert_eq!(reason(v.verify(&token)), expected, "token {shown}");
        }
    }

    #[test]
    fn leeway_tolerates_small_clock_skew() {
        let v = verifier(&Settings {
            jwt_leeway_seconds: 30,
            ..settings()
        });
        let now = now_seconds();
        assert!(v
            .verify(&hs(&claims(json!({"exp": now - 10, "nbf": now + 10}))))
            .is_ok());
        assert_eq!(
            reason(v.verify(&hs(&claims(json!({"exp": now - 40}))))),
            "token_expired"
        );
    }

    #[test]
    fn audience_and_issuer_are_checked_when_configured() {
        let v = verifier(&Settings {
            jwt_audience: Some("kato".into()),
            jwt_issuer: Some("https://idp.example".into()),
            ..settings()
        });
        let good = json!({"aud": "kato", "iss": "https://idp.example"});
        assert!(v.verify(&hs(&claims(good.clone()))).is_ok());
        assert!(v
            .verify(&hs(&claims(
                json!({"aud": ["other", "kato"], "iss": "https://idp.example"})
            )))
            .is_ok());
        for (extra, expected) in [
            (
                json!({"aud": "other", "iss": "https://idp.example"}),
                "bad_audience",
            ),
            (
                json!({"aud": null, "iss": "https://idp.example"}),
                "bad_audience",
            ),
            (
                json!({"aud": ["other"], "iss": "https://idp.example"}),
                "bad_audience",
            ),
            (
                json!({"aud": "kato", "iss": "https://evil.example"}),
                "bad_issuer",
            ),
            (json!({"aud": "kato", "iss": null}), "bad_issuer"),
        ] {
            assert_eq!(
                reason(v.verify(&hs(&claims(extra.clone())))),
                expected,
                "{extra}"
            );
        }
        // Not configured: not checked.
        let open = verifier(&settings());
        assert!(open
            .verify(&hs(&claims(json!({"aud": "anything", "iss": "anyone"}))))
            .is_ok());
    }

    #[test]
    fn require_nodes_claim() {
        let v = verifier(&Settings {
            require_nodes_claim: true,
            ..settings()
        });
        assert_eq!(
            reason(v.verify(&hs(&claims(json!({}))))),
            "missing_nodes_claim"
        );
        assert!(v.verify(&hs(&claims(json!({"nodes": ["n"]})))).is_ok());
        assert!(v.verify(&hs(&claims(json!({"nodes": "*"})))).is_ok());
    }

    fn pem_settings(file: &str) -> Settings {
        Settings {
            jwt_public_key: Some(PathBuf::from(format!("{FIXTURES}/{file}"))),
            ..Settings::default()
        }
    }

    #[test]
    fn rs256_server_accepts_rs256_and_nothing_else() {
        let (v, dev) =
            Verifier::from_settings(&pem_settings("test-only-rsa2048-public.pem")).expect("rsa");
        assert!(dev.is_none(), "no development token without a secret");
        assert!(!v.uses_secret());
        assert_eq!(v.describe(), "JWT RS256 (public key file)");
        let p = v
            .verify(&rs(Some("ignored"), &claims(json!({}))))
            .expect("RS256 accepted");
        assert_eq!(p.subject, "alice");
        // An HS256 token "signed" with the public key's PEM text: the classic confusion attack.
        let confused = sign(
            Header::new(Algorithm::HS256),
            &EncodingKey::from_secret(&fixture("test-only-rsa2048-public.pem")),
            &claims(json!({})),
        );
        assert_eq!(reason(v.verify(&confused)), "unexpected_algorithm");
        assert_eq!(
            reason(v.verify(&hs(&claims(json!({}))))),
            "unexpected_algorithm"
        );
        assert_eq!(
            reason(v.verify(&es(
                "test-only-ec-p256-private.pem",
                None,
                &claims(json!({}))
            ))),
            "unexpected_algorithm"
        );
        assert_eq!(
            reason(v.verify(&raw(&json!({"alg": "none"}), &claims(json!({})), ""))),
            "alg_none"
        );
        // One signature bit flipped (the last base64url character of a 256-byte signature
        // carries 2 bits, so it is one of A, Q, g, w).
        let mut forged = rs(None, &claims(json!({})));
        let last = forged.pop();
        forged.push(if last == Some('A') { 'Q' } else { 'A' });
        assert_eq!(reason(v.verify(&forged)), "bad_signature");
    }

    #[test]
    fn es256_server_from_a_pem_key() {
        let v = verifier(&pem_settings("test-only-ec-p256-public.pem"));
        assert!(v
            .verify(&es(
                "test-only-ec-p256-private.pem",
                None,
                &claims(json!({}))
            ))
            .is_ok());
        assert_eq!(
            reason(v.verify(&es(
                "test-only-ec-p256-b-private.pem",
                None,
                &claims(json!({}))
            ))),
            "bad_signature"
        );
        assert_eq!(
            reason(v.verify(&rs(None, &claims(json!({}))))),
            "unexpected_algorithm"
        );
    }

    #[test]
    fn jwks_server_selects_keys_by_kid() {
        let v = verifier(&Settings {
            jwt_jwks_file: Some(PathBuf::from(format!("{FIXTURES}/test-only-jwks.json"))),
            ..Settings::default()
        });
        assert_eq!(v.describe(), "JWT ES256/RS256 (JWKS, 3 keys)");
        let c = claims(json!({}));
        assert!(v
            .verify(&es("test-only-ec-p256-private.pem", Some("test-ec-a"), &c))
            .is_ok());
        assert!(v
            .verify(&es(
                "test-only-ec-p256-b-private.pem",
                Some("test-ec-b"),
                &c
            ))
            .is_ok());
        assert!(v.verify(&rs(Some("test-rsa"), &c)).is_ok());
        // Signed by key a but naming key b.
        assert_eq!(
            reason(v.verify(&es("test-only-ec-p256-private.pem", Some("test-ec-b"), &c))),
            "bad_signature"
        );
        assert_eq!(
            reason(v.verify(&es("test-only-ec-p256-private.pem", Some("nope"), &c))),
            "unknown_kid"
        );
        assert_eq!(
            reason(v.verify(&es("test-only-ec-p256-private.pem", None, &c))),
            "missing_kid"
        );
        assert_eq!(
            reason(v.verify(&rs(Some("test-ec-a"), &c))),
            "unexpected_algorithm"
        );
        assert_eq!(reason(v.verify(&hs(&c))), "unexpected_algorithm");
    }

    #[test]
    fn invalid_key_files_fail_start_up_with_the_setting_named() {
        let error = Verifier::from_settings(&pem_settings("test-only-ec-p384-public.pem"))
            .err()
            .expect("P-384 refused");
        assert!(
            error.starts_with("jwt_public_key (KATO_JWT_PUBLIC_KEY) "),
            "{error}"
        );
        assert!(error.contains("P-384"), "{error}");
        let error = Verifier::from_settings(&Settings {
            jwt_jwks_file: Some(PathBuf::from("/nonexistent/jwks.json")),
            ..Settings::default()
        })
        .err()
        .expect("missing file");
        assert!(
            error.starts_with(
                "jwt_jwks_file (KATO_JWT_JWKS_FILE) /nonexistent/jwks.json: cannot read"
            ),
            "{error}"
        );
    }

    #[test]
    fn without_a_key_a_development_secret_and_token_are_generated() {
        let (v, dev) = Verifier::from_settings(&Settings::default()).expect("dev");
        let dev = dev.expect("a development token");
        assert!(v.uses_secret());
        let p = v.verify(&dev.token).expect("the dev token verifies");
        assert_eq!(p.subject, "dev");
        assert_eq!(p.scopes, Scope::all());
        // The dev token satisfies the server's own claim requirements.
        let strict = Settings {
            require_nodes_claim: true,
            jwt_audience: Some("kato".into()),
            jwt_issuer: Some("me".into()),
            ..Settings::default()
        };
        let (v, dev) = Verifier::from_settings(&strict).expect("dev");
        assert!(v.verify(&dev.expect("dev").token).is_ok());
    }
}
