//! What a cluster started on stored objects (a data directory) carries on with:
//! the CustomResourceDefinitions it served.

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
}
