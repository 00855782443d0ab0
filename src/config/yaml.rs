//! Reading a YAML config document (ours and the web config) so that an error is one line
//! with a position and never a value we were told to keep secret.
//!
//! serde-saphyr's errors quote the source lines around the fault (its "snippet"): an
//! unclosed quote after `password: "…` or a repeated `token:` key would print the secret.
//! We ask for no snippet, and [`Scrubber`] removes from every message the values written
//! after a secret key and the password of any `scheme://user:password@host` in the text,
//! found by reading the text itself, so this works even when the YAML does not parse.

use serde_json::Value;

use crate::api::Redactor;
use crate::secret::SECRET_KEYS;

/// Parses `text` into a generic document. The error is one line without the source around
/// it, naming the key and the target of the line at fault when it can tell (`unclosed quote
/// at line 5, column 12 (key `token` of the target named "a")`).
pub fn parse(text: &str) -> Result<Value, String> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let message = e.to_string();
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        // A hint for the crate's users, not ours.
        let message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
        let line = e.location().map(|l| l.line() as usize).unwrap_or(0);
        match context(text, line) {
            Some(c) => one_line(&format!("{message} ({c})")),
            None => one_line(&message),
        }
    })
}

/// `key `token` of the target named "a"` for 1-based `line` of `text`: the key written on
/// that line and the nearest `name:` at or above it. Read from the text (it did not parse),
/// so a best effort; never a value other than a name.
fn context(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(line).collect();
    let key = lines.last().and_then(|l| key_of(l));
    let target = lines.iter().rev().find_map(|l| {
        let v = values_after_key(l, "name").pop()?;
        let v = v.trim_matches(|c| c == '"' || c == '\'' || c == ' ');
        (!v.is_empty()).then(|| v.to_owned())
    });
    match (key, target) {
        (Some(k), Some(t)) => Some(format!("key `{k}` of the target named {t:?}")),
        (Some(k), None) => Some(format!("key `{k}`")),
        (None, Some(t)) => Some(format!("in the target named {t:?}")),
        (None, None) => None,
    }
}

/// The key a block-style line starts with (`    token: …` → `token`).
fn key_of(line: &str) -> Option<&str> {
    let l = line.trim_start().trim_start_matches("- ").trim_start();
    let (key, _) = l.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
    .then_some(key)
}

/// Removes the config's secret values from messages about it.
pub struct Scrubber(Redactor);

impl Scrubber {
    /// Remembers the values of `text` that a message must not show: what follows a secret
    /// key (`password: …`, `"token": …`, `client_secret: …`; block and flow style, quoted or
    /// not, closed or not) and the user information of URLs.
    pub fn for_text(text: &str) -> Scrubber {
        let redactor = Redactor::default();
        for line in text.lines() {
            for key in SECRET_KEYS {
                for value in values_after_key(line, key) {
                    add_value(&redactor, value);
                }
            }
            for userinfo in url_userinfo(line) {
                add_value(&redactor, userinfo);
                if let Some((_, password)) = userinfo.split_once(':') {
                    add_value(&redactor, password);
                }
            }
        }
        Scrubber(redactor)
    }

    /// The message without secret values, on one line, control characters escaped.
    pub fn scrub(&self, message: &str) -> String {
        one_line(&self.0.scrub(message))
    }
}

/// A value and its forms with quotes stripped (a message may quote it either way).
fn add_value(redactor: &Redactor, value: &str) {
    let v = value.trim();
    redactor.add(v);
    let unquoted = v.trim_matches(|c| c == '"' || c == '\'').trim();
    redactor.add(unquoted);
    // As a YAML or JSON message would write it again: escaped quotes and backslashes.
    redactor.add(&unquoted.replace('\\', "\\\\").replace('"', "\\\""));
}

/// What follows `key:` on `line` wherever `key` stands as a whole key: the rest of the line
/// and, for flow style, the part up to the next `,` or `}`.
fn values_after_key<'a>(line: &'a str, key: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = line[from..].find(key) {
        let start = from + pos;
        from = start + key.len();
        let before = line[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = line[from..].trim_start_matches(['"', '\'']).trim_start();
        let Some(value) = rest.strip_prefix(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        out.push(value);
        if let Some(end) = value.find([',', '}']) {
            out.push(&value[..end]);
        }
    }
    out
}

/// The `user:password` parts of the URLs on `line`.
fn url_userinfo(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = line[from..].find("://") {
        let start = from + pos + 3;
        from = start;
        let authority_end = line[start..]
            .find(['/', '?', '#', ' ', '"', '\'', ',', '}'])
            .map_or(line.len(), |e| start + e);
        if let Some(at) = line[start..authority_end].rfind('@') {
            out.push(&line[start..start + at]);
        }
    }
    out
}

/// One line: newlines and other control characters written as escapes.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.trim_end().chars() {
        match c {
            '\n' => out.push_str(" | "),
            '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unclosed_quote_after_a_secret_is_one_line_without_it() {
        let text = "targets:\n  - name: a\n    password: \"Sup3r-S3cret-Value\n";
        let e = parse(text).unwrap_err();
        assert_eq!(
            e,
            "unclosed quote at line 3, column 15 (key `password` of the target named \"a\")"
        );
        let s = Scrubber::for_text(text).scrub(&format!("{e} near \"Sup3r-S3cret-Value"));
        assert!(!s.contains("Sup3r-S3cret-Value"), "{s}");
    }

    #[test]
    fn secret_values_are_found_in_block_flow_and_json_style() {
        let text = "a:\n  token: tok-1234-abcd\n  - {name: x, \"client_secret\": \"cs-5678\", password: pw-9012}\nrefresh_token:   'rt-3456'  \nurl: https://bob:url-pw-7890@host/x\nnot_a_token: visible-1\n";
        let s = Scrubber::for_text(text)
            .scrub("tok-1234-abcd cs-5678 pw-9012 rt-3456 url-pw-7890 bob:url-pw-7890 visible-1");
        assert_eq!(
            s,
            "[REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] visible-1"
        );
    }

    #[test]
    fn a_repeated_key_is_named_with_its_target_and_not_its_values() {
        let text = "targets:\n  - {name: x, vendor: clumio}\n  - name: b\n    token: one-1234\n    token: two-5678\n";
        let e = parse(text).unwrap_err();
        assert_eq!(
            e,
            "duplicate mapping key: token at line 5, column 5 (key `token` of the target named \"b\")"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("a\nb\u{1b}[31m"), "a | b\\u{1b}[31m");
    }
}
