//! The simulator's wire behaviour.

use super::*;

/// The simulator's own wire behaviour, seen with a plain HTTP client.
#[tokio::test]
async fn simulator_speaks_cloudtower() {
    use serde_json::{Value, json};

    let h = start().await;
    backup_exporter::api::install_crypto_provider();
    let http = reqwest::Client::new();
    let post = |mount: &str, op: &str, auth: Option<String>, body: Value| {
        let mut req = http.post(h.url(&format!("{mount}v2/api/{op}"))).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let request_id = resp.headers().contains_key("x-tower-request-id");
            let body: Value = resp.json().await.unwrap();
            (status, request_id, body)
        }
    };
    let key = || Some(DEMO_API_KEY.to_owned());

    let version: Value = http
        .get(h.url("v2/api/get-version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version, json!("4.6.0"));

    let (status, _, body) = post(
        "",
        "login",
        None,
        json!({"username": DEMO_USER, "password": DEMO_PASSWORD, "source": "LOCAL"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["task_id"].is_null());
    let token = body["data"]["token"].as_str().unwrap().to_owned();

    let tests = json!({"where": {"name_starts_with": "test-"}});
    let (status, request_id, body) = post("", "get-vms", Some(token.clone()), tests.clone()).await;
    assert_eq!(status, 200);
    assert!(request_id);
    let names: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "a bare array: {names:?}");
    let (_, _, count) = post(
        "",
        "get-vms-connection",
        Some(format!("Bearer {token}")),
        tests,
    )
    .await;
    assert_eq!(count, json!({"aggregate": {"count": 2}}));

    // first/after and first/skip walk the same order.
    let all = post(
        "",
        "get-alerts",
        key(),
        json!({"orderBy": "local_start_time_ASC"}),
    )
    .await
    .2;
    let all = all.as_array().unwrap();
    let page2 = post(
        "",
        "get-alerts",
        key(),
        json!({"orderBy": "local_start_time_ASC", "first": 5, "after": all[4]["id"]}),
    )
    .await
    .2;
    let skipped = post(
        "",
        "get-alerts",
        key(),
        json!({"orderBy": "local_start_time_ASC", "first": 5, "skip": 5}),
    )
    .await
    .2;
    assert_eq!(page2, skipped);
    assert_eq!(page2.as_array().unwrap()[..], all[5..10]);

    let (status, _, body) = post("", "get-vms", key(), json!({"where": {"colour": "red"}})).await;
    assert_eq!(status, 400);
    assert_eq!(body["path"], "/get-vms");
    assert_eq!(body["status"], 400);
    assert!(body["message"].as_str().unwrap().contains("colour"));

    let (status, _, body) = post("", "get-vms", None, json!({})).await;
    assert_eq!((status, body["status"].clone()), (401, json!(401)));
    let (status, _, _) = post("", "get-vms", Some("Bearer nope".into()), json!({})).await;
    assert_eq!(status, 401);

    let (status, _, body) = post("old/", "get-backup-plans", key(), json!({})).await;
    assert_eq!(
        (status, body["path"].clone()),
        (404, json!("/get-backup-plans"))
    );
    let (status, _, body) = post("old/", "get-vms", key(), json!({"first": 1})).await;
    assert_eq!(status, 200);
    assert!(
        body[0].get("backup_plans").is_none(),
        "no backup plans before 4.6"
    );
    let (status, _, _) = post("", "get-teapots", key(), json!({})).await;
    assert_eq!(status, 404);

    let (status, _, body) = post(
        "",
        "login",
        None,
        json!({"username": DEMO_USER, "password": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["path"], "/login");
}
