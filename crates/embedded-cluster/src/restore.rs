//! What a cluster started on stored objects (a data directory) carries on with:
//! the CustomResourceDefinitions it served and the namespaces it was emptying.

use crate::api::AppState;
use crate::registry;

/// The storage key of CustomResourceDefinitions.
const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";

/// Picks up where the stored objects left off; runs once at start, before the
/// server answers and the controllers start.
pub(crate) fn restore(state: &AppState) {
    // A CRD being deleted is still served until it is gone, as it was before.
    let (_, crds) = state.store.list(CRDS, None, |_| true);
    for ((_, name), crd) in crds {
        state.registry.set_crd(&name, registry::from_crd(&crd));
        tracing::info!(crd = %name, "serving stored custom resource");
    }
    // A namespace marked Terminating when the process stopped is emptied now, as
    // the namespace controller would have gone on doing.
    let (_, namespaces) = state.store.list("namespaces", None, |ns| {
        !ns["metadata"]["deletionTimestamp"].is_null()
    });
    for ((_, name), _) in namespaces {
        tracing::info!(namespace = %name, "resuming the termination of a namespace");
        crate::api::empty_namespace(state, &name);
    }
}
