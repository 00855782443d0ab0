//! Both auth layers and session lifetime.

use super::*;

#[tokio::test]
async fn expired_google_token_gets_a_new_token_and_session() {
    let env = start(10, SimOptions::default()).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    let by_hand = env.login_by_hand().await;
    env.fault("backupdr:expire-tokens");

    // What the console answers: Google's page, not JSON.
    let r = env.get("actifio/cluster", &by_hand).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("Error 401 (Unauthorized)"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());

    let before = env.requests("401");
    let c = adapter.collect(env.window()).await;
    c.inventory.expect("inventory after re-login");
    c.jobs.expect("jobs after re-login");
    assert!(
        env.requests("401") > before,
        "the stale credential was tried first"
    );
}

#[tokio::test]
async fn idle_session_gets_a_json_401_and_a_new_session() {
    let opts = SimOptions {
        session_idle: Duration::from_secs(600),
        ..SimOptions::default()
    };
    let env = start(10, opts).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    let by_hand = env.login_by_hand().await;
    env.ctx.clock.advance(Duration::from_secs(1200));

    let r = env.get("actifio/cluster", &by_hand).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Actifio");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["err_code"], 10011);

    let before = env.requests("401");
    adapter
        .probe()
        .await
        .expect("probe after the session idled out");
    assert_eq!(env.requests("401"), before + 1);
}

#[tokio::test]
async fn a_session_that_is_used_does_not_idle_out_and_header_can_opt_out() {
    let opts = SimOptions {
        session_idle: Duration::from_secs(600),
        ..SimOptions::default()
    };
    let env = start(8, opts).await;
    let auth = env.login_by_hand().await;
    for _ in 0..3 {
        env.ctx.clock.advance(Duration::from_secs(400));
        let r = env.get("actifio/cluster", &auth).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    env.ctx.clock.advance(Duration::from_secs(400));
    let r = env
        .get("actifio/cluster", &auth)
        .header("Actifio-No-Session-Refresh", "TRUE")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    env.ctx.clock.advance(Duration::from_secs(400));
    let r = env.get("actifio/cluster", &auth).send().await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "the opted-out call did not extend the session"
    );
}

#[tokio::test]
async fn close_deletes_the_session_and_a_lookup_then_says_10040() {
    let env = start(8, SimOptions::default()).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    assert!(env.sim.ended_sessions().is_empty());
    adapter.close().await;
    let ended = env.sim.ended_sessions();
    assert_eq!(ended.len(), 1);
    let mine = env.login_by_hand().await;
    let r = env
        .get(&format!("actifio/session/{}", ended[0]), &mine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["err_code"], 10040);
    assert_eq!(body["err_message"], "session id is not found");
    let r = env
        .get(&format!("actifio/session/{}", mine.1), &mine)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn token_file_is_read_again_at_each_login() {
    let env = start(8, SimOptions::default()).await;
    let file = env.dir.path().join("access-token");
    let (token, _) = env.login_by_hand().await;
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let yaml = env.yaml(&format!("    token_file: \"{}\"\n", file.display()), "");
    let adapter = env.adapter_from(&yaml);
    adapter.probe().await.expect("probe with a token file");

    env.fault("backupdr:expire-tokens");
    let e = adapter.probe().await.unwrap_err().to_string();
    assert!(e.contains("login refused") && e.contains("401"), "{e}");
    assert!(!e.contains(&token), "the token leaked: {e}");

    let (fresh, _) = env.login_by_hand().await;
    std::fs::write(&file, &fresh).unwrap();
    adapter
        .probe()
        .await
        .expect("probe after the token file was refreshed");
}

#[tokio::test]
async fn token_endpoint_checks_grant_signature_and_lifetime() {
    let env = start(8, SimOptions::default()).await;
    let sa = ServiceAccount::from_file(&env.key_file()).unwrap();
    let post = |grant: &'static str, assertion: String| {
        let uri = sa.token_uri.clone();
        async move {
            let r = reqwest::Client::new()
                .post(uri)
                .form(&[("grant_type", grant), ("assertion", assertion.as_str())])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let good = sa.assertion(env.now(), CLOUD_PLATFORM_SCOPE).unwrap();
    let (status, body) = post(JWT_BEARER_GRANT, good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);

    // Change one character in the middle of the signature (still valid base64url).
    let mut forged: Vec<char> = good.chars().collect();
    let at = forged.len() - 20;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let (status, body) = post(JWT_BEARER_GRANT, forged).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Invalid JWT Signature.");

    let stale = sa
        .assertion(
            env.now() - SignedDuration::from_hours(2),
            CLOUD_PLATFORM_SCOPE,
        )
        .unwrap();
    let (status, body) = post(JWT_BEARER_GRANT, stale).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("iat and exp"),
        "{body}"
    );

    let (status, body) = post("client_credentials", good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn an_unknown_service_account_is_a_refused_login() {
    let env = start(8, SimOptions::default()).await;
    let mut key: Value =
        serde_json::from_str(&std::fs::read_to_string(env.key_file()).unwrap()).unwrap();
    key["client_email"] = Value::String("someone-else@other.iam.gserviceaccount.com".into());
    let path = env.dir.path().join("other.json");
    std::fs::write(&path, key.to_string()).unwrap();
    let yaml = env.yaml(
        &format!("    credentials_file: \"{}\"\n", path.display()),
        "",
    );
    let e = env
        .adapter_from(&yaml)
        .probe()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("POST /backupdr/token: login refused: HTTP 400"),
        "{e}"
    );
    assert!(
        e.contains("invalid_grant: Invalid grant: account not found"),
        "{e}"
    );
    let failures = env
        .metrics
        .auth_failures
        .get_or_create(&backup_exporter::api::TargetLabels {
            vendor: "backupdr".into(),
            target: "bdr".into(),
        })
        .get();
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_and_the_session_kept() {
    // A 17 s token is "about to expire" (15 s margin) a second after it is issued.
    let opts = SimOptions {
        token_ttl: Duration::from_secs(17),
        ..SimOptions::default()
    };
    let env = start(8, opts).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    assert_eq!((env.sim.token_grants(), env.sim.session_logins()), (1, 1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    adapter.probe().await.unwrap();
    assert_eq!(env.sim.token_grants(), 2, "a new Google token");
    assert_eq!(env.sim.session_logins(), 1, "the same console session");
    assert_eq!(env.requests("401"), 0);
}
