//! Logging in, renewing tokens, and which accounts are read with which header.

use super::*;

#[tokio::test]
async fn password_grant_reads_every_account_the_user_sees() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    let c = adapter.collect(h.window()).await;
    let objects = c.inventory.expect("inventory");
    let w = h.world();
    let now = h.now();
    assert_eq!(objects.len(), w.relationships.len());
    let by_id: HashMap<&str, _> = objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for (r, rel) in w.relationships.iter().enumerate() {
        let o = by_id
            .get(rel.id.as_str())
            .expect("every relationship is an object");
        assert_eq!(o.name, rel.name());
        assert_eq!(o.tenant, w.accounts[rel.account].name);
        assert_eq!(o.object_type, "relationship");
        assert_eq!(o.protected, rel.interval.is_some(), "{}", o.name);
        assert_eq!(o.policy_rpo, rel.interval);
        assert_eq!(o.created, Some(rel.created));
        let a = w.activity(r, now).unwrap();
        assert_eq!(o.history_start, Some(a.start));
        let data_set = (a.status == "DONE").then_some(a.bytes_scanned);
        assert_eq!(o.stored_bytes, data_set, "{}", o.name);
        let clean = a.status == "DONE" && a.files_failed == 0;
        assert_eq!(o.last_success_hint, a.end.filter(|_| clean), "{}", o.name);
    }
    let tenants: BTreeSet<&str> = objects.iter().map(|o| o.tenant.as_str()).collect();
    assert_eq!(tenants.len(), 3);
    assert!(objects.iter().any(|o| o.name.starts_with("test-")));
    assert!(objects.iter().any(|o| !o.protected && o.policy.is_empty()));
    let grants = h.sim.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        (grants[0].grant_type.as_str(), grants[0].granted),
        ("password", true)
    );
}

#[tokio::test]
async fn refresh_token_grant_with_account_id_reads_one_account() {
    let h = start(SimOptions::default()).await;
    let globex = &h.world().accounts[2];
    let target = format!(
        "    auth_url: {}/auth/oauth/token\n    client_id: {REFRESH_CLIENT_ID}\n    refresh_token_file: {}\n    account_id: {}\n",
        h.base,
        h.secret("rt", data::MONITOR_REFRESH_TOKEN),
        globex.id
    );
    let c = h.adapter(&target).collect(h.window()).await;
    let objects = c.inventory.expect("inventory");
    let want: BTreeSet<&str> = h
        .world()
        .relationships_of(2)
        .map(|(_, r)| r.id.as_str())
        .collect();
    let got: BTreeSet<&str> = objects.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(got, want);
    assert!(objects.iter().all(|o| o.tenant == "Globex"));
    let grants = h.sim.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].grant_type, "refresh_token");
    assert_eq!(grants[0].client_id, REFRESH_CLIENT_ID);
    let headers: BTreeSet<Option<String>> = h
        .sim
        .requests()
        .into_iter()
        .filter(|s| s.path != "/api/accounts")
        .map(|s| s.account_header)
        .collect();
    assert_eq!(headers, BTreeSet::from([Some(globex.id.clone())]));
}

#[tokio::test]
async fn a_user_in_one_account_sees_only_that_account() {
    let h = start(SimOptions::default()).await;
    let target = format!(
        "    auth_url: {}/auth/oauth/token\n    client_id: {}\n    username: {}\n    password_file: {}\n",
        h.base,
        PASSWORD_CLIENT_IDS[1],
        data::GLOBEX_USER,
        h.secret("gpw", data::GLOBEX_PASSWORD)
    );
    let objects = h
        .adapter(&target)
        .collect(h.window())
        .await
        .inventory
        .unwrap();
    let tenants: BTreeSet<&str> = objects.iter().map(|o| o.tenant.as_str()).collect();
    assert_eq!(tenants, BTreeSet::from(["Globex"]));
    assert_eq!(objects.len(), h.world().relationships_of(2).count());
}

#[tokio::test]
async fn an_account_id_the_user_does_not_see_fails_every_collector() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target("    account_id: account-nope\n"));
    let c = adapter.collect(h.window()).await;
    for e in [
        c.inventory.unwrap_err().to_string(),
        c.jobs.unwrap_err().to_string(),
        c.warnings.unwrap_err().to_string(),
        c.audit.unwrap_err().to_string(),
        c.storage.unwrap_err().to_string(),
    ] {
        assert!(
            e.contains("account_id \"account-nope\" is not among"),
            "{e}"
        );
        assert!(e.contains("account-JeL97Ry3"), "{e}");
    }
}

#[tokio::test]
async fn every_call_but_accounts_carries_the_account_header() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(&format!("    audit_url: {}\n", h.base)));
    let c = adapter.collect(h.window()).await;
    assert!(c.inventory.is_ok() && c.audit.is_ok() && c.storage.is_ok());
    let seen = h.sim.requests();
    let ids: BTreeSet<String> = h.world().accounts.iter().map(|a| a.id.clone()).collect();
    let mut scoped = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for s in &seen {
        assert!(matches!(s.auth, AuthSeen::Ok(_)), "{s:?}");
        paths.insert(s.path.clone());
        if s.path == "/api/accounts" {
            continue;
        }
        if let Some(account) = s.path.strip_prefix("/audit/") {
            assert!(ids.contains(account), "{s:?}");
            continue;
        }
        let header = s.account_header.clone().expect("x-account-id");
        assert!(ids.contains(&header), "{s:?}");
        scoped.insert(header);
    }
    assert_eq!(scoped, ids, "every account was read");
    for p in [
        "/api/accounts",
        "/api/relationships-v2",
        "/api/data-brokers",
        "/api/accounts/relationships-stats",
    ] {
        assert!(paths.contains(p), "{p} was not called");
    }
}

#[tokio::test]
async fn expired_token_is_renewed_after_jwt_expired() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    assert!(adapter.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudsync:expire-tokens");
    let c = adapter.collect(h.window()).await;
    assert!(c.inventory.is_ok(), "{:?}", c.inventory.err());
    assert!(h.sim.requests().iter().any(|s| s.auth == AuthSeen::Expired));
    assert_eq!(h.sim.grants().len(), 2, "one login, one renewal");
    // Tokens also run out on the simulator's clock.
    h.ctx.clock.advance(Duration::from_secs(86_400 + 60));
    h.sim.clear_log();
    let c = adapter.collect(h.window()).await;
    assert!(c.jobs.is_ok());
    let expired = h
        .sim
        .requests()
        .iter()
        .filter(|s| s.auth == AuthSeen::Expired)
        .count();
    assert!(expired >= 1);
    assert_eq!(h.sim.grants().len(), 1);
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_before_it_expires() {
    let h = start(SimOptions {
        token_ttl: Duration::from_secs(5),
        ..SimOptions::default()
    })
    .await;
    let adapter = h.adapter(&h.password_target(""));
    let c = adapter.collect(h.window()).await;
    assert!(c.inventory.is_ok());
    assert!(
        h.sim.grants().len() > 1,
        "a token that expires within the margin is not reused"
    );
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|s| matches!(s.auth, AuthSeen::Ok(_)))
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_refused_login_without_the_password() {
    let h = start(SimOptions::default()).await;
    let target = format!(
        "    auth_url: {}/auth/oauth/token\n    client_id: {}\n    username: {}\n    password_file: {}\n",
        h.base,
        PASSWORD_CLIENT_IDS[0],
        data::MONITOR_USER,
        h.secret("bad", "not-the-password-123")
    );
    let c = h.adapter(&target).collect(h.window()).await;
    let Err(VendorError::Api(e @ ApiError::LoginRefused { .. })) = &c.inventory else {
        panic!("{:?}", c.inventory);
    };
    let text = e.to_string();
    assert!(text.contains("POST /cloudsync/auth/oauth/token"), "{text}");
    assert!(text.contains("Wrong email or password"), "{text}");
    assert!(!text.contains("not-the-password-123"));
}

#[test]
fn config_problems_name_the_key() {
    let parse = |target: &str| {
        let text = format!("targets:\n  - name: cs\n    vendor: cloudsync\n{target}");
        Settings::parse(&text, Path::new("t.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = parse("    client_id: c\n    refresh_token_env: RT\n");
    assert!(
        e.contains("targets[0] (name \"cs\"): `auth_url` is required"),
        "{e}"
    );
    let e = parse(
        "    auth_url: http://x\n    client_id: c\n    refresh_token: a\n    refresh_token_file: /b\n",
    );
    assert!(
        e.contains(
            "`refresh_token`, `refresh_token_file` and `refresh_token_env` are alternatives"
        ),
        "{e}"
    );
    let e = parse(
        "    auth_url: http://x\n    client_id: c\n    refresh_token: a\n    audit_url: ftp://a\n",
    );
    assert!(
        e.contains("`audit_url`: ftp://a/ is not an http(s) URL"),
        "{e}"
    );
    let e =
        parse("    auth_url: http://x\n    client_id: c\n    refresh_token: a\n    origin: o\n");
    assert!(
        e.contains("`origin` is not a key of vendor cloudsync"),
        "{e}"
    );
}
