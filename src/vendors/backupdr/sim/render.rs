//! The world as the console writes it: `@type` first, string ids, epoch-microsecond times,
//! Jackson's pretty printing (`"key" : value`), and the fields of each list view that can be
//! filtered and sorted.

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::data::{App, Appliance, SimPool, Template, World};
use super::history::{SimImage, SimJob};
use super::journal::{CONSOLE_URL, SimAudit, SimEvent};
use super::query::{Field, Item, field};

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn href(path: &str) -> String {
    format!("{CONSOLE_URL}/{path}")
}

/// Jackson's `"key" : value` with two-space indents, as the console prints.
pub fn to_pretty(v: &Value) -> Vec<u8> {
    struct Jackson<'a>(serde_json::ser::PrettyFormatter<'a>);
    impl serde_json::ser::Formatter for Jackson<'_> {
        fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            self.0.begin_array(w)
        }
        fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            self.0.end_array(w)
        }
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            self.0.begin_array_value(w, first)
        }
        fn end_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            self.0.end_array_value(w)
        }
        fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            self.0.begin_object(w)
        }
        fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            self.0.end_object(w)
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            self.0.begin_object_key(w, first)
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            w.write_all(b" : ")
        }
        fn end_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            self.0.end_object_value(w)
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        Jackson(serde_json::ser::PrettyFormatter::with_indent(b"  ")),
    );
    if serde::Serialize::serialize(v, &mut ser).is_err() {
        return v.to_string().into_bytes();
    }
    out
}

pub fn cluster_ref(a: &Appliance) -> Value {
    json!({
        "@type": "clusterRest",
        "id": a.id,
        "href": href(&format!("cluster/{}", a.id)),
        "clusterid": a.clusterid,
        "name": a.name,
    })
}

pub fn cluster(a: &Appliance, now: Timestamp) -> Value {
    json!({
        "@type": "clusterRest",
        "id": a.id,
        "href": href(&format!("cluster/{}", a.id)),
        "syncdate": us(now) - 60_000_000,
        "stale": !a.reachable,
        "clusterid": a.clusterid,
        "name": a.name,
        "type": "Sky",
        "region": a.region,
        "zone": format!("{}-b", a.region),
        "projectid": "bdr-demo-project",
        "version": "11.0.5.1234",
        "supportstatus": "true",
        "timezone": "UTC",
        "clusterstatus": {
            "accessible": a.reachable,
            "copydata": 0,
            "vdiskcount": 120 + a.index as i64 * 40,
            "vdisklimit": 4000,
        },
    })
}

fn slt_ref(t: &Template) -> Value {
    json!({ "id": t.id, "href": href(&format!("slt/{}", t.id)), "name": t.name })
}

pub fn application(w: &World, a: &App, now: Timestamp) -> Value {
    let appl = &w.appliances[a.appliance];
    let mut v = json!({
        "@type": "applicationRest",
        "id": a.id,
        "href": href(&format!("application/{}", a.id)),
        "syncdate": us(now) - 300_000_000,
        "stale": !appl.reachable,
        "appname": a.name,
        "name": a.name,
        "apptype": a.apptype,
        "friendlytype": a.apptype,
        "managed": a.managed,
        "ignore": false,
        "isorphan": false,
        "frommount": false,
        "isvm": matches!(a.apptype, "GCPInstance" | "VMBackup"),
        "protectable": "FULLY",
        "sourcecluster": appl.clusterid,
        "srcid": (4000 + a.index).to_string(),
        "host": { "id": a.host_id, "hostname": a.hostname, "name": a.hostname },
        "cluster": cluster_ref(appl),
    });
    if let (Some(sla), Some(t)) = (&a.sla_id, w.template_of(a)) {
        v["sla"] = json!({
            "id": sla,
            "href": href(&format!("sla/{sla}")),
            "slt": slt_ref(t),
            "scheduleoff": if a.schedule_off() { "true" } else { "false" },
        });
    }
    v
}

pub fn sla(w: &World, a: &App, now: Timestamp) -> Option<Value> {
    let (sla, t) = (a.sla_id.as_ref()?, w.template_of(a)?);
    let appl = &w.appliances[a.appliance];
    Some(json!({
        "@type": "slaRest",
        "id": sla,
        "href": href(&format!("sla/{sla}")),
        "syncdate": us(now) - 300_000_000,
        "stale": false,
        "application": {
            "id": a.id,
            "href": href(&format!("application/{}", a.id)),
            "appname": a.name,
            "apptype": a.apptype,
        },
        "slt": slt_ref(t),
        "slp": {
            "id": (4900 + appl.index).to_string(),
            "href": href(&format!("slp/{}", 4900 + appl.index)),
            "name": format!("profile-{}", appl.name),
        },
        "scheduleoff": if a.schedule_off() { "true" } else { "false" },
        "expirationoff": "false",
        "logexpirationoff": false,
        "modifydate": us(w.anchor) - 30 * 86_400_000_000,
    }))
}

pub fn slt(t: &Template) -> Value {
    json!({
        "@type": "sltRest",
        "id": t.id,
        "href": href(&format!("slt/{}", t.id)),
        "name": t.name,
        "description": t.description,
        "override": "true",
        "managedbyagm": true,
        "usedbycloudapp": false,
        "policy_href": href(&format!("slt/{}/policy", t.id)),
        "option_href": href(&format!("slt/{}/option", t.id)),
    })
}

pub fn policies(t: &Template) -> Vec<Value> {
    t.policies
        .iter()
        .map(|p| {
            let end = if p.continuous {
                86_399
            } else {
                (p.start_s + 8 * 3600) % 86_400
            };
            json!({
                "@type": "policyRest",
                "id": p.id,
                "href": href(&format!("slt/{}/policy/{}", t.id, p.id)),
                "name": p.name,
                "op": p.op,
                "rpo": p.rpo_hours.to_string(),
                "retention": p.retention_days.to_string(),
                "retentionm": "days",
                "starttime": p.start_s.to_string(),
                "endtime": end.to_string(),
                "iscontinuous": p.continuous,
                "scheduletype": "daily",
                "repeatinterval": "1",
                "priority": "medium",
                "exclusiontype": "none",
                "slt": { "id": t.id, "name": t.name },
            })
        })
        .collect()
}

pub fn job(w: &World, j: &SimJob) -> Value {
    let a = &w.apps[j.app];
    let appl = &w.appliances[a.appliance];
    let mut v = json!({
        "@type": "jobRest",
        "id": j.id(),
        "href": href(&format!("jobstatus/{}", j.id())),
        "syncdate": us(j.queued),
        "stale": false,
        "jobname": jobname(j),
        "jobclass": j.jobclass,
        "status": j.status,
        "appname": a.name,
        "appid": a.id,
        "apptype": a.apptype,
        "hostname": a.hostname,
        "hostid": a.host_id.parse::<i64>().unwrap_or(0),
        "isscheduled": j.policy.is_some(),
        "priority": "medium",
        "queuedate": us(j.queued),
        "virtualsize": j.virtualsize,
        "retrycount": 0,
        "appliance": cluster_ref(appl),
    });
    if let Some(code) = jobclasscode(j.jobclass) {
        v["jobclasscode"] = json!(code);
    }
    if let Some((slt, policy)) = policy_names(w, j.policy) {
        v["sltname"] = json!(slt);
        v["policyname"] = json!(policy);
    }
    if let Some(start) = startdate(j) {
        v["startdate"] = json!(start);
    }
    if let Some(p) = j.progress {
        v["progress"] = json!(p);
    }
    if let Some(end) = enddate(j) {
        v["enddate"] = json!(end);
        v["duration"] = json!(end - us(j.start));
        v["message"] = json!(match (j.status, j.error) {
            ("succeeded", _) => "Success",
            (_, Some((_, msg))) => msg,
            _ => "Job was canceled by the user",
        });
        if let Some(code) = errorcode(j) {
            v["errorcode"] = json!(code);
        }
        if j.status == "succeeded" && j.is_capture() {
            v["consistencydate"] = json!(us(j.start) + (end - us(j.start)) / 3);
        }
    }
    v
}

fn jobname(j: &SimJob) -> String {
    format!("Job_{:07}", j.number % 10_000_000)
}

/// Only snapshots carry a `jobclasscode`.
fn jobclasscode(jobclass: &str) -> Option<i64> {
    (jobclass == "snapshot").then_some(1)
}

/// `sltname` and `policyname` of a scheduled job or its image.
fn policy_names(w: &World, policy: Option<(usize, usize)>) -> Option<(&'static str, &'static str)> {
    let (t, p) = policy?;
    let t = &w.templates[t];
    Some((t.name, t.policies[p].name))
}

/// A queued job has not started.
fn startdate(j: &SimJob) -> Option<i64> {
    (j.status != "queued").then(|| us(j.start))
}

fn enddate(j: &SimJob) -> Option<i64> {
    j.ended().then(|| us(j.end))
}

/// `0` for a success, the failure's code; a canceled job or one not ended has none.
fn errorcode(j: &SimJob) -> Option<&'static str> {
    match (j.ended().then_some(j.status)?, j.error) {
        ("succeeded", _) => Some("0"),
        (_, Some((code, _))) => Some(code),
        _ => None,
    }
}

/// A generated job in its list view: filtered and sorted on its fields, rendered only if it
/// makes the page (a refresh at 10,000 applications reads about 100,000 jobs; rendering each
/// for every page was what made the simulator slow).
pub struct ListedJob<'w> {
    pub world: &'w World,
    pub job: SimJob,
}

impl Item for ListedJob<'_> {
    fn value_of(&self, field: &Field) -> Option<Cow<'_, Value>> {
        let (w, j) = (self.world, &self.job);
        let a = &w.apps[j.app];
        let v = match field.name {
            "id" => json!(j.id()),
            "jobname" => json!(jobname(j)),
            "appid" => json!(a.id),
            "appname" => json!(a.name),
            "apptype" => json!(a.apptype),
            "status" => json!(j.status),
            "jobclass" => json!(j.jobclass),
            "errorcode" => json!(errorcode(j)?),
            "queuedate" => json!(us(j.queued)),
            "startdate" => json!(startdate(j)?),
            "enddate" => json!(enddate(j)?),
            "sltname" => json!(policy_names(w, j.policy)?.0),
            "policyname" => json!(policy_names(w, j.policy)?.1),
            _ => job(w, j).pointer(field.pointer)?.clone(),
        };
        Some(Cow::Owned(v))
    }
}

/// An image in its list view, like [`ListedJob`].
pub struct ListedImage<'w> {
    pub world: &'w World,
    pub image: SimImage,
}

impl Item for ListedImage<'_> {
    fn value_of(&self, field: &Field) -> Option<Cow<'_, Value>> {
        let (w, i) = (self.world, &self.image);
        let a = &w.apps[i.app];
        let v = match field.name {
            "id" => json!(i.id()),
            "appid" => json!(a.id),
            "appname" => json!(a.name),
            "jobclass" => json!(i.jobclass),
            "jobclasscode" => json!(jobclasscode(i.jobclass)?),
            "backupname" => json!(i.backupname()),
            "consistencydate" => json!(us(i.consistency)),
            "backupdate" => json!(us(i.backupdate)),
            "expiration" => json!(us(i.expiration)),
            _ => image(w, i).pointer(field.pointer)?.clone(),
        };
        Some(Cow::Owned(v))
    }
}

pub fn image(w: &World, i: &SimImage) -> Value {
    let a = &w.apps[i.app];
    let appl = &w.appliances[i.appliance];
    let mut v = json!({
        "@type": "backupRest",
        "id": i.id(),
        "href": href(&format!("backup/{}", i.id())),
        "syncdate": us(i.backupdate),
        "stale": !appl.reachable,
        "backupname": i.backupname(),
        "jobclass": i.jobclass,
        "appname": a.name,
        "apptype": a.apptype,
        "application": { "id": a.id, "href": href(&format!("application/{}", a.id)), "appname": a.name },
        "host": { "id": a.host_id, "hostname": a.hostname },
        "cluster": cluster_ref(appl),
        "backupdate": us(i.backupdate),
        "consistencydate": us(i.consistency),
        "expiration": us(i.expiration),
        "virtualsize": i.virtualsize.to_string(),
        "consumedsize": i.consumed,
        "modifiedbytes": (i.consumed / 2).to_string(),
        "status": "succeeded",
        "characteristic": if i.jobclass == "mount" { "Mount" } else { "Primary" },
    });
    if let Some(code) = jobclasscode(i.jobclass) {
        v["jobclasscode"] = json!(code);
    }
    if let Some((slt, policy)) = policy_names(w, i.policy) {
        v["sltname"] = json!(slt);
        v["policyname"] = json!(policy);
    }
    v
}

pub fn pool(w: &World, p: &SimPool, now: Timestamp) -> Value {
    let appl = &w.appliances[p.appliance];
    let mut v = json!({
        "@type": "diskPoolRest",
        "id": p.id,
        "href": href(&format!("diskpool/{}", p.id)),
        "syncdate": us(now) - 120_000_000,
        "stale": !appl.reachable,
        "name": p.name,
        "pooltype": p.pooltype,
        "pooltypedisplayname": if p.pooltype == "perf" { "Snapshot" } else { "OnVault" },
        "usage_mb": p.usage_mb,
        "capacity_mb": p.capacity_mb,
        "free_mb": p.capacity_mb.saturating_sub(p.usage_mb),
        "pct": p.pct(),
        "status": if p.pct() >= f64::from(p.safepct.max(1)) && p.capacity_mb > 0 { "red" } else if p.pct() >= f64::from(p.warnpct.max(1)) && p.capacity_mb > 0 { "yellow" } else { "green" },
        "state": "Ok",
        "cluster": cluster_ref(appl),
        "immutable": false,
    });
    if p.capacity_mb > 0 {
        v["warnpct"] = json!(p.warnpct);
        v["safepct"] = json!(p.safepct);
    } else {
        v["vaultprops"] = json!({
            "bucket": format!("bdr-demo-{}", appl.region),
            "region": appl.region,
            "vaulttype": "GCP",
        });
    }
    v
}

pub fn event(w: &World, e: &SimEvent) -> Value {
    let appl = &w.appliances[e.appliance];
    let mut v = json!({
        "@type": "eventRest",
        "id": e.number.to_string(),
        "href": href(&format!("event/{}", e.number)),
        "syncdate": us(e.date),
        "stale": false,
        "eventid": e.eventid,
        "eventdate": us(e.date),
        "requiresclearing": e.requires_clearing,
        "eventstatus": e.status,
        "messagetext": e.message,
        "errormessage": e.message,
        "errorcode": e.eventid.to_string(),
        "cluster": cluster_ref(appl),
    });
    if let Some(app) = e.app {
        v["appname"] = json!(w.apps[app].name);
        v["apptype"] = json!(w.apps[app].apptype);
    }
    v
}

pub fn audit(a: &SimAudit) -> Value {
    json!({
        "@type": "auditRest",
        "id": a.number.to_string(),
        "href": href(&format!("localaudit/{}", a.number)),
        "issuedate": us(a.date),
        "username": a.username,
        "command": a.command,
        "ipaddress": "10.1.1.1",
        "component": "RESTful",
        "status": a.status,
        "privileged": false,
    })
}

pub const CLUSTER_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("name", "/name", "String"),
    field("clusterid", "/clusterid", "Long"),
    field("type", "/type", "String"),
];

pub const APPLICATION_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("appname", "/appname", "String"),
    field("apptype", "/apptype", "String"),
    field("managed", "/managed", "Boolean"),
    field("sourcecluster", "/sourcecluster", "Long"),
    field("hostname", "/host/hostname", "String"),
];

pub const SLA_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("appid", "/application/id", "Long"),
    field("sltid", "/slt/id", "Long"),
    field("slpid", "/slp/id", "Long"),
];

pub const SLT_FIELDS: &[Field] = &[field("id", "/id", "Long"), field("name", "/name", "String")];

pub const JOB_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("jobname", "/jobname", "String"),
    field("appid", "/appid", "Long"),
    field("appname", "/appname", "String"),
    field("apptype", "/apptype", "String"),
    Field {
        name: "status",
        pointer: "/status",
        kind: "String",
        values: &["queued", "running", "succeeded", "failed", "canceled"],
    },
    Field {
        name: "jobclass",
        pointer: "/jobclass",
        kind: "String",
        values: &[
            "snapshot",
            "dedup",
            "OnVault",
            "DirectOnVault",
            "StreamSnap",
            "mount",
            "unmount",
            "restore",
        ],
    },
    field("errorcode", "/errorcode", "String"),
    field("queuedate", "/queuedate", "Date"),
    field("startdate", "/startdate", "Date"),
    field("enddate", "/enddate", "Date"),
    field("sltname", "/sltname", "String"),
    field("policyname", "/policyname", "String"),
];

pub const BACKUP_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("appid", "/application/id", "Long"),
    field("appname", "/appname", "String"),
    field("jobclass", "/jobclass", "String"),
    field("jobclasscode", "/jobclasscode", "Integer"),
    field("backupname", "/backupname", "String"),
    field("consistencydate", "/consistencydate", "Date"),
    field("backupdate", "/backupdate", "Date"),
    field("expiration", "/expiration", "Date"),
];

pub const POOL_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("name", "/name", "String"),
    field("pooltype", "/pooltype", "String"),
];

pub const EVENT_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("eventid", "/eventid", "Integer"),
    field("eventdate", "/eventdate", "Date"),
    field("requiresclearing", "/requiresclearing", "Boolean"),
    field("appname", "/appname", "String"),
];

pub const AUDIT_FIELDS: &[Field] = &[
    field("id", "/id", "Long"),
    field("issuedate", "/issuedate", "Date"),
    field("username", "/username", "String"),
    field("command", "/command", "String"),
    field("status", "/status", "Integer"),
];

/// `OPTIONS` on a list view: what can be filtered and sorted.
pub fn options(fields: &[Field]) -> Value {
    let filterable: Vec<Value> = fields
        .iter()
        .map(|f| {
            let mut v = json!({ "field": f.name, "type": f.kind });
            if !f.values.is_empty() {
                v["values"] = json!(f.values);
            }
            v
        })
        .collect();
    json!({
        "GET(list)": {
            "filterable": true,
            "sortable": true,
            "pageable": true,
            "sortablefields": fields.iter().map(|f| f.name).collect::<Vec<_>>(),
            "filterablefields": filterable,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_printing_is_jacksons() {
        let s = String::from_utf8(to_pretty(&json!({"@type":"x","count":1}))).unwrap();
        assert!(s.contains("\"@type\" : \"x\""), "{s}");
        assert!(s.starts_with("{\n  \"@type\""), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["count"], 1);
    }

    /// The query language reads jobs and images without rendering them; what it reads must
    /// be what the rendered item holds, field by field, for every kind of job.
    #[test]
    fn listed_jobs_and_images_answer_as_their_rendering() {
        let now = Timestamp::from_second(1_780_000_123).unwrap();
        let w = World::new(11, 40, now);
        let day = jiff::SignedDuration::from_hours(24);
        let mut jobs = w.jobs(now, now - day * 45, now, None);
        // Queued jobs are rare: look at the last day from a few more moments.
        for h in 1..48 {
            let at = now + jiff::SignedDuration::from_mins(h * 37);
            jobs.extend(w.jobs(at, at - day, at, None));
        }
        let statuses: std::collections::HashSet<&str> = jobs.iter().map(|j| j.status).collect();
        assert_eq!(statuses.len(), 5, "{statuses:?}");
        for job in jobs {
            let rendered = super::job(&w, &job);
            let listed = ListedJob { world: &w, job };
            for f in JOB_FIELDS {
                let want = rendered.pointer(f.pointer).filter(|v| !v.is_null());
                assert_eq!(
                    listed.value_of(f).as_deref(),
                    want,
                    "{} of {rendered}",
                    f.name
                );
            }
        }
        let mut images = w.images(now, None);
        // Mounted images live for hours every nine days (applications 0, 5, 10, ...).
        for h in 0..108 {
            let at = now + jiff::SignedDuration::from_hours(h * 2);
            for app in (0..40).step_by(5) {
                images.extend(
                    w.images(at, Some(app))
                        .into_iter()
                        .filter(|i| i.policy.is_none()),
                );
            }
        }
        assert!(images.iter().any(|i| i.jobclass == "snapshot"));
        assert!(images.iter().any(|i| i.policy.is_none()));
        for image in images {
            let rendered = super::image(&w, &image);
            let listed = ListedImage { world: &w, image };
            for f in BACKUP_FIELDS {
                let want = rendered.pointer(f.pointer).filter(|v| !v.is_null());
                assert_eq!(
                    listed.value_of(f).as_deref(),
                    want,
                    "{} of {rendered}",
                    f.name
                );
            }
        }
    }
}
