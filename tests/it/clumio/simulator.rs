//! The simulator's wire behaviour seen by a plain HTTP client: what the adapter's
//! correctness rests on.

use backup_exporter::vendors::clumio::sim::DEMO_TOKEN;
use backup_exporter::vendors::clumio::sim::data::{self, planted};
use serde_json::Value;

use super::Env;

async fn get(env: &Env, path: &str, accept: Option<&str>, ou: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", env.url))
        .bearer_auth(DEMO_TOKEN);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if let Some(o) = ou {
        req = req.header("x-clumio-organizationalunit-context", o);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn unsupported_accept_versions_are_refused_and_missing_accept_means_latest() {
    let env = Env::start(20).await;
    let (status, body) = get(
        &env,
        "/tasks",
        Some("application/api.clumio.tasks=v7+json"),
        None,
    )
    .await;
    assert_eq!(status, 406);
    assert_eq!(body["errors"][0]["error_code"], 406);
    let volume = &env.world().assets[planted::FIRST_ORDINARY];
    assert_eq!(volume.kind, data::Kind::Ebs);
    let path = format!(
        "/backups/aws/ebs-volumes?filter=%7B%22volume_id%22%3A%7B%22%24eq%22%3A%22{}%22%7D%7D",
        volume.id
    );
    let (_, v1) = get(
        &env,
        &path,
        Some("application/api.clumio.backup-aws-ebs-volumes=v1+json"),
        None,
    )
    .await;
    let (_, v2) = get(&env, &path, None, None).await;
    let first = |b: &Value| b["_embedded"]["items"][0].clone();
    assert_eq!(first(&v1)["type"], "gp2");
    assert!(first(&v1).get("utilized_size_in_bytes").is_none());
    assert_eq!(first(&v2)["type"], "clumio_backup");
    assert!(first(&v2)["utilized_size_in_bytes"].is_u64());
}

#[tokio::test]
async fn lists_page_with_a_default_and_a_capped_limit() {
    let env = Env::start(20).await;
    let (_, page) = get(&env, "/audit-trails", None, None).await;
    assert_eq!(page["limit"], 20);
    assert_eq!(page["current_count"], 20);
    assert_eq!(page["start"], "1");
    let total = page["total_count"].as_u64().unwrap();
    assert_eq!(
        page["total_pages_count"].as_u64().unwrap(),
        total.div_ceil(20)
    );
    assert!(
        page["_links"]["_next"]["href"]
            .as_str()
            .unwrap()
            .starts_with("/audit-trails?limit=20&start=2")
    );
    assert!(
        page["filter_applied"]
            .as_str()
            .unwrap()
            .contains("start_timestamp")
    );
    let (_, big) = get(&env, "/audit-trails?limit=5000", None, None).await;
    assert_eq!(big["limit"], 100);
    let last = big["total_pages_count"].as_u64().unwrap();
    let (_, end) = get(
        &env,
        &format!("/audit-trails?limit=5000&start={last}"),
        None,
        None,
    )
    .await;
    assert!(end["_links"].get("_next").is_none());
    assert!(end["_links"]["_prev"].is_object());
    let (status, body) = get(&env, "/audit-trails?start=zero", None, None).await;
    assert_eq!(
        (status, body["errors"][0]["error_code"].as_u64()),
        (400, Some(400))
    );
}

#[tokio::test]
async fn filters_outside_the_documented_fields_or_six_months_are_refused() {
    let env = Env::start(20).await;
    let (status, body) = get(
        &env,
        "/tasks?filter=%7B%22colour%22%3A%7B%22%24eq%22%3A1%7D%7D",
        None,
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["error_message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let old = super::ts(super::ORIGIN - 200 * 86_400).to_string();
    let filter = serde_json::json!({ "created_timestamp": { "$gte": old } }).to_string();
    let q: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    let (status, body) = get(&env, &format!("/tasks?filter={q}"), None, None).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["error_message"]
            .as_str()
            .unwrap()
            .contains("6 months")
    );
}

#[tokio::test]
async fn the_ou_context_scopes_lists_and_unknown_units_are_refused() {
    let env = Env::start(20).await;
    let (_, all) = get(&env, "/organizational-units", None, None).await;
    assert_eq!(all["total_count"], 5);
    let (_, eng) = get(&env, "/organizational-units", None, Some(data::ENGINEERING)).await;
    let names: Vec<&str> = eng["_embedded"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Engineering", "Platform"]);
    let (_, vols) = get(
        &env,
        "/datasources/aws/ebs-volumes?limit=100",
        None,
        Some(data::FINANCE),
    )
    .await;
    assert!(
        vols["_embedded"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["organizational_unit_id"] == data::FINANCE)
    );
    assert!(
        vols.get("filter_applied").is_none(),
        "EBS volume lists carry no filter_applied"
    );
    let (status, _) = get(&env, "/tasks", None, Some("no-such-ou")).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_request_without_a_valid_token_gets_clumios_401() {
    let env = Env::start(20).await;
    let r = reqwest::Client::new()
        .get(format!("{}/tasks", env.url))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["error_code"], 402);
    let r = reqwest::Client::new()
        .post(format!("{}/-/api-tokens", env.url))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = reqwest::Client::new()
        .get(format!("{}/tasks", env.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn policies_page_by_token() {
    let env = Env::start(20).await;
    let (_, first) = get(&env, "/policies/definitions", None, None).await;
    let next = first["_links"]["_next"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first.get("total_count").is_none());
    assert!(next.starts_with("/policies/definitions?start="));
    let (_, second) = get(&env, &next, None, None).await;
    assert!(second["_links"].get("_next").is_none());
    let count =
        first["current_count"].as_u64().unwrap() + second["current_count"].as_u64().unwrap();
    assert_eq!(count as usize, env.world().policies.len());
    assert!(first["_embedded"]["items"][0]["created_time"].is_i64());
}
