//! `basic_auth_users`: HTTP basic auth against bcrypt hashes, as exporter-toolkit does it.
//!
//! bcrypt is slow on purpose (about 70 ms at cost 10), and Prometheus sends the same
//! credentials on every scrape, so a verified password is remembered: per user, an HMAC of
//! the password under a key drawn at start. Later requests are checked against that tag in
//! constant time, and the password itself is never kept. bcrypt runs off the async
//! workers and one at a time, so wrong passwords cannot take every core. An unknown user
//! still pays one bcrypt, so timing does not tell which users exist.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ring::hmac;
use ring::rand::SystemRandom;

use super::Problem;

pub struct BasicAuth {
    /// User name → bcrypt hash, as in the file.
    users: HashMap<String, String>,
    /// A syntactically valid hash that no password matches, at the highest cost in use;
    /// checked for unknown users.
    decoy: String,
    tag_key: hmac::Key,
    /// User name → HMAC tag of the password that last passed bcrypt.
    verified: Mutex<HashMap<String, Vec<u8>>>,
    bcrypt_turn: tokio::sync::Semaphore,
}

impl BasicAuth {
    /// Checks every hash now, so a typo in the file stops `serve` instead of locking
    /// everyone out later.
    pub fn new(users: BTreeMap<String, String>) -> Result<Self, Problem> {
        let mut max_cost = 4;
        for (user, hash) in &users {
            let key = format!("basic_auth_users.{user}");
            if user.is_empty() || user.contains(':') {
                return Err(Problem::new(
                    key,
                    "a user name must be non-empty and cannot contain ':' (basic auth splits on it)",
                ));
            }
            let parts: bcrypt::HashParts = hash.parse().map_err(|e| {
                Problem::new(
                    &key,
                    format!(
                        "not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
                    ),
                )
            })?;
            let cost = parts.get_cost();
            if !(4..=31).contains(&cost) {
                return Err(Problem::new(
                    key,
                    format!("bcrypt cost {cost} is outside 4..=31"),
                ));
            }
            max_cost = max_cost.max(cost);
        }
        let tag_key =
            hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).map_err(|_| {
                Problem::new(
                    "basic_auth_users",
                    "no system randomness for the credential cache",
                )
            })?;
        Ok(BasicAuth {
            users: users.into_iter().collect(),
            decoy: decoy_hash(max_cost),
            tag_key,
            verified: Mutex::new(HashMap::new()),
            bcrypt_turn: tokio::sync::Semaphore::new(1),
        })
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Whether the `Authorization` header carries the credentials of a configured user.
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let known = self.users.get(&user);
        if known.is_some() && self.remembered(&user, &password) {
            return true;
        }
        let hash = known.cloned().unwrap_or_else(|| self.decoy.clone());
        let matches = {
            let Ok(_turn) = self.bcrypt_turn.acquire().await else {
                return false;
            };
            let pw = password.clone();
            tokio::task::spawn_blocking(move || bcrypt::verify(pw, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
        };
        if matches && known.is_some() {
            let tag = hmac::sign(&self.tag_key, &password);
            self.verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(user, tag.as_ref().to_vec());
            return true;
        }
        false
    }

    fn remembered(&self, user: &str, password: &[u8]) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified
            .get(user)
            .is_some_and(|tag| hmac::verify(&self.tag_key, password, tag).is_ok())
    }
}

/// `Basic base64(user:password)`; the password stays bytes, as Go's `BasicAuth` keeps it.
fn parse_basic(value: &HeaderValue) -> Option<(String, Vec<u8>)> {
    let raw = value.as_bytes();
    let (scheme, rest) = raw.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// A hash in bcrypt's format whose digest no password produces (all zero bits), so that
/// verifying against it costs what a real one costs and always fails.
fn decoy_hash(cost: u32) -> String {
    let mut s = String::with_capacity(60);
    let _ = write!(s, "$2b${cost:02}$");
    s.push_str(&".".repeat(53));
    s
}

/// The middleware: 401 with a `WWW-Authenticate: Basic` challenge unless the request
/// carries valid credentials.
pub async fn require(State(auth): State<Arc<BasicAuth>>, req: Request, next: Next) -> Response {
    if auth.check(req.headers().get(AUTHORIZATION)).await {
        return next.run(req).await;
    }
    tracing::debug!(path = %req.uri().path(), "basic auth refused");
    (
        StatusCode::UNAUTHORIZED,
        [(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"backup-exporter\", charset=\"UTF-8\""),
        )],
        "Unauthorized\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cost 4 keeps the tests fast; the logic does not depend on the cost.
    fn auth_with(user: &str, password: &str) -> BasicAuth {
        let hash = bcrypt::hash(password, 4).unwrap();
        BasicAuth::new(BTreeMap::from([(user.to_owned(), hash)])).unwrap()
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {b64}")).unwrap()
    }

    #[tokio::test]
    async fn right_password_passes_and_is_remembered_as_a_tag_not_the_password() {
        let a = auth_with("prometheus", "s3cret:with:colons");
        assert!(
            a.check(Some(&basic("prometheus", "s3cret:with:colons")))
                .await
        );
        let cached = a
            .verified
            .lock()
            .unwrap()
            .get("prometheus")
            .cloned()
            .unwrap();
        assert_eq!(cached.len(), 32, "an HMAC-SHA256 tag");
        assert!(!cached.windows(6).any(|w| w == b"s3cret"));
        // The second check is served from the cache: remembered() alone says yes.
        assert!(a.remembered("prometheus", b"s3cret:with:colons"));
        assert!(
            a.check(Some(&basic("prometheus", "s3cret:with:colons")))
                .await
        );
    }

    #[tokio::test]
    async fn wrong_password_unknown_user_and_missing_header_are_refused() {
        let a = auth_with("prometheus", "right");
        assert!(!a.check(None).await);
        assert!(!a.check(Some(&basic("prometheus", "wrong"))).await);
        assert!(!a.check(Some(&basic("nobody", "right"))).await);
        assert!(!a.check(Some(&HeaderValue::from_static("Bearer abc"))).await);
        assert!(!a.check(Some(&HeaderValue::from_static("Basic !!!"))).await);
        // A cached success does not open the door to another password.
        assert!(a.check(Some(&basic("prometheus", "right"))).await);
        assert!(!a.check(Some(&basic("prometheus", "righ"))).await);
        assert!(!a.remembered("nobody", b"right"));
    }

    #[test]
    fn decoy_hash_is_well_formed_at_the_highest_cost_and_matches_nothing() {
        let h = bcrypt::hash("x", 5).unwrap();
        let a = BasicAuth::new(BTreeMap::from([("u".to_owned(), h)])).unwrap();
        let parts: bcrypt::HashParts = a.decoy.parse().unwrap();
        assert_eq!(parts.get_cost(), 5);
        assert!(!bcrypt::verify("", &decoy_hash(4)).unwrap());
        assert!(!bcrypt::verify("x", &decoy_hash(4)).unwrap());
    }

    #[test]
    fn bad_hashes_and_user_names_name_the_user() {
        let e = BasicAuth::new(BTreeMap::from([("alice".into(), "plaintext".into())]))
            .err()
            .unwrap();
        assert_eq!(e.key, "basic_auth_users.alice");
        assert!(e.message.contains("not a bcrypt hash"), "{e}");
        let h = bcrypt::hash("x", 4).unwrap();
        let e = BasicAuth::new(BTreeMap::from([("a:b".into(), h)]))
            .err()
            .unwrap();
        assert_eq!(e.key, "basic_auth_users.a:b");
    }

    #[test]
    fn header_parsing_accepts_any_case_of_the_scheme_and_keeps_colons_in_the_password() {
        let v = HeaderValue::from_static("bAsIc dTpwOnc="); // u:p:w
        assert_eq!(parse_basic(&v), Some(("u".into(), b"p:w".to_vec())));
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic")), None);
    }
}
