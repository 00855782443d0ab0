//! Bearer tokens and sessions for the simulators: issued with a lifetime on the simulator's
//! clock, and expired early by the `expire-tokens` fault.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use rand::RngExt;

use super::faults::Faults;
use crate::clock::Clock;
use crate::model::Vendor;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
}

#[derive(Debug)]
struct Issued {
    subject: String,
    expires: Option<Timestamp>,
    epoch: u64,
}

#[derive(Debug)]
pub struct TokenStore {
    vendor: Vendor,
    clock: Clock,
    faults: Faults,
    issued: Mutex<HashMap<String, Issued>>,
}

impl TokenStore {
    pub fn new(vendor: Vendor, clock: Clock, faults: Faults) -> Self {
        TokenStore {
            vendor,
            clock,
            faults,
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh random token for `subject`; `ttl: None` never expires (API keys).
    pub fn issue(&self, subject: &str, ttl: Option<Duration>) -> String {
        let token = random_token(40);
        self.insert(&token, subject, ttl);
        token
    }

    /// Registers a token chosen by the caller (a configured API key, a session id).
    pub fn insert(&self, token: &str, subject: &str, ttl: Option<Duration>) {
        let expires = ttl.map(|t| crate::clock::before(self.clock.now(), Duration::ZERO) + t);
        let epoch = self.faults.token_epoch(self.vendor);
        let mut map = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        // Forget long-expired tokens so a long-running demo does not grow without bound.
        let now = self.clock.now();
        map.retain(|_, i| {
            i.expires
                .is_none_or(|e| e > now - jiff::SignedDuration::from_hours(1))
        });
        map.insert(
            token.to_owned(),
            Issued {
                subject: subject.to_owned(),
                expires,
                epoch,
            },
        );
    }

    /// The subject a token was issued to, if it is still good.
    pub fn check(&self, token: &str) -> Result<String, TokenProblem> {
        let map = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let i = map.get(token).ok_or(TokenProblem::Unknown)?;
        if i.epoch < self.faults.token_epoch(self.vendor) {
            return Err(TokenProblem::Expired);
        }
        if let Some(e) = i.expires
            && e <= self.clock.now()
        {
            return Err(TokenProblem::Expired);
        }
        Ok(i.subject.clone())
    }

    pub fn revoke(&self, token: &str) -> bool {
        let mut map = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token).is_some()
    }
}

pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::FaultSpec;

    #[test]
    fn tokens_expire_by_time_and_by_fault() {
        let clock = Clock::manual(Timestamp::from_second(1_700_000_000).unwrap());
        let faults = Faults::default();
        let store = TokenStore::new(Vendor::Cloutility, clock.clone(), faults.clone());
        let t = store.issue("alice", Some(Duration::from_secs(299)));
        assert_eq!(store.check(&t).unwrap(), "alice");
        clock.advance(Duration::from_secs(300));
        assert_eq!(store.check(&t), Err(TokenProblem::Expired));
        let key = store.issue("bob", None);
        assert!(store.check(&key).is_ok());
        faults.apply(&"cloutility:expire-tokens".parse::<FaultSpec>().unwrap());
        assert_eq!(store.check(&key), Err(TokenProblem::Expired));
        assert_eq!(store.check("nope"), Err(TokenProblem::Unknown));
    }
}
