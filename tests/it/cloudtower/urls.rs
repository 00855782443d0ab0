//! The forms of `url` people give: the bare tower host (or a proxy's sub-path), with or
//! without CloudTower's API path `/v2/api`, with or without a trailing slash.

use super::*;

#[tokio::test]
async fn every_url_form_reaches_the_same_api_base() {
    let h = start().await;
    let bare = format!("{}cloudtower", h.server.base_url());
    let want = format!("{bare}/v2/api");
    for url in [
        bare.clone(),
        format!("{bare}/"),
        format!("{bare}/v2/api"),
        format!("{bare}/v2/api/"),
        format!("{bare}/V2/API"),
        format!("{bare}/#/vms"),
    ] {
        let a = h.adapter_at(&url, &h.password_keys());
        let probe = a.probe().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            probe.starts_with(&format!("CloudTower 4.6.0 at {want}: ")),
            "{url}: {probe}"
        );
        h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
    }
}

#[tokio::test]
async fn an_older_tower_and_a_passive_node_take_every_form_too() {
    let h = start().await;
    for mount in ["old", "old/v2/api/"] {
        let a = h.adapter_at(&h.url(mount), &h.password_keys());
        let probe = a.probe().await.unwrap();
        assert!(
            probe.contains(&format!(" at {}v2/api: ", h.url("old/"))),
            "{probe}"
        );
        h.assert_matches_world(a.collect(h.window()).await, Tower::Old, &Scope::all());
    }
    let a = h.adapter_at(&h.url("passive/v2/api"), &h.password_keys());
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
}

/// The simulated tower answers only under `/v2/api`, as a real one does: an adapter that
/// dropped or doubled the API path would get 404 and fail, not pass by luck.
#[tokio::test]
async fn the_simulator_serves_the_api_only_under_v2_api() {
    let h = start().await;
    backup_exporter::api::install_crypto_provider();
    let client = reqwest::Client::new();
    let login =
        serde_json::json!({"username": DEMO_USER, "password": DEMO_PASSWORD, "source": "LOCAL"});
    for (path, status) in [
        ("v2/api/login", 200),
        ("login", 404),
        ("v2/api/v2/api/login", 404),
        ("api/login", 404),
    ] {
        let resp = client.post(h.url(path)).json(&login).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "POST {path}");
    }
}
