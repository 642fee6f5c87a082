//! The [`Entity`] enum: one variant per typed kind, plus any other Kubernetes object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::common::Extra;
use crate::path::FieldPath;
use crate::validate::{Validate, Violations};
use crate::{argocd, events, rollouts, windlass, workflows};

/// Any Kubernetes object Windlass has no type for (a Deployment, a ConfigMap, a foreign
/// CRD): GitOps sources are mostly plain manifests, and they flow through the same loader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericObject {
    /// `group/version`, or `version` for the core group.
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    /// Standard object metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// Everything else (`spec`, `data`, `status`, ...), kept as written.
    #[serde(flatten)]
    pub rest: Extra,
}

/// Whether objects of a kind live in a namespace or in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Namespaced (most kinds).
    Namespaced,
    /// Cluster-scoped (`ClusterWorkflowTemplate`, `ClusterAnalysisTemplate`, Windlass kinds, ...).
    Cluster,
}

fn scope_of<T: kube::Resource>() -> Scope
where
    T::Scope: 'static,
{
    use std::any::TypeId;
    if TypeId::of::<T::Scope>() == TypeId::of::<k8s_openapi::ClusterResourceScope>() {
        Scope::Cluster
    } else {
        Scope::Namespaced
    }
}

macro_rules! entities {
    ($( $variant:ident => $module:ident, $api_version:literal ),* $(,)?) => {
        /// A typed entity, or any other Kubernetes object.
        ///
        /// Two entities are equal when they would be written back identically.
        #[derive(Clone, Debug)]
        pub enum Entity {
            $(
                #[doc = concat!("`", $api_version, "` `", stringify!($variant), "`.")]
                $variant(Box<$module::$variant>),
            )*
            /// Any other Kubernetes object.
            Object(Box<GenericObject>),
        }

        /// The typed kinds Windlass understands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $(
                #[doc = concat!("`", $api_version, "` `", stringify!($variant), "`.")]
                $variant,
            )*
        }

        impl Kind {
            /// Every typed kind.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The kind for an `apiVersion` and `kind`, if Windlass types it.
            pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
                match (api_version, kind) {
                    $( ($api_version, stringify!($variant)) => Some(Kind::$variant), )*
                    _ => None,
                }
            }

            /// The kind's name, as in `kind:`.
            pub fn name(self) -> &'static str {
                match self { $( Kind::$variant => stringify!($variant), )* }
            }

            /// The kind's `apiVersion`.
            pub fn api_version(self) -> &'static str {
                match self { $( Kind::$variant => $api_version, )* }
            }

            /// The kind's CustomResourceDefinition, as Windlass installs it.
            pub fn crd(self) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
                use kube::CustomResourceExt;
                match self { $( Kind::$variant => $module::$variant::crd(), )* }
            }

            /// Whether objects of this kind are namespaced.
            pub fn scope(self) -> Scope {
                match self { $( Kind::$variant => scope_of::<$module::$variant>(), )* }
            }
        }

        impl Entity {
            /// Reads a typed entity of `kind` from a YAML node.
            pub(crate) fn from_node(
                kind: Kind,
                node: &crate::yaml::Node,
            ) -> Result<Entity, crate::de::TypeError> {
                Ok(match kind {
                    $( Kind::$variant => Entity::$variant(Box::new(crate::de::from_node(node, FieldPath::root())?)), )*
                })
            }

            /// The typed kind, or `None` for a generic object.
            pub fn kind(&self) -> Option<Kind> {
                match self {
                    $( Entity::$variant(_) => Some(Kind::$variant), )*
                    Entity::Object(_) => None,
                }
            }

            /// The object's metadata.
            pub fn metadata(&self) -> Option<&ObjectMeta> {
                match self {
                    $( Entity::$variant(e) => Some(&e.metadata), )*
                    Entity::Object(o) => o.metadata.as_ref(),
                }
            }

            /// The entity as JSON, exactly as it would be written back.
            pub fn to_value(&self) -> serde_json::Value {
                let value = match self {
                    $( Entity::$variant(e) => serde_json::to_value(e), )*
                    Entity::Object(o) => serde_json::to_value(o),
                };
                // Types made of JSON maps, strings and numbers always serialize.
                value.expect("entities serialize to JSON")
            }

            /// Records every rule of its kind the entity breaks (metadata rules included).
            pub fn validate(&self) -> Violations {
                let mut out = Violations::new();
                crate::validate::validate_metadata(self, &mut out);
                let spec = FieldPath::root().key("spec");
                match self {
                    $( Entity::$variant(e) => e.spec.validate(&spec, &mut out), )*
                    Entity::Object(_) => {}
                }
                out
            }
        }
    };
}

entities! {
    Application => argocd, "argoproj.io/v1alpha1",
    AppProject => argocd, "argoproj.io/v1alpha1",
    ApplicationSet => argocd, "argoproj.io/v1alpha1",
    Rollout => rollouts, "argoproj.io/v1alpha1",
    AnalysisTemplate => rollouts, "argoproj.io/v1alpha1",
    ClusterAnalysisTemplate => rollouts, "argoproj.io/v1alpha1",
    AnalysisRun => rollouts, "argoproj.io/v1alpha1",
    Experiment => rollouts, "argoproj.io/v1alpha1",
    Workflow => workflows, "argoproj.io/v1alpha1",
    WorkflowTemplate => workflows, "argoproj.io/v1alpha1",
    ClusterWorkflowTemplate => workflows, "argoproj.io/v1alpha1",
    CronWorkflow => workflows, "argoproj.io/v1alpha1",
    EventSource => events, "argoproj.io/v1alpha1",
    Sensor => events, "argoproj.io/v1alpha1",
    EventBus => events, "argoproj.io/v1alpha1",
    Runtime => windlass, "windlass.dev/v1alpha1",
    GitSource => windlass, "windlass.dev/v1alpha1",
    Cluster => windlass, "windlass.dev/v1alpha1",
    Team => windlass, "windlass.dev/v1alpha1",
    AccessRule => windlass, "windlass.dev/v1alpha1",
}

impl Entity {
    /// The `kind:` of the entity.
    pub fn kind_name(&self) -> &str {
        match (self.kind(), self) {
            (Some(kind), _) => kind.name(),
            (None, Entity::Object(o)) => &o.kind,
            (None, _) => unreachable!("only generic objects have no typed kind"),
        }
    }

    /// The `apiVersion:` of the entity.
    pub fn api_version(&self) -> &str {
        match (self.kind(), self) {
            (Some(kind), _) => kind.api_version(),
            (None, Entity::Object(o)) => &o.api_version,
            (None, _) => unreachable!("only generic objects have no typed kind"),
        }
    }

    /// `metadata.name`, if set.
    pub fn name(&self) -> Option<&str> {
        self.metadata()?.name.as_deref()
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata()?.namespace.as_deref()
    }

    /// The entity as YAML, as it would be written to Git.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(&self.to_value()).expect("JSON values serialize to YAML")
    }
}

impl Serialize for Entity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl PartialEq for Entity {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}
