//! Jobs and CronJobs.

use serde_json::{Value, json};
use windlass_entity_model::cron::{Dialect, Schedule};

use super::{CRONJOBS, Ctx, JOBS, PODS, Work, controller_ref, deleting, name_of, uid_of};
use crate::objects;

fn job_condition(status: &Value, kind: &str) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

fn cond(kind: &str, reason: &str, message: &str, t: &str) -> Value {
    json!({"type": kind, "status": "True", "reason": reason, "message": message,
           "lastProbeTime": t, "lastTransitionTime": t})
}

/// Whether a Job has finished (Complete or Failed).
pub(crate) fn job_finished(job: &Value) -> bool {
    job_condition(&job["status"], "Complete") || job_condition(&job["status"], "Failed")
}

/// The Job controller: pods run to completion; too many failures fail it.
pub(super) fn job(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(job) = ctx.get(JOBS, ns, name) else {
        return;
    };
    let uid = uid_of(&job).to_owned();
    let spec = &job["spec"];
    let completions = spec["completions"].as_i64().unwrap_or(1);
    let parallelism = spec["parallelism"].as_i64().unwrap_or(1);
    let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
    let suspended = spec["suspend"] == true;
    let pods = ctx.owned(PODS, ns, &uid);
    let phase_count = |p: &str| pods.iter().filter(|x| x["status"]["phase"] == p).count() as i64;
    let succeeded = phase_count("Succeeded");
    let failed = phase_count("Failed");
    let active: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            !deleting(p) && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
        .collect();
    let t = objects::now();
    let mut status = job["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    let finished = job_finished(&job);
    let mut conds: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    let mut active_count = active.len() as i64;
    if !finished && !deleting(&job) {
        if failed > backoff_limit {
            for p in &active {
                ctx.delete(PODS, ns, name_of(p), None);
            }
            active_count = 0;
            let msg = "Job has reached the specified backoff limit";
            conds.push(cond("FailureTarget", "BackoffLimitExceeded", msg, &t));
            conds.push(cond("Failed", "BackoffLimitExceeded", msg, &t));
        } else if succeeded >= completions {
            conds.push(cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &t,
            ));
            conds.push(cond(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                &t,
            ));
            status["completionTime"] = json!(t);
        } else if !suspended {
            let want = parallelism.min(completions - succeeded);
            let template = &job["spec"]["template"];
            let missing = want - active_count;
            for _ in 0..missing {
                let mut meta = template["metadata"].clone();
                if !meta.is_object() {
                    meta = json!({});
                }
                meta["generateName"] = json!(format!("{name}-"));
                meta["ownerReferences"] = json!([controller_ref(&job)]);
                let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                    "spec": template["spec"]});
                if ctx.create(PODS, ns, pod).is_some() {
                    active_count += 1;
                }
            }
        }
    }
    if status["startTime"].is_null() && !suspended {
        status["startTime"] = json!(t);
    }
    let ready = active.iter().filter(|p| super::pod_ready(p)).count();
    let set = |status: &mut Value, k: &str, n: i64| {
        if n > 0 {
            status[k] = json!(n);
        } else if let Some(m) = status.as_object_mut() {
            m.remove(k);
        }
    };
    set(&mut status, "active", active_count);
    set(&mut status, "succeeded", succeeded);
    set(&mut status, "failed", failed);
    status["ready"] = json!(ready);
    status["terminating"] = json!(0);
    status["uncountedTerminatedPods"] = json!({});
    if !conds.is_empty() {
        status["conditions"] = json!(conds);
    }
    ctx.set_status(JOBS, ns, name, status);
}

fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

/// A CronJob's next scheduled time after `t`, in UTC.
fn next_run(cron: &Schedule, t: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let utc = jiff::tz::TimeZone::UTC;
    let next = cron.next(t.to_zoned(utc.clone()).datetime())?;
    next.to_zoned(utc).ok().map(|z| z.timestamp())
}

/// The CronJob controller: creates a Job at each scheduled time (UTC), reading the
/// schedule as Kubernetes does (robfig/cron's standard parser: five fields or a
/// descriptor such as `@hourly` or `@every 1s`).
pub(super) fn cron_job(ctx: &mut Ctx, ns: &str, name: &str) {
    let Some(cj) = ctx.get(CRONJOBS, ns, name) else {
        return;
    };
    if deleting(&cj) {
        return;
    }
    let uid = uid_of(&cj).to_owned();
    let spec = &cj["spec"];
    let schedule = spec["schedule"].as_str().unwrap_or_default();
    let cron = match windlass_entity_model::cron::parse(schedule, Dialect::Standard) {
        Ok(cron) => cron,
        Err(e) => {
            tracing::debug!(namespace = ns, name, error = %e, "unparsable CronJob schedule");
            return;
        }
    };
    let now = jiff::Timestamp::now();
    let last = cj["status"]["lastScheduleTime"]
        .as_str()
        .or(cj["metadata"]["creationTimestamp"].as_str())
        .and_then(parse_time)
        .unwrap_or(now);
    let jobs = ctx.owned(JOBS, ns, &uid);
    let mut status = cj["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    // The most recent missed time, if any.
    let mut due = None;
    let mut cursor = last;
    for _ in 0..1000 {
        match next_run(&cron, cursor) {
            Some(next) if next <= now => {
                due = Some(next);
                cursor = next;
            }
            _ => break,
        }
    }
    if let Some(at) = due
        && spec["suspend"] != true
    {
        let active: Vec<&Value> = jobs
            .iter()
            .filter(|j| !super::batch::job_finished(j))
            .collect();
        let policy = spec["concurrencyPolicy"].as_str().unwrap_or("Allow");
        let skip = policy == "Forbid" && !active.is_empty();
        if policy == "Replace" {
            for j in &active {
                ctx.delete(JOBS, ns, name_of(j), Some("Background"));
            }
        }
        if !skip {
            // Kubernetes names a job by its minute; schedules firing more often than
            // that (`@every 1s`) get the second, so their jobs do not collide.
            let sub_minute =
                next_run(&cron, at).is_some_and(|next| next.as_second() - at.as_second() < 60);
            let suffix = if sub_minute {
                at.as_second()
            } else {
                at.as_second() / 60
            };
            let jt = &spec["jobTemplate"];
            let mut meta = jt["metadata"].clone();
            if !meta.is_object() {
                meta = json!({});
            }
            meta["name"] = json!(format!("{name}-{suffix}"));
            meta["ownerReferences"] = json!([controller_ref(&cj)]);
            let ann = &mut meta["annotations"];
            if !ann.is_object() {
                *ann = json!({});
            }
            ann["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
            let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": jt["spec"]});
            ctx.create(JOBS, ns, job);
        }
        status["lastScheduleTime"] = json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    // History limits.
    let jobs = ctx.owned(JOBS, ns, &uid);
    for (kind, limit_key, default) in [
        ("Complete", "successfulJobsHistoryLimit", 3),
        ("Failed", "failedJobsHistoryLimit", 1),
    ] {
        let limit = spec[limit_key].as_i64().unwrap_or(default).max(0) as usize;
        let mut done: Vec<&Value> = jobs
            .iter()
            .filter(|j| job_condition(&j["status"], kind) && !deleting(j))
            .collect();
        if done.len() > limit {
            done.sort_by_key(|j| {
                j["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            });
            for j in done.iter().take(done.len() - limit) {
                ctx.delete(JOBS, ns, name_of(j), Some("Background"));
            }
        }
    }
    let jobs = ctx.owned(JOBS, ns, &uid);
    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| !job_finished(j) && !deleting(j))
        .map(|j| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "namespace": ns,
                "name": j["metadata"]["name"], "uid": j["metadata"]["uid"],
                "resourceVersion": j["metadata"]["resourceVersion"]})
        })
        .collect();
    if active.is_empty() {
        status.as_object_mut().map(|m| m.remove("active"));
    } else {
        status["active"] = json!(active);
    }
    if let Some(t) = jobs
        .iter()
        .filter_map(|j| j["status"]["completionTime"].as_str())
        .max()
    {
        status["lastSuccessfulTime"] = json!(t);
    }
    ctx.set_status(CRONJOBS, ns, name, status.clone());
    // Come back at the next scheduled time.
    let from = status["lastScheduleTime"]
        .as_str()
        .and_then(parse_time)
        .unwrap_or(last)
        .max(last);
    if let Some(next) = next_run(&cron, from) {
        let wait = now.duration_until(next);
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        ctx.after(
            wait + std::time::Duration::from_millis(20),
            Work::Object(CRONJOBS, (ns.to_owned(), name.to_owned())),
        );
    }
}
