//! The list endpoints: each builds the full listing for the request's scope, filter and
//! sort; paging is applied by the caller.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::data::{self, Kind, OUS};
use super::query::{self, Applied, Field, alias, field, ignored};
use super::{
    Admitted, DEFAULT_WINDOW_SECONDS, Endpoint, Inner, POLICY_PAGE, TASK_HISTORY_SECONDS,
    error_response, json_response, render,
};

impl Inner {
    pub(super) fn ous(&self, a: &Admitted) -> Result<(Vec<Value>, Applied), String> {
        const FIELDS: &[Field] = &[
            field("name", &["$eq", "$contains"]),
            field("parent_id", &["$eq"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), FIELDS)?;
        let items = OUS
            .iter()
            .filter(|o| a.scope.contains(&o.id))
            .map(render::ou)
            .filter(|v| query::matches(v, &filter, FIELDS, &[]))
            .collect();
        Ok((items, Applied::default()))
    }

    /// Policies page by an opaque token and take no `limit`.
    pub(super) fn policies(&self, a: &Admitted) -> Response {
        const FIELDS: &[Field] = &[
            field("name", &["$eq", "$begins_with"]),
            field("operations.type", &["$in"]),
            field("activation_status", &["$eq"]),
        ];
        let filter = match query::parse_filter(a.query.get("filter"), FIELDS) {
            Ok(f) => f,
            Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
        };
        let items: Vec<Value> = self
            .world
            .policies
            .iter()
            .map(|p| render::policy(p, a.now))
            .filter(|v| query::matches(v, &filter, FIELDS, &[]))
            .collect();
        let token = |page: usize| {
            format!(
                "{:016x}",
                crate::sim::mix(self.world.seed, "policy-page", page as u64)
            )
        };
        let pages = items.len().div_ceil(POLICY_PAGE).max(1);
        let page = match a.query.get("start").filter(|s| !s.is_empty()) {
            None => 0,
            Some(t) => match (0..pages).find(|p| token(*p) == t) {
                Some(p) => p,
                None => return error_response(StatusCode::BAD_REQUEST, "Invalid page token"),
            },
        };
        let slice: Vec<Value> = items
            .iter()
            .skip(page * POLICY_PAGE)
            .take(POLICY_PAGE)
            .cloned()
            .collect();
        let with_filter = |start: &str| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            s.append_pair("start", start);
            if let Some(f) = a.query.get("filter") {
                s.append_pair("filter", f);
            }
            json!({ "href": format!("/policies/definitions?{}", s.finish()), "type": "get", "templated": false })
        };
        let mut links = json!({ "_self": { "href": "/policies/definitions", "type": "get", "templated": false } });
        if page + 1 < pages {
            links["_next"] = with_filter(&token(page + 1));
        }
        let body = json!({
            "_embedded": { "items": slice },
            "_links": links,
            "current_count": slice.len(),
            "start": token(page),
        });
        json_response(Endpoint::Policies, a.version, body)
    }

    pub(super) fn datasources(
        &self,
        kind: Kind,
        a: &Admitted,
    ) -> Result<(Vec<Value>, Applied), String> {
        const COMMON: &[Field] = &[
            field("name", &["$eq", "$contains"]),
            field("protection_status", &["$eq", "$in"]),
            alias(
                "protection_info.policy_id",
                &["$eq"],
                "protection_info.policy_id",
            ),
            field("is_deleted", &["$eq", "$in"]),
            field("environment_id", &["$eq"]),
            field("account_native_id", &["$eq"]),
            field("volume_native_id", &["$eq", "$contains"]),
            field("instance_native_id", &["$eq", "$contains"]),
            field("aws_region", &["$eq"]),
            alias("availability_zone", &["$eq"], "aws_az"),
            alias(
                "backup_status",
                &["$in"],
                "backup_status_info.backup_status",
            ),
            ignored("deactivated", &["$eq"]),
            field("tags.id", &["$all"]),
            field("organizational_unit_id", &["$in"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), COMMON)?;
        let lookback = match a.query.get("lookback_days") {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| format!("Invalid value for lookback_days: {v:?}"))?,
            ),
        };
        let items = self
            .world
            .assets
            .iter()
            .filter(|x| x.kind == kind && a.scope.contains(&x.ou))
            .map(|x| {
                let latest = self.world.backups(x, a.now).first().map(|b| b.start);
                render::datasource(&self.world, x, a.now, lookback, latest)
            })
            .filter(|v| query::matches(v, &filter, COMMON, &[]))
            .collect();
        // The EBS volume list has no `filter_applied`; the others echo it.
        let applied = Applied {
            filter: (kind != Kind::Ebs).then(|| query::applied(&filter, &[])),
            sort: None,
        };
        Ok((items, applied))
    }

    pub(super) fn backups(
        &self,
        kind: Kind,
        a: &Admitted,
    ) -> Result<(Vec<Value>, Applied), String> {
        let id_field = match kind {
            Kind::Ebs => "volume_id",
            Kind::Ec2 => "instance_id",
            Kind::ProtectionGroup => "protection_group_id",
            Kind::Rds => "resource_id",
        };
        let fields = [
            Field {
                name: id_field,
                ops: &["$eq"],
                // RDS backups name their resource `database_id`.
                path: Some(if kind == Kind::Rds {
                    "database_id"
                } else {
                    id_field
                }),
            },
            field("start_timestamp", &["$lte", "$gt"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), &fields)?;
        let sort = a.query.get("sort").unwrap_or("-start_timestamp");
        let ascending = match sort {
            "start_timestamp" => true,
            "-start_timestamp" => false,
            other => return Err(format!("Invalid sort field: {other:?}")),
        };
        let only = query::operand(&filter, id_field, "$eq").and_then(Value::as_str);
        let mut backups: Vec<data::Backup> = self
            .world
            .listed_assets()
            .filter(|x| {
                x.kind == kind && a.scope.contains(&x.ou) && only.is_none_or(|id| id == x.id)
            })
            .flat_map(|x| self.world.backups(x, a.now))
            .collect();
        backups.sort_by(|x, y| {
            if ascending {
                x.start.cmp(&y.start)
            } else {
                y.start.cmp(&x.start)
            }
        });
        let items = backups
            .iter()
            .map(|b| render::backup(&self.world, b, a.version))
            .filter(|v| query::matches(v, &filter, &fields, &[]))
            .collect();
        Ok((
            items,
            Applied {
                filter: Some(query::applied(&filter, &[])),
                sort: Some(sort.to_owned()),
            },
        ))
    }

    /// Tasks are filtered as structs (every documented task filter field is one of theirs)
    /// and rendered only when their page is.
    pub(super) fn tasks(&self, a: &Admitted) -> Result<(Vec<data::Task>, Applied), String> {
        const FIELDS: &[Field] = &[
            field("primary_entity.value", &["$contains"]),
            field("primary_entity.id", &["$contains", "$eq"]),
            field("created_timestamp", &["$lte", "$gte"]),
            field("type", &["$in"]),
            field("category", &["$in"]),
            field("genre", &["$in"]),
            field("status", &["$in"]),
            field("id", &["$in"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), FIELDS)?;
        let gte = query::time_operand(&filter, "created_timestamp", "$gte")?;
        let lte = query::time_operand(&filter, "created_timestamp", "$lte")?;
        if gte.is_some_and(|t| t < a.now - TASK_HISTORY_SECONDS) {
            return Err("created_timestamp filter cannot exceed the last 6 months".into());
        }
        let from = gte.unwrap_or(a.now - DEFAULT_WINDOW_SECONDS);
        let to = lte.unwrap_or(a.now);
        let system = [(
            "created_timestamp",
            "$gte",
            Value::String(render::iso(from)),
        )];
        let items = self
            .world
            .tasks(from, to, a.now)
            .into_iter()
            .filter(|t| a.scope.contains(&self.world.task_ou(t)))
            .filter(|t| task_matches(&self.world, t, &filter))
            .collect();
        Ok((
            items,
            Applied {
                filter: Some(query::applied(&filter, &system)),
                sort: None,
            },
        ))
    }

    pub(super) fn audit(&self, a: &Admitted) -> Result<(Vec<Value>, Applied), String> {
        const FIELDS: &[Field] = &[
            field("start_timestamp", &["$gte", "$lt", "$eq"]),
            field("category", &["$in"]),
            field("action", &["$in"]),
            field("status", &["$in"]),
            field("user_email", &["$in"]),
            field("ip_address", &["$eq"]),
            field("primary_entity.id", &["$in"]),
            field("primary_entity.type", &["$eq"]),
            field("primary_entity.value", &["$in"]),
            field("parent_entity.type", &["$in"]),
            field("parent_entity.value", &["$in"]),
            field("parent_entity.id", &["$in"]),
            ignored("organizational_unit_id", &["$eq"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), FIELDS)?;
        // `$eq` is "this many seconds back from now" and takes precedence.
        let relative = query::operand(&filter, "start_timestamp", "$eq")
            .map(|v| v.as_i64().ok_or("start_timestamp $eq takes seconds"))
            .transpose()?;
        let (from, to) = match relative {
            Some(secs) => (a.now - secs, a.now + 1),
            None => (
                query::time_operand(&filter, "start_timestamp", "$gte")?
                    .unwrap_or(a.now - DEFAULT_WINDOW_SECONDS),
                query::time_operand(&filter, "start_timestamp", "$lt")?.unwrap_or(a.now + 1),
            ),
        };
        let skip: &[(&str, &str)] = &[
            ("start_timestamp", "$eq"),
            ("start_timestamp", "$gte"),
            ("start_timestamp", "$lt"),
        ];
        let items = self
            .world
            .audit(from, to, a.now)
            .iter()
            .filter(|e| a.scope.contains(&e.ou))
            .map(|e| render::audit(&self.world, e))
            .filter(|v| query::matches(v, &filter, FIELDS, skip))
            .collect();
        let system = [("start_timestamp", "$gte", Value::String(render::iso(from)))];
        Ok((
            items,
            Applied {
                filter: Some(query::applied(&filter, &system)),
                sort: None,
            },
        ))
    }

    pub(super) fn alerts(&self, a: &Admitted) -> Result<(Vec<Value>, Applied), String> {
        const FIELDS: &[Field] = &[
            field("type", &["$in"]),
            field("status", &["$in"]),
            field("severity", &["$in"]),
            field("raised_timestamp", &["$lte", "$gte"]),
            field("updated_timestamp", &["$lte", "$gte"]),
            field("cleared_timestamp", &["$lte", "$gte"]),
            field("consolidated_alert_id", &["$eq"]),
            field("primary_entity.id", &["$eq"]),
            field("primary_entity.type", &["$eq"]),
            field("primary_entity.value", &["$contains"]),
        ];
        let filter = query::parse_filter(a.query.get("filter"), FIELDS)?;
        let sort = a.query.get("sort").unwrap_or("-raised_timestamp");
        let key = sort.trim_start_matches('-');
        if !matches!(
            key,
            "raised_timestamp" | "updated_timestamp" | "cleared_timestamp"
        ) {
            return Err(format!("Invalid sort field: {sort:?}"));
        }
        let mut items: Vec<Value> = self
            .world
            .alerts()
            .iter()
            .filter(|x| a.scope.contains(&x.ou))
            .map(|x| render::alert(&self.world, x))
            .filter(|v| query::matches(v, &filter, FIELDS, &[]))
            .collect();
        items.sort_by(|x, y| {
            let o = x[key].as_str().cmp(&y[key].as_str());
            if sort.starts_with('-') {
                o.reverse()
            } else {
                o
            }
        });
        Ok((
            items,
            Applied {
                filter: Some(query::applied(&filter, &[])),
                sort: Some(sort.to_owned()),
            },
        ))
    }
}

/// A task against the filter's conditions; `created_timestamp` is applied by the range the
/// tasks were generated for.
fn task_matches(world: &data::World, t: &data::Task, filter: &query::Filter) -> bool {
    let (entity_id, _, entity_value) = render::task_entity(world, t);
    filter.iter().all(|(field, conds)| {
        let value = match field.as_str() {
            "status" => t.status.to_owned(),
            "category" => t.category.to_owned(),
            "type" => t.task_type.to_owned(),
            "genre" => t.genre().to_owned(),
            "id" => t.id.to_string(),
            "primary_entity.id" => entity_id.to_owned(),
            "primary_entity.value" => entity_value.to_owned(),
            _ => return true,
        };
        conds.iter().all(|(op, operand)| match op.as_str() {
            "$in" => operand
                .as_array()
                .is_some_and(|list| list.iter().any(|x| x.as_str() == Some(value.as_str()))),
            "$eq" => operand.as_str() == Some(value.as_str()),
            "$contains" => operand.as_str().is_some_and(|x| value.contains(x)),
            _ => true,
        })
    })
}
