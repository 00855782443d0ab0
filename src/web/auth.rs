//! `basic_auth_users`: HTTP basic auth against bcrypt hashes, as exporter-toolkit does it,
//! hardened against floods of wrong credentials.
//!
//! bcrypt is slow on purpose (about 70 ms at cost 10), and Prometheus sends the same
//! credentials on every scrape, so every verdict is remembered under an HMAC of the
//! credentials (user and password) with a key drawn at start; the password itself is never
//! kept. Successes and failures are kept apart and bounded: failures cannot push a verified
//! Prometheus out of the cache, and a flood that repeats one wrong password pays bcrypt once.
//!
//! bcrypt runs off the async workers in a few slots (half the cores, 1 to 4); at most
//! [`WAITING_PER_SLOT`] requests per slot may wait for one, and the next is answered 429 at
//! once, so failed attempts can neither take every core nor queue a valid user behind them
//! for seconds. An unknown user is verified against a decoy hash of the same cost, so timing
//! does not tell which users exist. The rate limit (see `limit.rs`) runs before all of this.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ring::hmac;
use ring::rand::SystemRandom;
use tokio::sync::Semaphore;

use super::Problem;

/// Verified credentials remembered (only a valid password can add one).
pub const PASSED_CAP: usize = 64;
/// Refused credentials remembered; the oldest is forgotten first.
pub const FAILED_CAP: usize = 4096;
/// Requests that may wait for a bcrypt slot, per slot; past that, 429 without bcrypt.
pub const WAITING_PER_SLOT: usize = 4;

/// bcrypt slots: half the cores, at least 1 and at most 4.
pub fn bcrypt_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).clamp(1, 4)
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Every bcrypt slot and waiting place is taken: answered 429, nothing verified.
    Busy,
}

/// What runs bcrypt; replaced in tests to count and record the calls.
type Verifier = Arc<dyn Fn(&[u8], &str) -> bool + Send + Sync>;

/// A set of credential tags with a size cap; the oldest goes first.
struct Memo {
    cap: usize,
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl Memo {
    fn new(cap: usize) -> Self {
        Memo {
            cap,
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn contains(&self, k: &[u8; 32]) -> bool {
        self.set.contains(k)
    }

    fn insert(&mut self, k: [u8; 32]) {
        if !self.set.insert(k) {
            return;
        }
        self.order.push_back(k);
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.set.len()
    }
}

pub struct BasicAuth {
    /// User name → bcrypt hash, as in the file.
    users: HashMap<String, String>,
    /// A syntactically valid hash that no password matches, at the highest cost in use;
    /// checked for unknown users.
    decoy: String,
    tag_key: hmac::Key,
    passed: Mutex<Memo>,
    failed: Mutex<Memo>,
    slots: Arc<Semaphore>,
    /// Checks waiting for or holding a slot.
    in_line: AtomicUsize,
    max_in_line: usize,
    verify: Verifier,
    bcrypt_runs: AtomicU64,
}

/// Leaves the line on drop (also when the client goes away while waiting).
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl BasicAuth {
    /// Checks every hash now, so a typo in the file stops `serve` instead of locking
    /// everyone out later.
    pub fn new(users: BTreeMap<String, String>) -> Result<Self, Problem> {
        Self::with_verifier(
            users,
            bcrypt_slots(),
            Arc::new(|pw: &[u8], hash: &str| bcrypt::verify(pw, hash).unwrap_or(false)),
        )
    }

    fn with_verifier(
        users: BTreeMap<String, String>,
        slots: usize,
        verify: Verifier,
    ) -> Result<Self, Problem> {
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
        let slots = slots.max(1);
        Ok(BasicAuth {
            users: users.into_iter().collect(),
            decoy: decoy_hash(max_cost),
            tag_key,
            passed: Mutex::new(Memo::new(PASSED_CAP)),
            failed: Mutex::new(Memo::new(FAILED_CAP)),
            slots: Arc::new(Semaphore::new(slots)),
            in_line: AtomicUsize::new(0),
            max_in_line: slots * (1 + WAITING_PER_SLOT),
            verify,
            bcrypt_runs: AtomicU64::new(0),
        })
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Bcrypt verifications run so far (cache hits and 429s run none).
    pub fn bcrypt_runs(&self) -> u64 {
        self.bcrypt_runs.load(Ordering::Relaxed)
    }

    /// Whether the `Authorization` header carries the credentials of a configured user.
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> Verdict {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return Verdict::Fail;
        };
        let tag = self.tag(&user, &password);
        if lock(&self.passed).contains(&tag) {
            return Verdict::Pass;
        }
        if lock(&self.failed).contains(&tag) {
            return Verdict::Fail;
        }
        // A place in line, or 429 at once: a flood must not queue valid users for seconds.
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.max_in_line {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return Verdict::Busy;
        }
        let _in_line = InLine(&self.in_line);
        let Ok(slot) = self.slots.clone().acquire_owned().await else {
            return Verdict::Busy;
        };
        let known = self.users.get(&user);
        let hash = known.cloned().unwrap_or_else(|| self.decoy.clone());
        let verify = self.verify.clone();
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        // The slot moves into the blocking task: a client that hangs up does not free it
        // before bcrypt ends.
        let matches = tokio::task::spawn_blocking(move || {
            let ok = verify(&password, &hash);
            drop(slot);
            ok
        })
        .await
        .unwrap_or(false);
        if matches && known.is_some() {
            lock(&self.passed).insert(tag);
            Verdict::Pass
        } else {
            lock(&self.failed).insert(tag);
            Verdict::Fail
        }
    }

    /// HMAC of the length-prefixed user and the password: no two credentials share a tag,
    /// and the tag says nothing without the key.
    fn tag(&self, user: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.tag_key);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

fn lock(m: &Mutex<Memo>) -> std::sync::MutexGuard<'_, Memo> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
    match auth.check(req.headers().get(AUTHORIZATION)).await {
        Verdict::Pass => return next.run(req).await,
        Verdict::Busy => {
            tracing::debug!(path = %req.uri().path(), "basic auth busy: answered 429");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(RETRY_AFTER, HeaderValue::from_static("1"))],
                "Too Many Requests: credential checks are saturated\n",
            )
                .into_response();
        }
        Verdict::Fail => {}
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
    async fn a_verified_password_is_remembered_as_a_tag_and_the_next_check_skips_bcrypt() {
        let a = auth_with("prometheus", "s3cret:with:colons");
        let creds = basic("prometheus", "s3cret:with:colons");
        assert_eq!(a.check(Some(&creds)).await, Verdict::Pass);
        assert_eq!(a.bcrypt_runs(), 1);
        for _ in 0..5 {
            assert_eq!(a.check(Some(&creds)).await, Verdict::Pass);
        }
        assert_eq!(a.bcrypt_runs(), 1, "cache hits run no bcrypt");
        let passed = lock(&a.passed);
        assert_eq!(passed.len(), 1);
        let tag = a.tag("prometheus", b"s3cret:with:colons");
        assert!(passed.contains(&tag));
        assert!(!tag.windows(6).any(|w| w == b"s3cret"));
    }

    #[tokio::test]
    async fn wrong_password_unknown_user_and_missing_header_are_refused() {
        let a = auth_with("prometheus", "right");
        assert_eq!(a.check(None).await, Verdict::Fail);
        assert_eq!(
            a.check(Some(&basic("prometheus", "wrong"))).await,
            Verdict::Fail
        );
        assert_eq!(
            a.check(Some(&basic("nobody", "right"))).await,
            Verdict::Fail
        );
        let bad = [
            HeaderValue::from_static("Bearer abc"),
            HeaderValue::from_static("Basic !!!"),
        ];
        for h in &bad {
            assert_eq!(a.check(Some(h)).await, Verdict::Fail);
        }
        assert_eq!(a.bcrypt_runs(), 2, "malformed headers run no bcrypt");
        // A cached success does not open the door to another password or user.
        assert_eq!(
            a.check(Some(&basic("prometheus", "right"))).await,
            Verdict::Pass
        );
        assert_eq!(
            a.check(Some(&basic("prometheus", "righ"))).await,
            Verdict::Fail
        );
        assert_eq!(
            a.check(Some(&basic("nobody", "right"))).await,
            Verdict::Fail
        );
    }

    #[tokio::test]
    async fn a_repeated_wrong_password_pays_bcrypt_once() {
        let a = auth_with("prometheus", "right");
        for _ in 0..20 {
            assert_eq!(
                a.check(Some(&basic("prometheus", "wrong"))).await,
                Verdict::Fail
            );
            assert_eq!(a.check(Some(&basic("ghost", "wrong"))).await, Verdict::Fail);
        }
        assert_eq!(a.bcrypt_runs(), 2);
    }

    /// A verifier that records the hashes it is given.
    fn recording() -> (Verifier, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let v: Verifier = Arc::new(move |pw: &[u8], hash: &str| {
            s.lock().unwrap().push(hash.to_owned());
            bcrypt::verify(pw, hash).unwrap_or(false)
        });
        (v, seen)
    }

    #[tokio::test]
    async fn an_unknown_user_is_verified_against_the_decoy_at_the_same_cost() {
        let hash = bcrypt::hash("right", 5).unwrap();
        let (v, seen) = recording();
        let a = BasicAuth::with_verifier(BTreeMap::from([("prom".into(), hash.clone())]), 1, v)
            .unwrap();
        assert_eq!(a.check(Some(&basic("ghost", "right"))).await, Verdict::Fail);
        assert_eq!(a.check(Some(&basic("prom", "wrong"))).await, Verdict::Fail);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, [a.decoy.clone(), hash.clone()]);
        let decoy: bcrypt::HashParts = seen[0].parse().unwrap();
        let real: bcrypt::HashParts = hash.parse().unwrap();
        assert_eq!(decoy.get_cost(), real.get_cost());
    }

    #[tokio::test]
    async fn past_the_slots_and_the_line_a_check_is_busy_at_once_without_bcrypt() {
        let hash = bcrypt::hash("right", 4).unwrap();
        // bcrypt that blocks until the test lets it go.
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = gate.clone();
        let v: Verifier = Arc::new(move |pw: &[u8], hash: &str| {
            if pw == b"slow" {
                g.wait();
            }
            bcrypt::verify(pw, hash).unwrap_or(false)
        });
        let a = Arc::new(
            BasicAuth::with_verifier(BTreeMap::from([("prom".into(), hash)]), 1, v).unwrap(),
        );
        // Prometheus verified before the flood.
        assert_eq!(a.check(Some(&basic("prom", "right"))).await, Verdict::Pass);
        let mut line = Vec::new();
        for i in 0..a.max_in_line {
            let a = a.clone();
            let pw = if i == 0 {
                "slow".to_owned()
            } else {
                format!("x{i}")
            };
            line.push(tokio::spawn(async move {
                a.check(Some(&basic("prom", &pw))).await
            }));
        }
        while a.in_line.load(Ordering::Acquire) < a.max_in_line {
            tokio::task::yield_now().await;
        }
        let runs = a.bcrypt_runs();
        let t = std::time::Instant::now();
        assert_eq!(a.check(Some(&basic("prom", "other"))).await, Verdict::Busy);
        assert!(t.elapsed() < std::time::Duration::from_millis(100));
        assert_eq!(a.bcrypt_runs(), runs, "a busy answer runs no bcrypt");
        // The verified user is still served from the cache during the flood.
        assert_eq!(a.check(Some(&basic("prom", "right"))).await, Verdict::Pass);
        let g = gate.clone();
        tokio::task::spawn_blocking(move || g.wait()).await.unwrap();
        for h in line {
            assert_eq!(h.await.unwrap(), Verdict::Fail);
        }
        assert_eq!(a.in_line.load(Ordering::Acquire), 0);
    }

    #[test]
    fn the_memo_forgets_the_oldest_past_its_cap() {
        let mut m = Memo::new(2);
        m.insert([1; 32]);
        m.insert([2; 32]);
        m.insert([2; 32]);
        m.insert([3; 32]);
        assert_eq!(m.len(), 2);
        assert!(!m.contains(&[1; 32]));
        assert!(m.contains(&[2; 32]) && m.contains(&[3; 32]));
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

    #[test]
    fn tags_of_different_splits_differ() {
        let a = auth_with("u", "p");
        assert_ne!(a.tag("a\0", b"b"), a.tag("a", b"\0b"));
        assert_ne!(a.tag("ab", b"c"), a.tag("a", b"bc"));
    }
}
