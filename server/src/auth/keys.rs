//! Verification keys for JWTs: the HS256 secret, one RS256/ES256 public key from a PEM file, or
//! the RS256/ES256 keys of a JWKS file, each key bound to exactly one algorithm. Loading fails
//! with a message naming the setting and the file; it never prints key material or secrets.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::AuthError;

/// Largest key file read (PEM or JWKS); real ones are a few KiB.
pub const MAX_KEY_FILE_BYTES: u64 = 1 << 20;
/// RSA modulus sizes accepted (bits), as ring verifies them.
pub const RSA_MIN_BITS: usize = 2048;
pub const RSA_MAX_BITS: usize = 8192;

/// One key and the one algorithm a token verified with it must name.
pub struct VerifyingKey {
    /// The JWKS `kid`; `None` for a secret or a PEM key.
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// Where the keys came from; decides how a token's `kid` is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `jwt_secret` (or the generated development secret): HS256 only; `kid` is ignored.
    Secret,
    /// `jwt_public_key`: RS256 or ES256 by the key's type; `kid` is ignored.
    PublicKeyFile,
    /// `jwt_jwks_file`: the key is selected by `kid` (optional when the set holds one key).
    Jwks,
}

/// The keys a server verifies tokens with. Never empty.
pub struct KeySet {
    source: KeySource,
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// HS256 with a shared secret.
    pub fn secret(secret: &[u8]) -> KeySet {
        KeySet {
            source: KeySource::Secret,
            keys: vec![VerifyingKey {
                kid: None,
                alg: Algorithm::HS256,
                key: DecodingKey::from_secret(secret),
            }],
        }
    }

    /// One RS256 or ES256 public key from a PEM file (`PUBLIC KEY`, `RSA PUBLIC KEY` or
    /// `CERTIFICATE`). `setting` names the setting in error messages.
    pub fn from_pem_file(path: &Path, setting: &str) -> Result<KeySet, String> {
        let bytes = read_key_file(path, setting)?;
        let key = parse_pem(&bytes).map_err(|e| format!("{setting} {}: {e}", path.display()))?;
        Ok(KeySet {
            source: KeySource::PublicKeyFile,
            keys: vec![key],
        })
    }

    /// The usable keys of a JWKS file. Keys for other uses or algorithms are skipped with a
    /// warning; a file with no usable key, a malformed key or a duplicate `kid` is an error.
    pub fn from_jwks_file(path: &Path, setting: &str) -> Result<KeySet, String> {
        let bytes = read_key_file(path, setting)?;
        let (keys, skipped) =
            parse_jwks(&bytes).map_err(|e| format!("{setting} {}: {e}", path.display()))?;
        for note in skipped {
            tracing::warn!(file = %path.display(), "JWKS key skipped: {note}");
        }
        Ok(KeySet {
            source: KeySource::Jwks,
            keys,
        })
    }

    pub fn source(&self) -> KeySource {
        self.source
    }

    /// The algorithms tokens may name (one per key; usually one in all).
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = Vec::new();
        for key in &self.keys {
            if !algs.contains(&key.alg) {
                algs.push(key.alg);
            }
        }
        algs
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token with this header must verify with. The header's algorithm must be the
    /// key's own: HS256 is never tried against a public key, nor RS256 against a secret.
    pub fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&VerifyingKey, AuthError> {
        if !self.keys.iter().any(|k| k.alg == alg) {
            return Err(AuthError::InvalidToken("unexpected_algorithm"));
        }
        let key = match (self.source, kid) {
            (KeySource::Secret | KeySource::PublicKeyFile, _) => self.keys.first(),
            (KeySource::Jwks, Some(kid)) => {
                let found = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid));
                Some(found.ok_or(AuthError::InvalidToken("unknown_kid"))?)
            }
            (KeySource::Jwks, None) if self.keys.len() == 1 => self.keys.first(),
            (KeySource::Jwks, None) => return Err(AuthError::InvalidToken("missing_kid")),
        };
        match key {
            Some(key) if key.alg == alg => Ok(key),
            Some(_) => Err(AuthError::InvalidToken("unexpected_algorithm")),
            None => Err(AuthError::InvalidToken("no_verifier")),
        }
    }
}

fn read_key_file(path: &Path, setting: &str) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| format!("{setting} {shown}: cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{setting} {shown}: not a regular file"));
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "{setting} {shown}: larger than {MAX_KEY_FILE_BYTES} bytes; not a key file"
        ));
    }
    std::fs::read(path).map_err(|e| format!("{setting} {shown}: cannot read: {e}"))
}

/// Parses one PEM public key into a verifying key.
pub fn parse_pem(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let blocks = pem::parse_many(bytes).map_err(|e| format!("not a valid PEM file ({e})"))?;
    let block = match blocks.as_slice() {
        [] => {
            return Err(
                "no PEM block found (expected -----BEGIN PUBLIC KEY-----; a JWKS file goes in jwt_jwks_file)"
                    .into(),
            )
        }
        [block] => block,
        _ => return Err("holds several PEM blocks; give exactly one public key".into()),
    };
    let der = block.contents();
    let public = match block.tag() {
        "PUBLIC KEY" => spki(der)?,
        "RSA PUBLIC KEY" => PublicKey::Rsa(pkcs1_rsa(der)?),
        "CERTIFICATE" => spki(certificate_spki(der)?)?,
        tag if tag.contains("PRIVATE KEY") => {
            return Err(format!(
                "holds a private key ({tag}); configure the public key instead (openssl pkey -in key.pem -pubout)"
            ))
        }
        tag => return Err(format!("unsupported PEM block {tag:?}; expected PUBLIC KEY")),
    };
    Ok(public.into_verifying_key(None))
}

/// Parses a JWKS document: the usable keys, and a note for every key skipped.
pub fn parse_jwks(bytes: &[u8]) -> Result<(Vec<VerifyingKey>, Vec<String>), String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("not a JWKS: expected an object with a \"keys\" array")?;
    let mut keys: Vec<VerifyingKey> = Vec::new();
    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let name = match entry.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("key {index} (kid {kid:?})"),
            None => format!("key {index}"),
        };
        match jwk(entry) {
            Ok(Some(key)) => {
                if let Some(kid) = &key.kid {
                    if keys.iter().any(|k| k.kid.as_ref() == Some(kid)) {
                        return Err(format!("{name}: duplicate kid"));
                    }
                }
                keys.push(key);
            }
            Ok(None) => {}
            Err(JwkProblem::Skip(why)) => skipped.push(format!("{name}: {why}")),
            Err(JwkProblem::Invalid(why)) => return Err(format!("{name}: {why}")),
        }
    }
    if keys.is_empty() {
        return Err(format!(
            "no usable key (RS256 RSA keys of {RSA_MIN_BITS}+ bits or ES256 P-256 keys){}",
            if skipped.is_empty() {
                String::new()
            } else {
                format!("; skipped: {}", skipped.join("; "))
            }
        ));
    }
    if keys.len() > 1 && keys.iter().any(|k| k.kid.is_none()) {
        return Err("holds several usable keys, so every one needs a \"kid\"".into());
    }
    Ok((keys, skipped))
}

enum JwkProblem {
    /// A well-formed key this server does not use (another use, algorithm or curve).
    Skip(String),
    /// A malformed key: the file is wrong.
    Invalid(String),
}

fn jwk(entry: &Value) -> Result<Option<VerifyingKey>, JwkProblem> {
    let invalid = |m: &str| JwkProblem::Invalid(m.to_string());
    let text = |field: &str| -> Result<Option<&str>, JwkProblem> {
        match entry.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(JwkProblem::Invalid(format!("\"{field}\" must be a string"))),
        }
    };
    let bytes = |field: &str| -> Result<Vec<u8>, JwkProblem> {
        let raw =
            text(field)?.ok_or_else(|| JwkProblem::Invalid(format!("\"{field}\" missing")))?;
        URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| JwkProblem::Invalid(format!("\"{field}\" is not base64url")))
    };
    if !entry.is_object() {
        return Err(invalid("not an object"));
    }
    let kty = text("kty")?.ok_or_else(|| invalid("\"kty\" missing"))?;
    let kid = text("kid")?.map(str::to_string);
    if kid.as_deref() == Some("") {
        return Err(invalid("\"kid\" is empty"));
    }
    if let Some(usage) = text("use")? {
        if usage != "sig" {
            return Err(JwkProblem::Skip(format!(
                "\"use\": {usage:?} is not \"sig\""
            )));
        }
    }
    let alg = text("alg")?;
    let public = match kty {
        "RSA" => {
            if let Some(alg) = alg.filter(|a| *a != "RS256") {
                return Err(JwkProblem::Skip(format!(
                    "RSA key for {alg}; only RS256 is accepted"
                )));
            }
            let n = bytes("n")?;
            let e = bytes("e")?;
            PublicKey::Rsa(RsaKey::new(&n, &e).map_err(JwkProblem::Invalid)?)
        }
        "EC" => {
            let crv = text("crv")?.ok_or_else(|| invalid("\"crv\" missing"))?;
            if crv != "P-256" {
                return Err(JwkProblem::Skip(format!(
                    "curve {crv}; only P-256 (ES256) is accepted"
                )));
            }
            if let Some(alg) = alg.filter(|a| *a != "ES256") {
                return Err(JwkProblem::Skip(format!(
                    "P-256 key for {alg}; only ES256 is accepted"
                )));
            }
            let x = bytes("x")?;
            let y = bytes("y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err(invalid("P-256 \"x\" and \"y\" must be 32 bytes each"));
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            PublicKey::EcP256(point)
        }
        "oct" => {
            return Err(JwkProblem::Skip(
                "symmetric (oct) keys are never used from a JWKS; HS256 uses jwt_secret".into(),
            ))
        }
        other => {
            return Err(JwkProblem::Skip(format!(
                "key type {other:?}; only RSA (RS256) and EC P-256 (ES256) are accepted"
            )))
        }
    };
    Ok(Some(public.into_verifying_key(kid)))
}

/// A parsed public key, before it becomes a `DecodingKey`.
enum PublicKey {
    Rsa(RsaKey),
    /// Uncompressed SEC1 point (0x04 || X || Y).
    EcP256(Vec<u8>),
}

impl PublicKey {
    fn into_verifying_key(self, kid: Option<String>) -> VerifyingKey {
        match self {
            PublicKey::Rsa(rsa) => VerifyingKey {
                kid,
                alg: Algorithm::RS256,
                key: DecodingKey::from_rsa_raw_components(&rsa.n, &rsa.e),
            },
            PublicKey::EcP256(point) => VerifyingKey {
                kid,
                alg: Algorithm::ES256,
                key: DecodingKey::from_ec_der(&point),
            },
        }
    }
}

struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl RsaKey {
    /// Checks the modulus size and the exponent as ring will, so a bad key fails at start-up
    /// rather than rejecting every token.
    fn new(n: &[u8], e: &[u8]) -> Result<RsaKey, String> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_length(n);
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(format!(
                "RSA key of {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} bits are accepted"
            ));
        }
        let exponent = match e.len() {
            1..=4 => e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            _ => return Err("RSA public exponent out of range".into()),
        };
        if exponent < 3 || exponent % 2 == 0 {
            return Err("RSA public exponent must be odd and at least 3".into());
        }
        Ok(RsaKey {
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bit_length(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

// --- A minimal DER reader: just enough of X.509 SubjectPublicKeyInfo and PKCS#1 (RFC 5280,
// RFC 8017) to learn a key's type, curve and size at start-up.

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_CONTEXT_0: u8 = 0xa0;
/// 1.2.840.113549.1.1.1 rsaEncryption
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.10045.2.1 id-ecPublicKey
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 prime256v1 (P-256)
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// 1.3.132.0.34 secp384r1, 1.3.132.0.35 secp521r1
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
/// 1.3.101.112 Ed25519
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// One DER element: its tag, its contents, and what follows it.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
    rest: &'a [u8],
}

fn element(input: &[u8]) -> Result<Element<'_>, String> {
    let bad = || "malformed DER".to_string();
    let (&tag, after_tag) = input.split_first().ok_or_else(bad)?;
    let (&first, after_len) = after_tag.split_first().ok_or_else(bad)?;
    let (len, body) = if first < 0x80 {
        (usize::from(first), after_len)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || after_len.len() < count {
            return Err(bad());
        }
        let len = after_len[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &after_len[count..])
    };
    if body.len() < len {
        return Err(bad());
    }
    Ok(Element {
        tag,
        contents: &body[..len],
        rest: &body[len..],
    })
}

fn expect(input: &[u8], tag: u8) -> Result<Element<'_>, String> {
    let el = element(input)?;
    if el.tag != tag {
        return Err("malformed DER: unexpected element".into());
    }
    Ok(el)
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
fn spki(der: &[u8]) -> Result<PublicKey, String> {
    let outer = expect(der, TAG_SEQUENCE)?;
    let algorithm = expect(outer.contents, TAG_SEQUENCE)?;
    let bits = expect(algorithm.rest, TAG_BIT_STRING)?;
    let key = match bits.contents.split_first() {
        Some((0, key)) => key,
        _ => return Err("malformed DER: key bit string".into()),
    };
    let oid = expect(algorithm.contents, TAG_OID)?;
    match oid.contents {
        OID_RSA => Ok(PublicKey::Rsa(pkcs1_rsa(key)?)),
        OID_EC => {
            let curve = expect(oid.rest, TAG_OID)?;
            match curve.contents {
                OID_P256 if key.len() == 65 && key[0] == 0x04 => {
                    Ok(PublicKey::EcP256(key.to_vec()))
                }
                OID_P256 => Err("P-256 key is not an uncompressed point".into()),
                OID_P384 => Err("EC key on P-384 (ES384); only P-256 (ES256) is accepted".into()),
                OID_P521 => Err("EC key on P-521 (ES512); only P-256 (ES256) is accepted".into()),
                _ => Err("EC key on an unsupported curve; only P-256 (ES256) is accepted".into()),
            }
        }
        OID_ED25519 => Err("Ed25519 (EdDSA) key; only RS256 and ES256 are accepted".into()),
        _ => Err(
            "unsupported key algorithm; only RSA (RS256) and EC P-256 (ES256) are accepted".into(),
        ),
    }
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
fn pkcs1_rsa(der: &[u8]) -> Result<RsaKey, String> {
    let outer = expect(der, TAG_SEQUENCE)?;
    let n = expect(outer.contents, TAG_INTEGER)?;
    let e = expect(n.rest, TAG_INTEGER)?;
    RsaKey::new(n.contents, e.contents)
}

/// The SubjectPublicKeyInfo element of an X.509 certificate (its validity is not checked: the
/// certificate is only a container for the key).
fn certificate_spki(der: &[u8]) -> Result<&[u8], String> {
    let cert = expect(der, TAG_SEQUENCE)?;
    let tbs = expect(cert.contents, TAG_SEQUENCE)?;
    let mut rest = tbs.contents;
    let first = element(rest)?;
    if first.tag == TAG_CONTEXT_0 {
        rest = first.rest; // explicit version
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        rest = element(rest)?.rest;
    }
    let spki = element(rest)?;
    if spki.tag != TAG_SEQUENCE {
        return Err("malformed certificate".into());
    }
    Ok(&rest[..rest.len() - spki.rest.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    #[test]
    fn pem_keys_are_bound_to_their_algorithm() {
        for (file, alg) in [
            ("test-only-rsa2048-public.pem", Algorithm::RS256),
            ("test-only-rsa2048-public-pkcs1.pem", Algorithm::RS256),
            ("test-only-ec-p256-public.pem", Algorithm::ES256),
            ("test-only-ec-p256-cert.pem", Algorithm::ES256),
        ] {
            let key = parse_pem(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(key.alg, alg, "{file}");
        }
    }

    #[test]
    fn unusable_pem_files_are_refused_with_a_reason() {
        let cases: [(&[u8], &str); 7] = [
            (&fixture("test-only-ec-p384-public.pem"), "P-384"),
            (&fixture("test-only-rsa1024-public.pem"), "1024 bits"),
            (&fixture("test-only-rsa2048-private.pem"), "private key"),
            (&fixture("test-only-jwks.json"), "no PEM block"),
            (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "malformed DER"),
            (b"", "no PEM block"),
            (
                b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
                "several PEM blocks",
            ),
        ];
        for (bytes, expected) in cases {
            match parse_pem(bytes) {
                Ok(_) => panic!("accepted a key that should fail with {expected:?}"),
                Err(e) => assert!(e.contains(expected), "{e:?} lacks {expected:?}"),
            }
        }
    }

    #[test]
    fn der_reader_never_panics_on_truncated_input() {
        let der = pem::parse(fixture("test-only-rsa2048-public.pem")).expect("pem");
        let bytes = der.contents();
        for cut in 0..bytes.len() {
            assert!(spki(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        assert!(spki(bytes).is_ok());
    }

    #[test]
    fn jwks_keys_are_selected_by_kid() {
        let (keys, skipped) = parse_jwks(&fixture("test-only-jwks.json")).expect("jwks");
        assert!(skipped.is_empty(), "{skipped:?}");
        let set = KeySet {
            source: KeySource::Jwks,
            keys,
        };
        assert_eq!(set.len(), 3);
        let pick = |alg, kid| set.select(alg, kid).map(|k| k.kid.clone());
        assert_eq!(
            pick(Algorithm::ES256, Some("test-ec-a")),
            Ok(Some("test-ec-a".into()))
        );
        assert_eq!(
            pick(Algorithm::RS256, Some("test-rsa")),
            Ok(Some("test-rsa".into()))
        );
        let reason = |r: Result<Option<String>, AuthError>| r.map_err(|e| e.reason());
        assert_eq!(
            reason(pick(Algorithm::ES256, Some("nope"))),
            Err("unknown_kid")
        );
        assert_eq!(reason(pick(Algorithm::ES256, None)), Err("missing_kid"));
        // The kid names an RSA key but the token says ES256.
        assert_eq!(
            reason(pick(Algorithm::ES256, Some("test-rsa"))),
            Err("unexpected_algorithm")
        );
        assert_eq!(
            reason(pick(Algorithm::HS256, Some("test-rsa"))),
            Err("unexpected_algorithm")
        );
        assert_eq!(
            reason(pick(Algorithm::ES384, None)),
            Err("unexpected_algorithm")
        );
    }

    #[test]
    fn a_single_key_jwks_accepts_tokens_without_kid() {
        let (keys, _) = parse_jwks(&fixture("test-only-jwks-single-no-kid.json")).expect("jwks");
        let set = KeySet {
            source: KeySource::Jwks,
            keys,
        };
        assert!(set.select(Algorithm::ES256, None).is_ok());
        assert_eq!(
            set.select(Algorithm::ES256, Some("other"))
                .map(|_| ())
                .map_err(|e| e.reason()),
            Err("unknown_kid")
        );
    }

    #[test]
    fn jwks_problems() {
        let ec = r#"{"kty":"EC","crv":"P-256","x":"O3dlB1upAO0MeNOE21L9IJF2QqkXEBSO0kbeQ4Svwjg","y":"ilsEdSmMsyVZiY06BgAGkNntSLrmnlMmPWUTCWLsek0""#;
        let cases = [
            ("[]", "expected an object"),
            ("{\"keys\": []}", "no usable key"),
            (r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#, "symmetric"),
            (&format!(r#"{{"keys":[{ec}}},{ec}}}]}}"#), "needs a \"kid\""),
            (
                &format!(r#"{{"keys":[{ec},"kid":"a"}},{ec},"kid":"a"}}]}}"#),
                "duplicate kid",
            ),
            (
                r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#,
                "32 bytes",
            ),
            (r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#, "bits"),
            (r#"{"keys":[{"kty":"RSA","e":"AQAB"}]}"#, "\"n\" missing"),
            (
                r#"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}"#,
                "P-384",
            ),
            ("not json", "not valid JSON"),
        ];
        for (doc, expected) in cases {
            match parse_jwks(doc.as_bytes()) {
                Ok(_) => panic!("accepted {doc}"),
                Err(e) => assert!(e.contains(expected), "{doc}: {e:?} lacks {expected:?}"),
            }
        }
        // Keys for another use are skipped, not fatal, when a usable key remains.
        let mixed = format!(r#"{{"keys":[{ec},"kid":"a"}},{ec},"kid":"b","use":"enc"}}]}}"#);
        let (keys, skipped) = parse_jwks(mixed.as_bytes()).expect("usable key remains");
        assert_eq!(keys.len(), 1);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("\"enc\""), "{skipped:?}");
    }

    #[test]
    fn key_files_that_cannot_be_read_name_the_setting() {
        let error = KeySet::from_pem_file(Path::new("/nonexistent/key.pem"), "KATO_JWT_PUBLIC_KEY")
            .err()
            .expect("missing file");
        assert!(
            error.starts_with("KATO_JWT_PUBLIC_KEY /nonexistent/key.pem: cannot read"),
            "{error}"
        );
        let error = KeySet::from_jwks_file(Path::new(FIXTURES), "KATO_JWT_JWKS_FILE")
            .err()
            .expect("a directory");
        assert!(error.contains("not a regular file"), "{error}");
    }
}
