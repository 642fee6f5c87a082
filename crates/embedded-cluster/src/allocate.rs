//! Cluster IPs, node ports and pod IPs: each value is held by at most one object,
//! also across restarts on a data directory.
//!
//! What is in use is what the stored objects hold: read once at start, then kept up
//! by a task that follows the store's change stream (values an object takes are
//! marked, values it drops or that go with it are released). The latest values
//! handed out are also reserved, so two writes never get the same one before their
//! changes arrive. Allocation goes round each range from the last value handed out
//! and skips what is in use or reserved.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::api::AppState;
use crate::store::{EventType, Store};

/// Services' `spec.clusterIP`: 10.96.0.10 to 10.96.255.254.
const CLUSTER_IPS: (u32, u32) = (10, 0xfffe);
/// `spec.ports[].nodePort`: Kubernetes' default range.
const NODE_PORTS: (u32, u32) = (30000, 32767);
/// Pods' `status.podIP`: 10.244.0.2 to 10.244.255.254.
const POD_IPS: (u32, u32) = (2, 0xfffe);

/// How many recent hand-outs stay reserved: enough to cover the moment between
/// handing a value out and its object's change arriving, while a value handed out
/// to a write that then failed or was a dry run is free again later.
const RESERVED: usize = 1024;

/// One range of values and which of them are in use.
#[derive(Debug)]
struct Range {
    first: u32,
    last: u32,
    /// Held by stored objects.
    used: BTreeSet<u32>,
    /// Handed out lately, oldest first (held or not).
    reserved: VecDeque<u32>,
    /// The value handed out (or found in use) last; the search starts after it.
    latest: u32,
}

impl Range {
    fn new((first, last): (u32, u32)) -> Self {
        Self {
            first,
            last,
            used: BTreeSet::new(),
            reserved: VecDeque::new(),
            latest: last,
        }
    }

    fn mark(&mut self, v: u32) {
        if (self.first..=self.last).contains(&v) {
            self.used.insert(v);
        }
    }

    fn release(&mut self, v: u32) {
        self.used.remove(&v);
    }

    /// The next free value after the latest, going round once; `None` when full.
    fn allocate(&mut self) -> Option<u32> {
        let size = self.last - self.first + 1;
        let start = self.latest.clamp(self.first, self.last) - self.first;
        let v = (1..=size)
            .map(|step| self.first + (start + step) % size)
            .find(|v| !self.used.contains(v) && !self.reserved.contains(v))?;
        if self.reserved.len() == RESERVED {
            self.reserved.pop_front();
        }
        self.reserved.push_back(v);
        self.latest = v;
        Some(v)
    }
}

/// The values one object holds, by range.
#[derive(Debug, Default, PartialEq)]
struct Held {
    cluster_ips: Vec<u32>,
    node_ports: Vec<u32>,
    pod_ips: Vec<u32>,
}

/// `prefix.a.b` → `a * 256 + b`.
fn host_number(ip: &str, prefix: &str) -> Option<u32> {
    let rest = ip.strip_prefix(prefix)?;
    let (a, b) = rest.split_once('.')?;
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    (a < 256 && b < 256).then_some(a * 256 + b)
}

fn held(resource: &str, object: &Value) -> Held {
    let mut h = Held::default();
    match resource {
        "services" => {
            let spec = &object["spec"];
            let ips = spec["clusterIPs"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&spec["clusterIP"]));
            for ip in ips.filter_map(Value::as_str) {
                if let Some(n) = host_number(ip, "10.96.")
                    && !h.cluster_ips.contains(&n)
                {
                    h.cluster_ips.push(n);
                }
            }
            for port in spec["ports"].as_array().into_iter().flatten() {
                if let Some(p) = port["nodePort"]
                    .as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                {
                    h.node_ports.push(p);
                }
            }
        }
        "pods" => {
            let status = &object["status"];
            let ips = status["podIPs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| &i["ip"])
                .chain(std::iter::once(&status["podIP"]));
            for ip in ips.filter_map(Value::as_str) {
                if let Some(n) = host_number(ip, "10.244.")
                    && !h.pod_ips.contains(&n)
                {
                    h.pod_ips.push(n);
                }
            }
        }
        _ => {}
    }
    h
}

#[derive(Debug)]
struct Ranges {
    cluster_ips: Range,
    node_ports: Range,
    pod_ips: Range,
}

impl Ranges {
    /// Everything in use, as one object's holdings.
    fn held(&self) -> Held {
        Held {
            cluster_ips: self.cluster_ips.used.iter().copied().collect(),
            node_ports: self.node_ports.used.iter().copied().collect(),
            pod_ips: self.pod_ips.used.iter().copied().collect(),
        }
    }

    fn apply(&mut self, held: &Held, f: impl Fn(&mut Range, u32)) {
        for (range, values) in [
            (&mut self.cluster_ips, &held.cluster_ips),
            (&mut self.node_ports, &held.node_ports),
            (&mut self.pod_ips, &held.pod_ips),
        ] {
            for &v in values {
                f(range, v);
            }
        }
    }
}

/// The cluster's allocators.
#[derive(Debug)]
pub(crate) struct Allocations {
    ranges: Mutex<Ranges>,
}

impl Allocations {
    /// Everything the objects in `store` hold is in use; allocation continues after
    /// the highest value in use.
    pub fn from_store(store: &Store) -> Self {
        let mut ranges = Ranges {
            cluster_ips: Range::new(CLUSTER_IPS),
            node_ports: Range::new(NODE_PORTS),
            pod_ips: Range::new(POD_IPS),
        };
        for resource in ["services", "pods"] {
            store.visit(
                resource,
                None,
                |_| true,
                |o| {
                    ranges.apply(&held(resource, o), Range::mark);
                },
            );
        }
        for range in [
            &mut ranges.cluster_ips,
            &mut ranges.node_ports,
            &mut ranges.pod_ips,
        ] {
            if let Some(&max) = range.used.last() {
                range.latest = max;
            }
        }
        Self {
            ranges: Mutex::new(ranges),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ranges> {
        // Every change is one insert or remove: a panic leaves the sets usable.
        self.ranges.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A free cluster IP, `None` when the range is full.
    pub fn cluster_ip(&self) -> Option<String> {
        let n = self.lock().cluster_ips.allocate()?;
        Some(format!("10.96.{}.{}", n >> 8, n & 0xff))
    }

    /// A free node port, `None` when the range is full.
    pub fn node_port(&self) -> Option<u32> {
        self.lock().node_ports.allocate()
    }

    /// A free pod IP, `None` when the range is full.
    pub fn pod_ip(&self) -> Option<String> {
        let n = self.lock().pod_ips.allocate()?;
        Some(format!("10.244.{}.{}", n >> 8, n & 0xff))
    }

    /// Follows one change of a stored object.
    fn follow(&self, resource: &str, kind: EventType, object: &Value, old: Option<&Value>) {
        if !matches!(resource, "services" | "pods") {
            return;
        }
        let now = held(resource, object);
        let mut ranges = self.lock();
        match kind {
            EventType::Deleted => ranges.apply(&now, Range::release),
            EventType::Added | EventType::Modified => {
                if let Some(old) = old {
                    let before = held(resource, old);
                    let dropped = Held {
                        cluster_ips: before
                            .cluster_ips
                            .into_iter()
                            .filter(|v| !now.cluster_ips.contains(v))
                            .collect(),
                        node_ports: before
                            .node_ports
                            .into_iter()
                            .filter(|v| !now.node_ports.contains(v))
                            .collect(),
                        pod_ips: before
                            .pod_ips
                            .into_iter()
                            .filter(|v| !now.pod_ips.contains(v))
                            .collect(),
                    };
                    ranges.apply(&dropped, Range::release);
                }
                ranges.apply(&now, Range::mark);
            }
        }
    }
}

/// Keeps the cluster's allocations in step with its store until shutdown.
pub(crate) fn follow_store(state: Arc<AppState>) {
    let Ok(sub) = state.store.subscribe("", None) else {
        return;
    };
    let mut live = sub.live;
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                received = live.recv() => match received {
                    Ok(e) => state.allocations.follow(&e.resource, e.kind, &e.object, e.old.as_ref()),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Changes were missed: add what is stored now. Values
                        // released in the missed changes stay marked, which
                        // wastes them but never hands one out twice.
                        let fresh = Allocations::from_store(&state.store);
                        let fresh = fresh.lock();
                        let mut ranges = state.allocations.lock();
                        ranges.apply(&fresh.held(), Range::mark);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_goes_round_from_the_latest_value_and_skips_what_is_used() {
        let mut r = Range::new((1, 4));
        r.mark(2);
        assert_eq!(r.allocate(), Some(1));
        assert_eq!(r.allocate(), Some(3));
        assert_eq!(r.allocate(), Some(4));
        assert_eq!(r.allocate(), None, "full: used or reserved");
        r.release(2);
        assert_eq!(r.allocate(), Some(2));
        // A value handed out but never held is free once enough others were handed out.
        let mut r = Range::new((1, RESERVED as u32 + 1));
        let first = r.allocate();
        for _ in 0..RESERVED {
            r.allocate();
        }
        assert_eq!(r.allocate(), first);
    }

    #[test]
    fn values_are_read_from_services_and_pods() {
        let svc = serde_json::json!({"spec": {"clusterIP": "10.96.1.2", "clusterIPs": ["10.96.1.2"],
            "ports": [{"nodePort": 30001}, {"port": 80}]}});
        let pod = serde_json::json!({"status": {"podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}]}});
        assert_eq!(
            held("services", &svc),
            Held {
                cluster_ips: vec![258],
                node_ports: vec![30001],
                pod_ips: vec![]
            }
        );
        assert_eq!(held("pods", &pod).pod_ips, vec![7]);
        assert_eq!(held("configmaps", &svc), Held::default());
    }
}
