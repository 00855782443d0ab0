use std::sync::{Arc, Mutex};

/// Secrets known to one target's client (passwords, tokens, session ids). Vendor error bodies
/// sometimes echo what was sent, so every message that leaves the client layer passes
/// through [`Redactor::scrub`].
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<String>>>,
}

impl Redactor {
    /// Remembers a secret. Very short strings are ignored: scrubbing "a" would mangle every
    /// message while protecting nothing.
    pub fn add(&self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        let mut s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if !s.iter().any(|x| x == secret) {
            // Tokens rotate every few minutes; keep the list bounded.
            if s.len() >= 64 {
                s.remove(0);
            }
            s.push(secret.to_owned());
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for secret in s.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[REDACTED]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_known_secrets_only() {
        let r = Redactor::default();
        r.add("hunter2-password");
        r.add("ab");
        assert_eq!(
            r.scrub("bad password hunter2-password for ab"),
            "bad password [REDACTED] for ab"
        );
    }
}
