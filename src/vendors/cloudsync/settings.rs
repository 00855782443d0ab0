//! The target keys of a Cloud Sync target and what makes them valid.

use url::Url;

use crate::config::TargetSettings;

fn http_url(key: &str, url: &Url) -> Option<String> {
    (!matches!(url.scheme(), "http" | "https"))
        .then(|| format!("`{key}`: {url} is not an http(s) URL"))
}

pub(super) fn validate(target: &TargetSettings) -> Vec<String> {
    let raw = &target.raw;
    let mut problems = Vec::new();
    match &raw.auth_url {
        None => problems.push(
            "`auth_url` is required: the full token URL, e.g. https://netapp-cloud-account.auth0.com/oauth/token".into(),
        ),
        Some(u) => problems.extend(http_url("auth_url", u)),
    }
    if raw.client_id.as_deref().is_none_or(|c| c.trim().is_empty()) {
        problems.push("`client_id` is required (the Auth0 client id of the grant)".into());
    }
    for (key, url) in [("url", &raw.url), ("audit_url", &raw.audit_url)] {
        if let Some(u) = url {
            problems.extend(http_url(key, u));
        }
    }
    if raw
        .account_id
        .as_deref()
        .is_some_and(|a| a.trim().is_empty())
    {
        problems.push("`account_id` must not be empty (leave it out to read every account)".into());
    }
    // Two sources for one secret are reported by the config layer already.
    let password = raw.secret("password").ok().flatten();
    let refresh = raw.secret("refresh_token").ok().flatten();
    let username = raw.username.as_deref().filter(|u| !u.trim().is_empty());
    match (username, password.is_some(), refresh.is_some()) {
        (_, true, true) => problems.push(
            "`password` and `refresh_token` are alternatives (password grant or refresh-token grant): set only one".into(),
        ),
        (Some(_), false, false) => problems.push(
            "`password` is required with `username` (as `password_file`, `password_env` or `password`)".into(),
        ),
        (None, true, false) => problems.push("`username` is required with `password`".into()),
        (Some(_), false, true) => problems.push(
            "`username` is not used with `refresh_token`: the refresh token says who the user is".into(),
        ),
        (None, false, false) => problems.push(
            "set `username` and `password` (password grant) or `refresh_token` (refresh-token grant)".into(),
        ),
        _ => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Settings;

    fn problems(target: &str) -> String {
        let text = format!("targets:\n  - name: cs\n    vendor: cloudsync\n{target}");
        match Settings::parse(&text, Path::new("t.yml")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_password_target_is_valid() {
        assert_eq!(
            problems(
                "    auth_url: https://netapp-cloud-account.auth0.com/oauth/token\n    client_id: QC3AgHk6qdbmC7Yyr82ApBwaaJLwRrNO\n    username: a@b.c\n    password_env: CS_PW\n"
            ),
            ""
        );
        assert_eq!(
            problems(
                "    auth_url: https://netapp-cloud-account.auth0.com/oauth/token\n    client_id: Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC\n    refresh_token_file: /x\n    account_id: account-1\n    audit_url: https://cloudmanager.cloud.netapp.com\n"
            ),
            ""
        );
    }

    #[test]
    fn missing_and_conflicting_keys_are_named() {
        let e = problems("    username: a@b.c\n");
        assert!(e.contains("`auth_url` is required"), "{e}");
        assert!(e.contains("`client_id` is required"), "{e}");
        assert!(e.contains("`password` is required with `username`"), "{e}");
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    username: u\n    password: p\n    refresh_token: r\n",
        );
        assert!(e.contains("are alternatives"), "{e}");
        let e = problems("    auth_url: http://x/t\n    client_id: c\n");
        assert!(e.contains("set `username` and `password`"), "{e}");
        let e = problems(
            "    auth_url: ftp://x/t\n    client_id: c\n    refresh_token: r\n    username: u\n",
        );
        assert!(
            e.contains("`auth_url`: ftp://x/t is not an http(s) URL"),
            "{e}"
        );
        assert!(
            e.contains("`username` is not used with `refresh_token`"),
            "{e}"
        );
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    password: p\n    account_id: ' '\n",
        );
        assert!(e.contains("`username` is required with `password`"), "{e}");
        assert!(e.contains("`account_id` must not be empty"), "{e}");
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    refresh_token: r\n    clusters: [a]\n",
        );
        assert!(
            e.contains("`clusters` is not a key of vendor cloudsync"),
            "{e}"
        );
    }
}
