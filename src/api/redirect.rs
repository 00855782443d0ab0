//! Which redirects the client follows, and how.
//!
//! Within the origin of the request (scheme, host, port) a redirect is followed like a
//! browser does, credentials included. Another origin is refused unless the target allows
//! it; even then the hop carries no credentials, session headers, cookies or body, and
//! HTTPS never goes to plain HTTP. reqwest's own following is off: it strips only
//! `Authorization` and cookies on another host and re-sends a 307/308 body (a login's
//! password) wherever it is told.

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderName, HeaderValue, PROXY_AUTHORIZATION};
use reqwest::{Method, StatusCode};
use url::Url;

/// At most this many redirects per request; the next one fails (a loop ends here).
pub(super) const MAX_REDIRECTS: usize = 5;

/// The statuses that are redirects to follow: 301, 302, 303, 307, 308.
pub(super) fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// How the method and body change: 301, 302 and 303 turn into a GET without a body
/// (HEAD stays HEAD), as browsers and reqwest do; 307 and 308 keep both.
pub(super) fn next_method(status: StatusCode, method: &Method) -> (Method, bool) {
    match status {
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => (method.clone(), true),
        _ if *method == Method::HEAD => (Method::HEAD, false),
        _ => (Method::GET, false),
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The verdict on one hop.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Hop {
    /// Same origin as the request: follow with everything.
    SameOrigin,
    /// Another origin that the target allows: follow bare.
    CrossOrigin,
}

/// Judges the hop from `from` to `to` of a request first sent to `first`. `has_body`:
/// the redirected request would carry a body. The error is the reason, for
/// [`ApiError::Redirect`](super::ApiError::Redirect).
pub(super) fn judge(
    first: &Url,
    from: &Url,
    to: &Url,
    allow_cross_origin: bool,
    has_body: bool,
) -> Result<Hop, String> {
    if !matches!(to.scheme(), "http" | "https") {
        return Err(format!("`{}:` is not an HTTP URL", to.scheme()));
    }
    if (from.scheme() == "https" || first.scheme() == "https") && to.scheme() == "http" {
        return Err("it leaves HTTPS for plain HTTP, which is never followed".to_owned());
    }
    if !to.username().is_empty() || to.password().is_some() {
        return Err("the new address carries user info".to_owned());
    }
    if same_origin(first, to) {
        return Ok(Hop::SameOrigin);
    }
    if !allow_cross_origin {
        return Err(
            "another origin than the request's; credentials and request bodies are never sent \
             elsewhere (allow_cross_origin_redirects lets a target follow body-less requests \
             there, without credentials)"
                .to_owned(),
        );
    }
    if has_body {
        return Err(
            "another origin, and the request has a body (a login or a query), which is never \
             sent to another origin"
                .to_owned(),
        );
    }
    Ok(Hop::CrossOrigin)
}

/// Whether a request header stays off a hop to another origin: credentials, cookies,
/// anything marked sensitive, and any header a login put into the credential (a session
/// header).
pub(super) fn is_secret_header(
    name: &HeaderName,
    value: &HeaderValue,
    credential_names: &[&HeaderName],
) -> bool {
    name == AUTHORIZATION
        || name == PROXY_AUTHORIZATION
        || name == COOKIE
        || name.as_str() == "cookie2"
        || value.is_sensitive()
        || credential_names.contains(&name)
}

/// Where a redirect pointed, for messages: scheme, host, port and path; never user info,
/// query or fragment (they may carry a token).
pub(super) fn shown(url: &Url) -> String {
    match url.host_str() {
        Some(host) if matches!(url.scheme(), "http" | "https") => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let host = match url.host() {
                Some(url::Host::Ipv6(_)) => format!("[{}]", host.trim_matches(['[', ']'])),
                _ => host.to_owned(),
            };
            format!("{}://{host}{port}{}", url.scheme(), url.path())
        }
        _ => format!("{}:…", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn same_origin_is_followed_whatever_the_path() {
        let first = u("https://tower.example/passive/v2/api/login");
        let to = u("https://tower.example:443/v2/api/login");
        assert_eq!(judge(&first, &first, &to, false, true), Ok(Hop::SameOrigin));
    }

    #[test]
    fn another_host_port_or_scheme_is_refused_by_default() {
        let first = u("https://tower.example/v2/api/login");
        for to in [
            "https://evil.example/v2/api/login",
            "https://tower.example:8443/v2/api/login",
            "http://tower.example/v2/api/login",
        ] {
            let e = judge(&first, &first, &u(to), false, false).unwrap_err();
            assert!(
                e.contains("another origin") || e.contains("plain HTTP"),
                "{to}: {e}"
            );
        }
        // An upgrade to HTTPS is another origin too (another port): fix the URL instead.
        let plain = u("http://tower.example/v2/api");
        let e = judge(
            &plain,
            &plain,
            &u("https://tower.example/v2/api"),
            false,
            false,
        );
        assert!(e.unwrap_err().contains("another origin"));
    }

    #[test]
    fn allowed_cross_origin_takes_only_body_less_requests_and_never_downgrades() {
        let first = u("https://api.example/v1/reports/1");
        let cdn = u("https://cdn.example/r/1");
        assert_eq!(
            judge(&first, &first, &cdn, true, false),
            Ok(Hop::CrossOrigin)
        );
        let e = judge(&first, &first, &cdn, true, true).unwrap_err();
        assert!(e.contains("has a body"), "{e}");
        let e = judge(&first, &first, &u("http://cdn.example/r/1"), true, false).unwrap_err();
        assert!(e.contains("plain HTTP"), "{e}");
        // Not even after an allowed hop: the chain started on HTTPS.
        let e = judge(
            &first,
            &u("https://cdn.example/r/1"),
            &u("http://x.example/"),
            true,
            false,
        )
        .unwrap_err();
        assert!(e.contains("plain HTTP"), "{e}");
        let e = judge(&first, &first, &u("file:///etc/passwd"), true, false).unwrap_err();
        assert!(e.contains("not an HTTP URL"), "{e}");
        let e = judge(&first, &first, &u("https://u:p@api.example/"), true, false).unwrap_err();
        assert!(e.contains("user info"), "{e}");
    }

    #[test]
    fn methods_change_like_a_browser() {
        let post = Method::POST;
        assert_eq!(
            next_method(StatusCode::TEMPORARY_REDIRECT, &post),
            (Method::POST, true)
        );
        assert_eq!(
            next_method(StatusCode::PERMANENT_REDIRECT, &post),
            (Method::POST, true)
        );
        assert_eq!(
            next_method(StatusCode::SEE_OTHER, &post),
            (Method::GET, false)
        );
        assert_eq!(next_method(StatusCode::FOUND, &post), (Method::GET, false));
        assert_eq!(
            next_method(StatusCode::FOUND, &Method::HEAD),
            (Method::HEAD, false)
        );
        assert!(!is_redirect(StatusCode::NOT_MODIFIED));
        assert!(is_redirect(StatusCode::PERMANENT_REDIRECT));
    }

    #[test]
    fn shown_urls_lose_query_user_info_and_fragment() {
        assert_eq!(
            shown(&u("https://u:p@evil.example:8443/steal?token=abc#x")),
            "https://evil.example:8443/steal"
        );
        assert_eq!(shown(&u("http://[::1]:9/a")), "http://[::1]:9/a");
        assert_eq!(shown(&u("file:///etc/passwd")), "file:…");
    }

    #[test]
    fn secret_headers_stay_behind() {
        let plain = HeaderValue::from_static("application/json");
        let mut secret = HeaderValue::from_static("x");
        secret.set_sensitive(true);
        let session = HeaderName::from_static("backupdr-management-session");
        assert!(is_secret_header(&AUTHORIZATION, &plain, &[]));
        assert!(is_secret_header(&COOKIE, &plain, &[]));
        assert!(is_secret_header(&session, &plain, &[&session]));
        assert!(is_secret_header(
            &HeaderName::from_static("x-token"),
            &secret,
            &[]
        ));
        assert!(!is_secret_header(
            &reqwest::header::ACCEPT,
            &plain,
            &[&session]
        ));
    }
}
