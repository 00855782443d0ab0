//! Logins, API keys and sessions that end.

use super::*;

#[tokio::test]
async fn expired_tokens_lead_to_a_new_login() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    assert!(a.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudtower:expire-tokens");
    let c = a.collect(h.window()).await;
    assert!(h.requests("401") >= 1, "the old token was refused");
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn api_key_works_raw_and_with_bearer() {
    let h = start().await;
    let key = h.secret("key", DEMO_API_KEY);
    let a = h.adapter("", &format!("token_file: {}", key.display()));
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
    let bearer = h.secret("bearer", &format!("Bearer {DEMO_API_KEY}\n"));
    let b = h.adapter("", &format!("token_file: {}", bearer.display()));
    assert!(b.collect(h.window()).await.inventory.is_ok());
}

#[tokio::test]
async fn unknown_api_key_is_refused_without_showing_it() {
    let h = start().await;
    let key = h.secret("key", "ct-apikey-not-known-to-the-tower");
    let a = h.adapter("", &format!("token_file: {}", key.display()));
    let c = a.collect(h.window()).await;
    let e = error_text(&c.inventory);
    assert!(e.contains("POST /v2/api/get-"), "{e}");
    assert!(e.contains("401"), "{e}");
    assert!(!e.contains("not-known"), "{e}");
}

#[tokio::test]
async fn wrong_password_is_a_refused_login() {
    let h = start().await;
    let pw = h.secret("pw", "guess-again");
    let a = h.adapter(
        "",
        &format!("username: {DEMO_USER}\npassword_file: {}", pw.display()),
    );
    let e = a.probe().await.unwrap_err().to_string();
    assert!(e.contains("POST /v2/api/login: login refused"), "{e}");
    assert!(e.contains("incorrect"), "{e}");
    assert!(!e.contains("guess-again"), "{e}");
    let failures = h
        .metrics
        .auth_failures
        .get_or_create(&TargetLabels {
            vendor: "cloudtower".into(),
            target: "t".into(),
        })
        .get();
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn ldap_user_logs_in_with_its_source() {
    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let keys = |source: &str| {
        format!(
            "username: {DEMO_LDAP_USER}\nuser_source: {source}\npassword_file: {}",
            pw.display()
        )
    };
    assert!(h.adapter("", &keys("LDAP")).probe().await.is_ok());
    assert!(h.adapter("", &keys("LOCAL")).probe().await.is_err());
}
