//! Argo Events kinds (`argoproj.io/v1alpha1`): [`EventSource`], [`Sensor`] and [`EventBus`].
//!
//! Modelled on Argo Events' Go types (`pkg/apis/events/v1alpha1`); the validation rules
//! follow its controllers (`pkg/reconciler/{eventsource,sensor,eventbus}/validate.go`
//! and the per-source `validate.go` files).

use std::collections::{BTreeMap, BTreeSet};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{AnyString, Extra};
use crate::path::FieldPath;
use crate::validate::{Validate, Violations};

// ---------------------------------------------------------------------------
// Shared building blocks
// ---------------------------------------------------------------------------

/// A reference to one key of a Kubernetes Secret (core/v1 `SecretKeySelector`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key inside the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether the Secret or its key may be missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to one key of a Kubernetes ConfigMap (core/v1 `ConfigMapKeySelector`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeySelector {
    /// Name of the ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key inside the ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether the ConfigMap or its key may be missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Labels and annotations added to generated objects.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Annotations to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels to add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Customisation of the pod that runs an EventSource or a Sensor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Labels and annotations of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Service account the pod runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Settings merged into the main container (resources, env, volumeMounts, ...),
    /// a Kubernetes container fragment, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub container: Option<Value>,
    /// Volumes of the pod, Kubernetes Volumes kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_list_schema")]
    pub volumes: Option<Vec<Value>>,
    /// Pod security context, a Kubernetes PodSecurityContext kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub security_context: Option<Value>,
    /// Node selector of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations of the pod, Kubernetes Tolerations kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_list_schema")]
    pub tolerations: Option<Vec<Value>>,
    /// Image pull secrets, Kubernetes LocalObjectReferences kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_list_schema")]
    pub image_pull_secrets: Option<Vec<Value>>,
    /// Priority class of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Priority of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Affinity of the pod, a Kubernetes Affinity kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub affinity: Option<Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A retry or connection backoff.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// Initial duration: nanoseconds as a number, or a duration string such as `"1s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<AnyString>,
    /// Factor the duration is multiplied by on each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<serde_json::Number>,
    /// Random jitter added to each duration, as a fraction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<serde_json::Number>,
    /// Number of attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// TLS settings of a client connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    /// Secret holding the CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_secret: Option<SecretKeySelector>,
    /// Secret holding the client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_secret: Option<SecretKeySelector>,
    /// Secret holding the client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_secret: Option<SecretKeySelector>,
    /// Skip verification of the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// Enable TLS without any certificate configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Username and password, both read from Secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    /// Secret holding the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<SecretKeySelector>,
    /// Secret holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// SASL settings of a Kafka connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaslConfig {
    /// Mechanism: `PLAIN` (default), `OAUTHBEARER`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `GSSAPI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// Secret holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_secret: Option<SecretKeySelector>,
    /// Secret holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kafka consumer group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaConsumerGroup {
    /// Name of the consumer group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// Start from the oldest offset when the group has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<bool>,
    /// Rebalance strategy: `sticky`, `roundrobin` or `range`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance_strategy: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A Kafka schema registry (Avro payloads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRegistryConfig {
    /// URL of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Id of the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<i32>,
    /// Credentials of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<BasicAuth>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Authentication with a NATS server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsAuth {
    /// Username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuth>,
    /// Secret holding a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretKeySelector>,
    /// Secret holding an NKey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nkey: Option<SecretKeySelector>,
    /// Secret holding a credentials file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<SecretKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// GitHub App credentials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubAppCreds {
    /// Secret holding the App's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<SecretKeySelector>,
    /// Id of the App.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "appID")]
    pub app_id: Option<i64>,
    /// Id of the App's installation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "installationID"
    )]
    pub installation_id: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An S3 (or MinIO) bucket object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Artifact {
    /// Endpoint of the S3 service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Bucket and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<S3Bucket>,
    /// Region of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Connect without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Secret holding the access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<SecretKeySelector>,
    /// Secret holding the secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<SecretKeySelector>,
    /// Bucket notification events to listen to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Object key prefix and suffix filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<S3Filter>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Secret holding a CA certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<SecretKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An S3 bucket, and optionally one object key in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Bucket {
    /// Object key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Bucket name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Object key filter of S3 notifications.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Filter {
    /// Key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Key suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One condition of an Argo Events object's status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of the condition (`Deployed`, `SourcesProvided`, `TriggersProvided`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<String>,
    /// `True`, `False` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConditionStatus>,
    /// When the condition last changed status (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Machine-readable reason of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Status of a [`Condition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    #[serde(rename = "True")]
    True,
    /// The condition does not hold.
    #[serde(rename = "False")]
    False,
    /// Not known yet.
    #[serde(rename = "Unknown")]
    Unknown,
}

/// Schema of a map of event names to configurations kept as written.
fn open_map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

/// Schema of a list of Kubernetes objects kept as written.
fn open_list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

// ---------------------------------------------------------------------------
// EventSource
// ---------------------------------------------------------------------------

/// Listens to an external system and publishes its events on an EventBus.
///
/// Each source field maps event names (unique in the whole EventSource) to the
/// configuration of one event.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "EventSource",
    plural = "eventsources",
    shortname = "es",
    namespaced,
    status = "EventSourceStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceSpec {
    /// EventBus the events are published on (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bus_name: Option<String>,
    /// Customisation of the event source pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// Kubernetes Service exposing the event source (webhook-style sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<EventSourceService>,
    /// Number of event source pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Plain HTTP webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<BTreeMap<String, WebhookEventSource>>,
    /// Cron schedules and intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<BTreeMap<String, CalendarEventSource>>,
    /// Kubernetes resource watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<BTreeMap<String, ResourceEventSource>>,
    /// File system watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<BTreeMap<String, FileEventSource>>,
    /// GitHub webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<BTreeMap<String, GithubEventSource>>,
    /// NATS subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<BTreeMap<String, NatsEventSource>>,
    /// Kafka topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<BTreeMap<String, KafkaEventSource>>,
    /// AMQP (RabbitMQ) queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amqp: Option<BTreeMap<String, AmqpEventSource>>,
    /// Generic gRPC event sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<BTreeMap<String, GenericEventSource>>,
    /// MinIO bucket notifications (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub minio: Option<BTreeMap<String, Value>>,
    /// MQTT topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub mqtt: Option<BTreeMap<String, Value>>,
    /// AWS SNS topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub sns: Option<BTreeMap<String, Value>>,
    /// AWS SQS queues (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub sqs: Option<BTreeMap<String, Value>>,
    /// GCP Pub/Sub topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub pub_sub: Option<BTreeMap<String, Value>>,
    /// GitLab webhooks (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub gitlab: Option<BTreeMap<String, Value>>,
    /// HDFS file watches (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub hdfs: Option<BTreeMap<String, Value>>,
    /// Slack events (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub slack: Option<BTreeMap<String, Value>>,
    /// NetApp StorageGRID notifications (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub storage_grid: Option<BTreeMap<String, Value>>,
    /// Azure Event Hubs (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub azure_events_hub: Option<BTreeMap<String, Value>>,
    /// Stripe webhooks (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub stripe: Option<BTreeMap<String, Value>>,
    /// Emitter channels (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub emitter: Option<BTreeMap<String, Value>>,
    /// Redis pub/sub channels (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub redis: Option<BTreeMap<String, Value>>,
    /// NSQ topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub nsq: Option<BTreeMap<String, Value>>,
    /// Apache Pulsar topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub pulsar: Option<BTreeMap<String, Value>>,
    /// Bitbucket Server webhooks (configuration kept as written).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "bitbucketserver"
    )]
    #[schemars(schema_with = "open_map_schema")]
    pub bitbucket_server: Option<BTreeMap<String, Value>>,
    /// Bitbucket Cloud webhooks (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub bitbucket: Option<BTreeMap<String, Value>>,
    /// Redis streams (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub redis_stream: Option<BTreeMap<String, Value>>,
    /// Azure Service Bus queues and topics (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub azure_service_bus: Option<BTreeMap<String, Value>>,
    /// Azure Queue Storage queues (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub azure_queue_storage: Option<BTreeMap<String, Value>>,
    /// SFTP directory watches (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub sftp: Option<BTreeMap<String, Value>>,
    /// Gerrit webhooks (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub gerrit: Option<BTreeMap<String, Value>>,
    /// Alibaba Cloud MNS queues (configuration kept as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_map_schema")]
    pub mns: Option<BTreeMap<String, Value>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of an [`EventSource`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceStatus {
    /// Conditions `SourcesProvided` and `Deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The Kubernetes Service created for an event source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceService {
    /// Labels and annotations of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Ports of the Service, Kubernetes ServicePorts kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "open_list_schema")]
    pub ports: Option<Vec<Value>>,
    /// Cluster IP of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An expression filter applied to events before they are published.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceFilter {
    /// Boolean expression over the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The HTTP server side of a webhook-style event source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookContext {
    /// Path the events are posted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// HTTP method accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Port the server listens on (a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Public URL of the server, registered with the external system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret holding the TLS certificate of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert_secret: Option<SecretKeySelector>,
    /// Secret holding the TLS key of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key_secret: Option<SecretKeySelector>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Secret holding a bearer token that requests must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<SecretKeySelector>,
    /// Largest accepted payload in bytes (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_size: Option<i64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A plain HTTP webhook (Argo inlines its `WebhookContext`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventSource {
    /// Path the events are posted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// HTTP method accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Port the server listens on (a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Public URL of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret holding the TLS certificate of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert_secret: Option<SecretKeySelector>,
    /// Secret holding the TLS key of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key_secret: Option<SecretKeySelector>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Secret holding a bearer token that requests must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<SecretKeySelector>,
    /// Largest accepted payload in bytes (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload_size: Option<i64>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Events produced on a cron schedule or at a fixed interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEventSource {
    /// Cron schedule (five fields), e.g. `30 * * * *`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Fixed interval as a duration, e.g. `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Dates on which no event is produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_dates: Option<Vec<String>>,
    /// Time zone of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Persistence of the last event, to catch up after downtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<EventPersistence>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a calendar event source remembers its last event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPersistence {
    /// Catch-up of missed schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup: Option<CatchupConfiguration>,
    /// ConfigMap the last event is stored in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapPersistence>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Catch-up of schedules missed while the event source was down.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatchupConfiguration {
    /// Whether to catch up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How far back to catch up, as a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A ConfigMap that persists the last calendar event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapPersistence {
    /// Name of the ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Create the ConfigMap when it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_if_not_exist: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A watch of Kubernetes resources of one kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceEventSource {
    /// Namespace to watch (empty for all namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Which resources produce events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ResourceFilter>,
    /// API group of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Plural resource name, e.g. `workflows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Changes that produce events: `ADD`, `UPDATE`, `DELETE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Filter of a resource watch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFilter {
    /// Prefix of the resource names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Label selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Selector>>,
    /// Field selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Selector>>,
    /// Only resources created after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Only resources created after the event source started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_start: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One label or field selector requirement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// Label or field key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Operator (`==`, `!=`, `in`, `notin`, `exists`, ...; default `=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Value compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A watch of a file system path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileEventSource {
    /// File operation that produces events (`CREATE`, `WRITE`, `REMOVE`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Directory and file to watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_path_config: Option<WatchPathConfig>,
    /// Poll instead of using file system notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling: Option<bool>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The directory and file (or file pattern) a file watch looks at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WatchPathConfig {
    /// Absolute directory to watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// File path relative to the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Regular expression matching file paths relative to the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_regexp: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// GitHub webhooks, optionally registered by Argo Events itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubEventSource {
    /// Webhook id (deprecated, unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// HTTP server receiving the webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookContext>,
    /// Repository owner (deprecated: use `repositories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Repository name (deprecated: use `repositories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// GitHub events to subscribe to (`*` for all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Secret holding an API token, used to register the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<SecretKeySelector>,
    /// Secret holding the webhook secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<SecretKeySelector>,
    /// Skip TLS verification when GitHub delivers the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Whether the registered webhook is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Payload content type: `json` or `form`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Base URL of a GitHub Enterprise API.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "githubBaseURL"
    )]
    pub github_base_url: Option<String>,
    /// Upload URL of a GitHub Enterprise API.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "githubUploadURL"
    )]
    pub github_upload_url: Option<String>,
    /// Delete the webhook when the event source is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_hook_on_finish: Option<bool>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Repositories to watch, grouped by owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<OwnedRepositories>>,
    /// Organizations to watch (instead of repositories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
    /// GitHub App credentials, instead of an API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app: Option<GithubAppCreds>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Repositories of one GitHub owner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnedRepositories {
    /// User or organization owning the repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Repository names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Messages of a NATS subject.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsEventSource {
    /// URL of the NATS server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Subject to subscribe to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Backoff of connection attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_backoff: Option<Backoff>,
    /// Parse message bodies as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_body: Option<bool>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Authentication with the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<NatsAuth>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Queue group of the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Messages of a Kafka topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaEventSource {
    /// Comma-separated broker addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Partition to consume (a string), when no consumer group is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Topic to consume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Backoff of connection attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_backoff: Option<Backoff>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Parse message bodies as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_body: Option<bool>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Consumer group to consume with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<KafkaConsumerGroup>,
    /// Rate limit of the events produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_events_per_second: Option<i64>,
    /// Kafka protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SASL settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslConfig>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Extra Sarama configuration, as YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Schema registry of Avro messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_registry: Option<SchemaRegistryConfig>,
    /// AWS MSK IAM authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_msk_iam_auth: Option<AwsMskIamConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// AWS MSK IAM authentication of a Kafka connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsMskIamConfig {
    /// AWS region of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Messages of an AMQP (RabbitMQ) exchange.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmqpEventSource {
    /// URL of the server (or use `urlSecret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Name of the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_name: Option<String>,
    /// Type of the exchange (`fanout`, `topic`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_type: Option<String>,
    /// Routing key of the queue binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Backoff of connection attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_backoff: Option<Backoff>,
    /// Parse message bodies as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_body: Option<bool>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Exchange declaration options, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub exchange_declare: Option<Value>,
    /// Queue declaration options, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub queue_declare: Option<Value>,
    /// Queue binding options, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub queue_bind: Option<Value>,
    /// Consume options, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub consume: Option<Value>,
    /// Username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<BasicAuth>,
    /// Secret holding the URL of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret: Option<SecretKeySelector>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Events streamed by a user-provided gRPC server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenericEventSource {
    /// Address of the gRPC server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Configuration sent to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Connect without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Parse event payloads as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_body: Option<bool>,
    /// Metadata added to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Secret holding a bearer token for the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<SecretKeySelector>,
    /// Filter applied to the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EventSourceFilter>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------
// Sensor
// ---------------------------------------------------------------------------

/// Waits for events (dependencies) from the EventBus and fires triggers.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Sensor",
    plural = "sensors",
    shortname = "sn",
    namespaced,
    status = "SensorStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct SensorSpec {
    /// Events the sensor waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<EventDependency>>,
    /// Actions run when the dependencies are resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<Vec<Trigger>>,
    /// Customisation of the sensor pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// Mark the sensor as failed when a trigger round fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_on_failed_round: Option<bool>,
    /// EventBus the events are read from (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_bus_name: Option<String>,
    /// Number of sensor pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Number of old ReplicaSets kept for rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Extra fields added to the sensor's log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_fields: Option<BTreeMap<String, String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a [`Sensor`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SensorStatus {
    /// Conditions `DependenciesProvided`, `TriggersProvided` and `Deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An event the sensor waits for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDependency {
    /// Name of the dependency, used in trigger conditions and parameters.
    pub name: String,
    /// Name of the EventSource producing the event.
    pub event_source_name: String,
    /// Name of the event inside that EventSource.
    pub event_name: String,
    /// Filters on the event (time, context, data, exprs, script), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub filters: Option<Value>,
    /// Transformation applied to the event before filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<EventDependencyTransformer>,
    /// How the filter groups combine: `and` (default) or `or`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters_logical_operator: Option<LogicalOperator>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A logical operator combining filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LogicalOperator {
    /// All must pass.
    #[serde(rename = "and")]
    And,
    /// One must pass.
    #[serde(rename = "or")]
    Or,
    /// Written as the empty string: the default, `and`.
    #[serde(rename = "")]
    Default,
}

/// Transformation of an event before it is filtered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDependencyTransformer {
    /// jq command applied to the event payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq: Option<String>,
    /// Lua script applied to the event payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An action of a sensor, fired when its conditions are met.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    /// What the trigger does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TriggerTemplate>,
    /// Parameters applied to the template from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// How the trigger's success is decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TriggerPolicy>,
    /// Retries of a failed trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<Backoff>,
    /// Rate limit of the trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Acknowledge events only after the trigger succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least_once: Option<bool>,
    /// Trigger fired when this one fails after its retries (dead letter queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub dlq_trigger: Option<Box<Trigger>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Rate limit of a trigger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Unit: `Second` (default), `Minute` or `Hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Requests allowed per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_unit: Option<i32>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a trigger does: exactly one trigger kind, plus its name and conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerTemplate {
    /// Name of the trigger, unique in the sensor.
    pub name: String,
    /// Boolean expression over dependency names (`dep-a && (dep-b || dep-c)`);
    /// default: all dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Create, update, patch or delete a Kubernetes object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<StandardK8sTrigger>,
    /// Submit or act on an Argo Workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argo_workflow: Option<ArgoWorkflowTrigger>,
    /// Send an HTTP request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpTrigger>,
    /// Invoke an AWS Lambda function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_lambda: Option<AwsLambdaTrigger>,
    /// Call a custom gRPC trigger server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomTrigger>,
    /// Publish to a Kafka topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaTrigger>,
    /// Publish to a NATS subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsTrigger>,
    /// Post a Slack message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackTrigger>,
    /// Invoke an OpenWhisk action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_whisk: Option<OpenWhiskTrigger>,
    /// Log the events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogTrigger>,
    /// Publish to Azure Event Hubs, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub azure_event_hubs: Option<Value>,
    /// Publish to an Apache Pulsar topic, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub pulsar: Option<Value>,
    /// When the resolved state of the conditions is reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions_reset: Option<Vec<ConditionsResetCriteria>>,
    /// Publish to Azure Service Bus, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub azure_service_bus: Option<Value>,
    /// Send an e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTrigger>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// JSON names of the trigger kinds of a [`TriggerTemplate`].
pub const TRIGGER_KINDS: &[&str] = &[
    "k8s",
    "argoWorkflow",
    "http",
    "awsLambda",
    "custom",
    "kafka",
    "nats",
    "slack",
    "openWhisk",
    "log",
    "azureEventHubs",
    "pulsar",
    "azureServiceBus",
    "email",
];

impl TriggerTemplate {
    /// JSON names of the trigger kinds set in this template (valid templates have one).
    pub fn kinds(&self) -> Vec<&'static str> {
        let set = [
            ("k8s", self.k8s.is_some()),
            ("argoWorkflow", self.argo_workflow.is_some()),
            ("http", self.http.is_some()),
            ("awsLambda", self.aws_lambda.is_some()),
            ("custom", self.custom.is_some()),
            ("kafka", self.kafka.is_some()),
            ("nats", self.nats.is_some()),
            ("slack", self.slack.is_some()),
            ("openWhisk", self.open_whisk.is_some()),
            ("log", self.log.is_some()),
            ("azureEventHubs", self.azure_event_hubs.is_some()),
            ("pulsar", self.pulsar.is_some()),
            ("azureServiceBus", self.azure_service_bus.is_some()),
            ("email", self.email.is_some()),
        ];
        set.iter().filter(|(_, on)| *on).map(|(k, _)| *k).collect()
    }
}

/// One criterion resetting a trigger's conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConditionsResetCriteria {
    /// Reset on a cron schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_time: Option<ConditionsResetByTime>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A cron schedule resetting a trigger's conditions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConditionsResetByTime {
    /// Cron schedule (five fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// Time zone of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a trigger's Kubernetes object comes from: exactly one of the fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    /// An S3 object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Artifact>,
    /// The object as an inline YAML or JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// A file in the sensor pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileArtifact>,
    /// A URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<UrlArtifact>,
    /// A key of a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmap: Option<ConfigMapKeySelector>,
    /// A file in a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitArtifact>,
    /// The Kubernetes object itself, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub resource: Option<Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A file in the sensor pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileArtifact {
    /// Path of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A document fetched over HTTP.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UrlArtifact {
    /// URL of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Verify the server's TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_cert: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A file in a Git repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitArtifact {
    /// URL of the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Directory the repository is cloned into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_directory: Option<String>,
    /// Username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<BasicAuth>,
    /// Secret holding an SSH key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key_secret: Option<SecretKeySelector>,
    /// Path of the file in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// Branch to check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Git reference to check out.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub ref_: Option<String>,
    /// Remote to fetch from, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub remote: Option<Value>,
    /// Skip host key verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_ignore_host_key: Option<bool>,
    /// GitHub App credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_app: Option<GithubAppCreds>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Operation of a Kubernetes trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KubernetesResourceOperation {
    /// Create the object (default).
    #[serde(rename = "create")]
    Create,
    /// Update the object.
    #[serde(rename = "update")]
    Update,
    /// Patch the object.
    #[serde(rename = "patch")]
    Patch,
    /// Delete the object.
    #[serde(rename = "delete")]
    Delete,
    /// Written as the empty string: the default, `create`.
    #[serde(rename = "")]
    Default,
}

/// Creates, updates, patches or deletes a Kubernetes object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StandardK8sTrigger {
    /// Where the object comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ArtifactLocation>,
    /// What to do with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<KubernetesResourceOperation>,
    /// Parameters applied to the object from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Patch type of `patch` operations (e.g. `application/merge-patch+json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_strategy: Option<String>,
    /// Use the object as given instead of reading it back from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_object: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Operation of an Argo Workflow trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ArgoWorkflowOperation {
    /// Submit a workflow.
    #[serde(rename = "submit")]
    Submit,
    /// Submit a workflow from an existing resource (e.g. a CronWorkflow).
    #[serde(rename = "submit-from")]
    SubmitFrom,
    /// Suspend a workflow.
    #[serde(rename = "suspend")]
    Suspend,
    /// Resubmit a workflow.
    #[serde(rename = "resubmit")]
    Resubmit,
    /// Retry a workflow.
    #[serde(rename = "retry")]
    Retry,
    /// Resume a workflow.
    #[serde(rename = "resume")]
    Resume,
    /// Terminate a workflow.
    #[serde(rename = "terminate")]
    Terminate,
    /// Stop a workflow.
    #[serde(rename = "stop")]
    Stop,
}

/// Submits or acts on an Argo Workflow through the `argo` CLI.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArgoWorkflowTrigger {
    /// Where the workflow comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ArtifactLocation>,
    /// What to do with the workflow (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<ArgoWorkflowOperation>,
    /// Parameters applied to the workflow from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Extra arguments of the `argo` command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// HTTP method of an HTTP trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HttpTriggerMethod {
    /// `GET`.
    #[serde(rename = "GET")]
    Get,
    /// `POST` (the default).
    #[serde(rename = "POST")]
    Post,
    /// `PUT`.
    #[serde(rename = "PUT")]
    Put,
    /// `PATCH`.
    #[serde(rename = "PATCH")]
    Patch,
    /// `DELETE`.
    #[serde(rename = "DELETE")]
    Delete,
    /// Written as the empty string: the default, `POST`.
    #[serde(rename = "")]
    Default,
}

/// Sends an HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpTrigger {
    /// URL of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Request body built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// HTTP method (default `POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpTriggerMethod>,
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Timeout of the request, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Request headers read from Secrets or ConfigMaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_headers: Option<Vec<SecureHeader>>,
    /// Request headers built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_headers: Option<Vec<TriggerParameter>>,
    /// `Host` header of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A header whose value is read from a Secret or ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecureHeader {
    /// Header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFromSource>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A value read from a Secret or a ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueFromSource {
    /// Key of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
    /// Key of a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Invokes an AWS Lambda function.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsLambdaTrigger {
    /// Name of the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// Secret holding the AWS access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<SecretKeySelector>,
    /// Secret holding the AWS secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<SecretKeySelector>,
    /// AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Invocation payload built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// `RequestResponse` (default), `Event` or `DryRun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_type: Option<String>,
    /// IAM role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "roleARN")]
    pub role_arn: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Calls a user-provided gRPC trigger server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomTrigger {
    /// Address of the gRPC server.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "serverURL")]
    pub server_url: Option<String>,
    /// Connect with TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// Secret holding the server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret: Option<SecretKeySelector>,
    /// Server name expected in the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name_override: Option<String>,
    /// Trigger body sent to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<BTreeMap<String, String>>,
    /// Parameters applied to the body from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Payload built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Publishes a message to a Kafka topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTrigger {
    /// Comma-separated broker addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Topic to publish to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Partition to publish to (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Acknowledgements required from the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_acks: Option<i32>,
    /// Compress messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
    /// Flush frequency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_frequency: Option<i32>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Message built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// Event payload key used as the partitioning key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning_key: Option<String>,
    /// Kafka protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SASL settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslConfig>,
    /// Schema registry of Avro messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_registry: Option<SchemaRegistryConfig>,
    /// Message headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Message headers read from Secrets or ConfigMaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_headers: Option<Vec<SecureHeader>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Publishes a message to a NATS subject.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsTrigger {
    /// URL of the NATS server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Subject to publish to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Message built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Authentication with the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<NatsAuth>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Posts a Slack message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlackTrigger {
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Secret holding the Slack token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_token: Option<SecretKeySelector>,
    /// Channel to post to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Message text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Attachments, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<String>,
    /// Blocks, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<String>,
    /// Threading of messages, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub thread: Option<Value>,
    /// Sender name and icon, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::common::preserve_unknown_schema")]
    pub sender: Option<Value>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Invokes an OpenWhisk action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenWhiskTrigger {
    /// OpenWhisk host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// OpenWhisk API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// OpenWhisk namespace of the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Secret holding the auth token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<SecretKeySelector>,
    /// Name of the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    /// Invocation payload built from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<TriggerParameter>>,
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Logs the events that fired the trigger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogTrigger {
    /// Only log once per this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sends an e-mail over SMTP.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailTrigger {
    /// Parameters applied to this trigger's fields from event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TriggerParameter>>,
    /// SMTP username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Secret holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<SecretKeySelector>,
    /// SMTP host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// SMTP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a parameter value is combined with the value at its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TriggerParameterOperation {
    /// Append to the existing value.
    #[serde(rename = "append")]
    Append,
    /// Replace the existing value (default).
    #[serde(rename = "overwrite")]
    Overwrite,
    /// Prepend to the existing value.
    #[serde(rename = "prepend")]
    Prepend,
    /// Written as the empty string: the default, `overwrite`.
    #[serde(rename = "")]
    Default,
}

/// A value taken from an event and written into a trigger.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerParameter {
    /// Where the value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<TriggerParameterSource>,
    /// Path of the destination in the trigger (e.g. `spec.arguments.parameters.0.value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    /// How the value is combined with the destination's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<TriggerParameterOperation>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The event, and the part of it, a parameter value comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerParameterSource {
    /// Dependency whose event is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_name: Option<String>,
    /// Key of the event context (`type`, `source`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_key: Option<String>,
    /// Go template over the event context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_template: Option<String>,
    /// GJSON path into the event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_key: Option<String>,
    /// Go template over the event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_template: Option<String>,
    /// Default value when the key or template yields nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Use the raw JSON of the data instead of a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_raw_data: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a trigger's success is decided.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerPolicy {
    /// Wait for labels on the created Kubernetes object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8sResourcePolicy>,
    /// Accepted HTTP response status codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusPolicy>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Success of a Kubernetes trigger: the created object gets the given labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct K8sResourcePolicy {
    /// Labels the object must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// How long and how often to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Fail the trigger when the backoff times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_on_backoff_timeout: Option<bool>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Success of an HTTP-style trigger: the response status is one of these.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPolicy {
    /// Accepted status codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<i32>>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------
// EventBus
// ---------------------------------------------------------------------------

/// The message bus between event sources and sensors: exactly one of the fields.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "EventBus",
    plural = "eventbus",
    shortname = "eb",
    namespaced,
    status = "EventBusStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct EventBusSpec {
    /// A NATS Streaming bus, run by Argo Events (`native`) or external (`exotic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsBus>,
    /// A NATS JetStream bus run by Argo Events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jetstream: Option<JetStreamBus>,
    /// An external Kafka bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaBus>,
    /// An external NATS JetStream bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jetstream_exotic: Option<JetStreamConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of an [`EventBus`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventBusStatus {
    /// Conditions `Deployed` and `Configured`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// How clients connect to the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BusConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Connection settings of a deployed bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusConfig {
    /// NATS Streaming connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nats: Option<NatsConfig>,
    /// JetStream connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jetstream: Option<JetStreamConfig>,
    /// Kafka connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaBus>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A NATS Streaming bus: exactly one of `native` and `exotic`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsBus {
    /// A NATS Streaming cluster run by Argo Events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeStrategy>,
    /// An existing NATS Streaming cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exotic: Option<NatsConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A NATS Streaming cluster run by Argo Events (pod settings kept as written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NativeStrategy {
    /// Number of NATS pods (at least 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Client authentication: `none`, `token` or `basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Persistent volume of the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceStrategy>,
    /// Maximum age of messages, as a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Connection to a NATS Streaming cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NatsConfig {
    /// URL of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Cluster id.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "clusterID")]
    pub cluster_id: Option<String>,
    /// Client authentication: `none`, `token` or `basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<SecretKeySelector>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A NATS JetStream cluster run by Argo Events (pod settings kept as written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JetStreamBus {
    /// JetStream version (one of the controller's configured versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Number of pods: 1, or at least 3 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Persistent volume of the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceStrategy>,
    /// JetStream server settings, as a configuration file fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// Extra arguments of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_args: Option<Vec<String>>,
    /// Stream settings, as YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_config: Option<String>,
    /// Largest message payload accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Persistent volume of a bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersistenceStrategy {
    /// Storage class of the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Access mode of the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    /// Size of the volume, a Kubernetes quantity (`10Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<AnyString>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Connection to an existing JetStream cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JetStreamConfig {
    /// URL of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_secret: Option<SecretKeySelector>,
    /// Stream settings, as YAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_config: Option<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Connection to a Kafka cluster used as the bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBus {
    /// Comma-separated broker addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Topic prefix of the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Kafka protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// SASL settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslConfig>,
    /// Consumer group of the sensors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<KafkaConsumerGroup>,
    /// Partitioner of produced messages (`sarama`, `random`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioner: Option<String>,
    /// Fields Windlass does not model, kept as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------

/// Whether an optional string is absent or empty (Go's zero value).
fn blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// Whether `s` is a time of day in Go's `15:04:05` layout.
fn is_time_of_day(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return false;
    };
    let num = |p: &str, len: std::ops::RangeInclusive<usize>, max: u32| {
        len.contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= max)
    };
    num(h, 1..=2, 23) && num(m, 2..=2, 59) && num(sec, 2..=2, 59)
}

fn validate_tls(tls: &Option<TlsConfig>, path: FieldPath, out: &mut Violations) {
    let Some(tls) = tls else { return };
    if tls.insecure_skip_verify == Some(true) {
        return;
    }
    let ca = tls.ca_cert_secret.is_some();
    let cert = tls.client_cert_secret.is_some();
    let key = tls.client_key_secret.is_some();
    if !ca && !cert && !key && tls.enabled != Some(true) {
        out.push(
            path,
            "needs caCertSecret, or clientCertSecret and clientKeySecret, or enabled: true",
        );
    } else if cert != key {
        out.push(
            path,
            "clientCertSecret and clientKeySecret must be set together",
        );
    }
}

fn validate_basic_auth(auth: &Option<BasicAuth>, path: FieldPath, out: &mut Violations) {
    let Some(auth) = auth else { return };
    if auth.username.is_none() {
        out.push(path.key("username"), "is required");
    }
    if auth.password.is_none() {
        out.push(path.key("password"), "is required");
    }
}

fn validate_sasl(sasl: &Option<SaslConfig>, path: FieldPath, out: &mut Violations) {
    let Some(sasl) = sasl else { return };
    match sasl.mechanism.as_deref().unwrap_or("") {
        "" | "PLAIN" | "OAUTHBEARER" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | "GSSAPI" => {}
        _ => out.push(
            path.key("mechanism"),
            "must be one of PLAIN, OAUTHBEARER, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI",
        ),
    }
    if sasl.user_secret.is_none() || sasl.password_secret.is_none() {
        out.push(path, "userSecret and passwordSecret are both required");
    }
}

fn validate_webhook_context(
    endpoint: &Option<String>,
    port: &Option<String>,
    path: &FieldPath,
    out: &mut Violations,
) {
    if blank(endpoint) {
        out.push(path.key("endpoint"), "is required");
    }
    match port.as_deref() {
        None | Some("") => out.push(path.key("port"), "is required"),
        Some(p) if p.parse::<i64>().is_err() => out.push(path.key("port"), "must be a number"),
        Some(_) => {}
    }
}

// ---------------------------------------------------------------------------
// EventSource validation
// ---------------------------------------------------------------------------

impl EventSourceSpec {
    /// Every event of this EventSource as (source field, event name), in field order.
    pub fn event_names(&self) -> Vec<(&'static str, &str)> {
        fn names<'a, T>(
            out: &mut Vec<(&'static str, &'a str)>,
            field: &'static str,
            map: &'a Option<BTreeMap<String, T>>,
        ) {
            if let Some(map) = map {
                out.extend(map.keys().map(|k| (field, k.as_str())));
            }
        }
        let mut out = Vec::new();
        names(&mut out, "webhook", &self.webhook);
        names(&mut out, "calendar", &self.calendar);
        names(&mut out, "resource", &self.resource);
        names(&mut out, "file", &self.file);
        names(&mut out, "github", &self.github);
        names(&mut out, "nats", &self.nats);
        names(&mut out, "kafka", &self.kafka);
        names(&mut out, "amqp", &self.amqp);
        names(&mut out, "generic", &self.generic);
        names(&mut out, "minio", &self.minio);
        names(&mut out, "mqtt", &self.mqtt);
        names(&mut out, "sns", &self.sns);
        names(&mut out, "sqs", &self.sqs);
        names(&mut out, "pubSub", &self.pub_sub);
        names(&mut out, "gitlab", &self.gitlab);
        names(&mut out, "hdfs", &self.hdfs);
        names(&mut out, "slack", &self.slack);
        names(&mut out, "storageGrid", &self.storage_grid);
        names(&mut out, "azureEventsHub", &self.azure_events_hub);
        names(&mut out, "stripe", &self.stripe);
        names(&mut out, "emitter", &self.emitter);
        names(&mut out, "redis", &self.redis);
        names(&mut out, "nsq", &self.nsq);
        names(&mut out, "pulsar", &self.pulsar);
        names(&mut out, "bitbucketserver", &self.bitbucket_server);
        names(&mut out, "bitbucket", &self.bitbucket);
        names(&mut out, "redisStream", &self.redis_stream);
        names(&mut out, "azureServiceBus", &self.azure_service_bus);
        names(&mut out, "azureQueueStorage", &self.azure_queue_storage);
        names(&mut out, "sftp", &self.sftp);
        names(&mut out, "gerrit", &self.gerrit);
        names(&mut out, "mns", &self.mns);
        out
    }
}

/// Source fields whose deployments Argo Events updates with the `Recreate` strategy
/// (they must not share an EventSource with rolling-update sources).
const RECREATE_SOURCES: &[&str] = &[
    "amqp",
    "calendar",
    "kafka",
    "pubSub",
    "azureEventsHub",
    "azureServiceBus",
    "nats",
    "mqtt",
    "minio",
    "emitter",
    "nsq",
    "pulsar",
    "redis",
    "redisStream",
    "resource",
    "hdfs",
    "file",
    "sftp",
    "generic",
];

impl Validate for EventSourceSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let events = self.event_names();
        if events.is_empty() {
            out.push(path.clone(), "must define at least one event source");
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (field, name) in &events {
            if let Some(first) = seen.insert(name, field) {
                out.push(
                    path.key(*field).key(*name),
                    format!(
                        "event name {name:?} is already used under {first}; event names must be unique in an EventSource"
                    ),
                );
            }
        }
        let recreate: BTreeSet<&str> = events
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| RECREATE_SOURCES.contains(f))
            .collect();
        let rolling: BTreeSet<&str> = events
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| !RECREATE_SOURCES.contains(f))
            .collect();
        if !recreate.is_empty() && !rolling.is_empty() {
            out.push(
                path.clone(),
                format!(
                    "event sources with the rolling update strategy ({}) and the recreate strategy ({}) can not be put together",
                    rolling.into_iter().collect::<Vec<_>>().join(", "),
                    recreate.into_iter().collect::<Vec<_>>().join(", "),
                ),
            );
        }

        for (name, es) in self.webhook.iter().flatten() {
            let p = path.key("webhook").key(name);
            validate_webhook_context(&es.endpoint, &es.port, &p, out);
        }
        for (name, es) in self.calendar.iter().flatten() {
            let p = path.key("calendar").key(name);
            // Argo uses the schedule when set, else the interval.
            let schedule = es.schedule.as_deref().filter(|s| !s.is_empty());
            let interval = es.interval.as_deref().filter(|s| !s.is_empty());
            match (schedule, interval) {
                (None, None) => out.push(p, "must have either schedule or interval"),
                (Some(schedule), _) => {
                    if let Err(e) = crate::cron::parse(schedule, crate::cron::Dialect::FiveFields) {
                        out.push(
                            p.key("schedule"),
                            format!("failed to parse schedule {schedule} from calendar event. Cause: {e}"),
                        );
                    }
                }
                (None, Some(interval)) => {
                    if let Err(e) = crate::duration::parse(interval) {
                        out.push(
                            p.key("interval"),
                            format!("failed to parse interval {interval} from calendar event. Cause: {e}"),
                        );
                    }
                }
            }
        }
        for (name, es) in self.resource.iter().flatten() {
            let p = path.key("resource").key(name);
            if blank(&es.version) {
                out.push(p.key("version"), "is required");
            }
            if blank(&es.resource) {
                out.push(p.key("resource"), "is required");
            }
            if es.event_types.is_none() {
                out.push(p.key("eventTypes"), "is required");
            }
            if let Some(filter) = &es.filter {
                for (field, selectors) in [("labels", &filter.labels), ("fields", &filter.fields)] {
                    for (i, sel) in selectors.iter().flatten().enumerate() {
                        if blank(&sel.key) {
                            out.push(
                                p.key("filter").key(field).index(i).key("key"),
                                "is required",
                            );
                        }
                    }
                }
            }
        }
        for (name, es) in self.file.iter().flatten() {
            let p = path.key("file").key(name);
            if blank(&es.event_type) {
                out.push(p.key("eventType"), "is required");
            }
            validate_watch_path(&es.watch_path_config, p.key("watchPathConfig"), out);
        }
        for (name, es) in self.github.iter().flatten() {
            validate_github(es, path.key("github").key(name), out);
        }
        for (name, es) in self.kafka.iter().flatten() {
            let p = path.key("kafka").key(name);
            if blank(&es.url) {
                out.push(p.key("url"), "is required");
            }
            if blank(&es.topic) {
                out.push(p.key("topic"), "is required");
            }
            if blank(&es.partition) && es.consumer_group.is_none() {
                out.push(p.clone(), "consumerGroup or partition must be specified");
            }
            validate_tls(&es.tls, p.key("tls"), out);
            validate_sasl(&es.sasl, p.key("sasl"), out);
            if let Some(iam) = &es.aws_msk_iam_auth
                && blank(&iam.region)
            {
                out.push(p.key("awsMskIamAuth").key("region"), "is required");
            }
        }
        for (name, es) in self.nats.iter().flatten() {
            let p = path.key("nats").key(name);
            if blank(&es.url) {
                out.push(p.key("url"), "is required");
            }
            if blank(&es.subject) {
                out.push(p.key("subject"), "is required");
            }
            validate_tls(&es.tls, p.key("tls"), out);
            if es.queue.as_deref() == Some("") {
                out.push(p.key("queue"), "can not be empty if specified");
            }
        }
        for (name, es) in self.amqp.iter().flatten() {
            let p = path.key("amqp").key(name);
            match (blank(&es.url), es.url_secret.is_some()) {
                (true, false) => out.push(p.clone(), "either url or urlSecret must be specified"),
                (false, true) => {
                    out.push(p.clone(), "only one of url or urlSecret can be specified")
                }
                _ => {}
            }
            if blank(&es.routing_key) {
                out.push(p.key("routingKey"), "is required");
            }
            if blank(&es.exchange_type) {
                out.push(p.key("exchangeType"), "is required");
            }
            validate_tls(&es.tls, p.key("tls"), out);
            validate_basic_auth(&es.auth, p.key("auth"), out);
        }
        for (name, es) in self.generic.iter().flatten() {
            let p = path.key("generic").key(name);
            if blank(&es.url) {
                out.push(p.key("url"), "is required");
            }
            if blank(&es.config) {
                out.push(p.key("config"), "is required");
            }
        }
    }
}

fn validate_watch_path(config: &Option<WatchPathConfig>, path: FieldPath, out: &mut Violations) {
    let Some(config) = config else {
        out.push(path.key("directory"), "is required");
        return;
    };
    match config.directory.as_deref() {
        None | Some("") => out.push(path.key("directory"), "is required"),
        Some(dir) if !dir.starts_with('/') => {
            out.push(path.key("directory"), "must be an absolute file path");
        }
        Some(_) => {}
    }
    match (blank(&config.path), blank(&config.path_regexp)) {
        (true, true) => out.push(path, "either path or pathRegexp must be specified"),
        (false, false) => out.push(path, "path and pathRegexp cannot be specified together"),
        (false, true) => {
            if config.path.as_deref().is_some_and(|p| p.starts_with('/')) {
                out.push(path.key("path"), "must be a relative file path");
            }
        }
        (true, false) => {}
    }
}

fn validate_github(es: &GithubEventSource, path: FieldPath, out: &mut Violations) {
    let has_repos = es.repositories.as_ref().is_some_and(|r| !r.is_empty())
        || (!blank(&es.owner) && !blank(&es.repository));
    let has_orgs = es.organizations.is_some();
    if !has_repos && !has_orgs {
        out.push(
            path.clone(),
            "either repositories or organizations is required",
        );
    }
    if has_repos && has_orgs {
        out.push(
            path.clone(),
            "only one of repositories and organizations is allowed",
        );
    }
    let has_creds = es.api_token.is_some()
        || es
            .github_app
            .as_ref()
            .is_some_and(|a| a.private_key.is_some());
    let has_url = es.webhook.as_ref().is_some_and(|w| !blank(&w.url));
    if has_creds && has_url && es.events.as_ref().is_none_or(Vec::is_empty) {
        out.push(
            path.key("events"),
            "must be defined to create a github webhook",
        );
    }
    if let Some(ct) = es.content_type.as_deref()
        && !ct.is_empty()
        && ct != "json"
        && ct != "form"
    {
        out.push(path.key("contentType"), "must be \"json\" or \"form\"");
    }
    match (blank(&es.github_base_url), blank(&es.github_upload_url)) {
        (false, true) => out.push(
            path.key("githubUploadURL"),
            "is required when githubBaseURL is set",
        ),
        (true, false) => out.push(
            path.key("githubBaseURL"),
            "is required when githubUploadURL is set",
        ),
        _ => {}
    }
    match &es.webhook {
        None => out.push(path.key("webhook"), "is required"),
        Some(w) => validate_webhook_context(&w.endpoint, &w.port, &path.key("webhook"), out),
    }
}

// ---------------------------------------------------------------------------
// Sensor validation
// ---------------------------------------------------------------------------

/// The dependency names a trigger `conditions` expression refers to.
///
/// Conditions are boolean expressions of dependency names joined by `&&` and `||`,
/// with parentheses; Argo treats `-` and `_` in names alike.
pub fn condition_dependency_names(conditions: &str) -> Vec<&str> {
    conditions
        .split(|c: char| c.is_whitespace() || matches!(c, '&' | '|' | '(' | ')' | '!'))
        .filter(|s| !s.is_empty())
        .collect()
}

impl Validate for SensorSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        let deps = self.dependencies.as_deref().unwrap_or_default();
        if deps.is_empty() {
            out.push(
                path.key("dependencies"),
                "must define at least one dependency",
            );
        }
        let mut dep_names: BTreeSet<String> = BTreeSet::new();
        for (i, dep) in deps.iter().enumerate() {
            let p = path.key("dependencies").index(i);
            if dep.name.is_empty() {
                out.push(p.key("name"), "is required");
            } else if !dep_names.insert(dep.name.replace('-', "_")) {
                out.push(
                    p.key("name"),
                    format!("duplicate dependency name {:?}", dep.name),
                );
            }
            if dep.event_source_name.is_empty() {
                out.push(p.key("eventSourceName"), "is required");
            }
            if dep.event_name.is_empty() {
                out.push(p.key("eventName"), "is required");
            }
            if let Some(filters) = &dep.filters {
                validate_filters(filters, p.key("filters"), out);
            }
        }

        let triggers = self.triggers.as_deref().unwrap_or_default();
        if triggers.is_empty() {
            out.push(path.key("triggers"), "must define at least one trigger");
        }
        let mut trigger_names: BTreeSet<&str> = BTreeSet::new();
        for (i, trigger) in triggers.iter().enumerate() {
            let p = path.key("triggers").index(i);
            validate_trigger(trigger, &p, &dep_names, out);
            if let Some(t) = &trigger.template
                && !t.name.is_empty()
                && !trigger_names.insert(&t.name)
            {
                out.push(
                    p.key("template").key("name"),
                    format!("duplicate trigger name {:?}", t.name),
                );
            }
        }
    }
}

fn validate_trigger(
    trigger: &Trigger,
    path: &FieldPath,
    dep_names: &BTreeSet<String>,
    out: &mut Violations,
) {
    let tp = path.key("template");
    match &trigger.template {
        None => out.push(tp, "is required"),
        Some(template) => {
            validate_trigger_template(template, &tp, dep_names, out);
            if let Some(policy) = &trigger.policy {
                let pp = path.key("policy");
                if template.k8s.is_some() || template.argo_workflow.is_some() {
                    if let Some(k8s) = &policy.k8s
                        && k8s.labels.is_none()
                    {
                        out.push(pp.key("k8s").key("labels"), "is required");
                    }
                } else if (template.http.is_some() || template.aws_lambda.is_some())
                    && let Some(status) = &policy.status
                    && status.allow.is_none()
                {
                    out.push(pp.key("status").key("allow"), "is required");
                }
            }
        }
    }
    validate_parameters(&trigger.parameters, path.key("parameters"), true, out);
    if let Some(dlq) = &trigger.dlq_trigger {
        let dp = path.key("dlqTrigger");
        if trigger.at_least_once != Some(true) {
            out.push(path.key("atLeastOnce"), "must be true to use dlqTrigger");
        }
        if dlq.at_least_once != Some(true) {
            out.push(dp.key("atLeastOnce"), "must be true within the dlqTrigger");
        }
        validate_trigger(dlq, &dp, dep_names, out);
    }
}

fn validate_trigger_template(
    t: &TriggerTemplate,
    path: &FieldPath,
    dep_names: &BTreeSet<String>,
    out: &mut Violations,
) {
    if t.name.is_empty() {
        out.push(path.key("name"), "is required");
    }
    let kinds = t.kinds();
    match kinds.len() {
        0 => {
            let hint = t.extra.keys().find_map(|key| {
                TRIGGER_KINDS
                    .iter()
                    .find(|kind| kind.eq_ignore_ascii_case(key))
                    .map(|kind| format!(" (found {key:?}: did you mean {kind:?}?)"))
            });
            out.push(
                path.clone(),
                format!(
                    "must define one trigger kind: one of {}{}",
                    TRIGGER_KINDS.join(", "),
                    hint.unwrap_or_default()
                ),
            );
        }
        1 => {}
        _ => out.push(
            path.clone(),
            format!(
                "must define exactly one trigger kind, found {}",
                kinds.join(", ")
            ),
        ),
    }
    if let Some(conditions) = t.conditions.as_deref() {
        for name in condition_dependency_names(conditions) {
            if !dep_names.contains(&name.replace('-', "_")) {
                out.push(
                    path.key("conditions"),
                    format!("refers to {name:?}, which is not a dependency of the sensor"),
                );
            }
        }
    }
    for (i, reset) in t.conditions_reset.iter().flatten().enumerate() {
        let p = path.key("conditionsReset").index(i);
        match &reset.by_time {
            None => out.push(p.key("byTime"), "is required"),
            Some(by_time) => {
                let cron = by_time.cron.as_deref().unwrap_or_default();
                if crate::cron::parse(cron, crate::cron::Dialect::FiveFields).is_err() {
                    out.push(
                        p.key("byTime").key("cron"),
                        format!("invalid cron expression {cron:?}"),
                    );
                }
            }
        }
    }
    if let Some(k8s) = &t.k8s {
        let p = path.key("k8s");
        if k8s.source.is_none() {
            out.push(p.key("source"), "is required");
        }
        validate_parameters(&k8s.parameters, p.key("parameters"), true, out);
    }
    if let Some(wf) = &t.argo_workflow {
        let p = path.key("argoWorkflow");
        if wf.source.is_none() {
            out.push(p.key("source"), "is required");
        }
        if wf.operation.is_none() {
            out.push(p.key("operation"), "is required");
        }
        validate_parameters(&wf.parameters, p.key("parameters"), true, out);
    }
    if let Some(http) = &t.http {
        let p = path.key("http");
        if blank(&http.url) {
            out.push(p.key("url"), "is required");
        }
        validate_parameters(&http.parameters, p.key("parameters"), true, out);
        // HTTP payload parameters may leave `dest` empty to send the whole value.
        validate_parameters(&http.payload, p.key("payload"), false, out);
    }
    if let Some(lambda) = &t.aws_lambda {
        let p = path.key("awsLambda");
        if blank(&lambda.function_name) {
            out.push(p.key("functionName"), "is required");
        }
        if blank(&lambda.region) {
            out.push(p.key("region"), "is required");
        }
        if lambda.payload.is_none() {
            out.push(p.key("payload"), "is required");
        }
        validate_parameters(&lambda.parameters, p.key("parameters"), true, out);
        validate_parameters(&lambda.payload, p.key("payload"), true, out);
    }
    if let Some(kafka) = &t.kafka {
        let p = path.key("kafka");
        if blank(&kafka.url) {
            out.push(p.key("url"), "is required");
        }
        if blank(&kafka.topic) {
            out.push(p.key("topic"), "is required");
        }
        if kafka.payload.is_none() {
            out.push(p.key("payload"), "is required");
        }
        validate_parameters(&kafka.payload, p.key("payload"), true, out);
    }
    if let Some(nats) = &t.nats {
        let p = path.key("nats");
        if blank(&nats.url) {
            out.push(p.key("url"), "is required");
        }
        if blank(&nats.subject) {
            out.push(p.key("subject"), "is required");
        }
        if nats.payload.is_none() {
            out.push(p.key("payload"), "is required");
        }
        validate_parameters(&nats.payload, p.key("payload"), true, out);
    }
    if let Some(slack) = &t.slack {
        let p = path.key("slack");
        if slack.slack_token.is_none() {
            out.push(p.key("slackToken"), "is required");
        }
        validate_parameters(&slack.parameters, p.key("parameters"), true, out);
    }
    if let Some(ow) = &t.open_whisk {
        let p = path.key("openWhisk");
        if blank(&ow.action_name) {
            out.push(p.key("actionName"), "is required");
        }
        if blank(&ow.host) {
            out.push(p.key("host"), "is required");
        }
        if let Some(token) = &ow.auth_token
            && (blank(&token.name) || blank(&token.key))
        {
            out.push(p.key("authToken"), "name and key are required");
        }
        if ow.payload.is_none() {
            out.push(p.key("payload"), "is required");
        }
        validate_parameters(&ow.parameters, p.key("parameters"), true, out);
        validate_parameters(&ow.payload, p.key("payload"), true, out);
    }
    if let Some(custom) = &t.custom {
        let p = path.key("custom");
        if blank(&custom.server_url) {
            out.push(p.key("serverURL"), "is required");
        }
        if custom.spec.is_none() {
            out.push(p.key("spec"), "is required");
        }
        if custom.secure == Some(true) && custom.cert_secret.is_none() {
            out.push(p.key("certSecret"), "is required when secure is true");
        }
        validate_parameters(&custom.parameters, p.key("parameters"), true, out);
    }
    if let Some(email) = &t.email {
        let p = path.key("email");
        if blank(&email.host) {
            out.push(p.key("host"), "is required");
        }
        if email.port.is_some_and(|port| !(0..=65535).contains(&port)) {
            out.push(p.key("port"), "must be between 0 and 65535");
        }
        validate_parameters(&email.parameters, p.key("parameters"), true, out);
    }
}

fn validate_parameters(
    params: &Option<Vec<TriggerParameter>>,
    path: FieldPath,
    require_dest: bool,
    out: &mut Violations,
) {
    for (i, param) in params.iter().flatten().enumerate() {
        let p = path.index(i);
        match &param.src {
            None => out.push(p.key("src"), "is required"),
            Some(src) => {
                if blank(&src.dependency_name) {
                    out.push(p.key("src").key("dependencyName"), "is required");
                }
            }
        }
        if require_dest && blank(&param.dest) {
            out.push(p.key("dest"), "is required");
        }
    }
}

/// Checks the dependency filters (kept as JSON) the way Argo's sensor controller does.
fn validate_filters(filters: &Value, path: FieldPath, out: &mut Violations) {
    let Some(obj) = filters.as_object() else {
        return;
    };
    let str_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    for key in ["exprLogicalOperator", "dataLogicalOperator"] {
        if let Some(op) = obj.get(key)
            && !matches!(op.as_str(), Some("" | "and" | "or"))
        {
            out.push(path.key(key), "must be \"and\" or \"or\"");
        }
    }
    if let Some(exprs) = obj.get("exprs").and_then(Value::as_array) {
        for (i, expr) in exprs.iter().enumerate() {
            let p = path.key("exprs").index(i);
            if str_of(expr, "expr").is_empty() {
                out.push(p.key("expr"), "is required");
            }
            let fields = expr.get("fields").and_then(Value::as_array);
            if fields.is_none_or(Vec::is_empty) {
                out.push(p.key("fields"), "must not be empty");
            }
            for (j, field) in fields.into_iter().flatten().enumerate() {
                for key in ["path", "name"] {
                    if str_of(field, key).is_empty() {
                        out.push(p.key("fields").index(j).key(key), "is required");
                    }
                }
            }
        }
    }
    if let Some(data) = obj.get("data").and_then(Value::as_array) {
        for (i, filter) in data.iter().enumerate() {
            let p = path.key("data").index(i);
            if !matches!(
                str_of(filter, "comparator").as_str(),
                "" | ">=" | ">" | "=" | "!=" | "<" | "<="
            ) {
                out.push(p.key("comparator"), "must be one of >=, >, =, !=, <, <=");
            }
            for key in ["path", "type"] {
                if str_of(filter, key).is_empty() {
                    out.push(p.key(key), "is required");
                }
            }
            let values = filter.get("value").and_then(Value::as_array);
            if values.is_none_or(Vec::is_empty) {
                out.push(p.key("value"), "must not be empty");
            }
            for (j, v) in values.into_iter().flatten().enumerate() {
                if v.as_str().is_some_and(str::is_empty) {
                    out.push(p.key("value").index(j), "must not be empty");
                }
            }
        }
    }
    if let Some(ctx) = obj.get("context")
        && ctx.is_object()
        && ["type", "subject", "source", "datacontenttype"]
            .iter()
            .all(|k| str_of(ctx, k).is_empty())
    {
        out.push(
            path.key("context"),
            "must set one of type, subject, source, datacontenttype (otherwise every event is discarded)",
        );
    }
    if let Some(time) = obj.get("time")
        && time.is_object()
    {
        let start = str_of(time, "start");
        let stop = str_of(time, "stop");
        for (key, value) in [("start", &start), ("stop", &stop)] {
            if !is_time_of_day(value) {
                out.push(
                    path.key("time").key(key),
                    "must be a time of day as HH:MM:SS",
                );
            }
        }
        if is_time_of_day(&start) && start == stop {
            out.push(path.key("time"), "stop must differ from start");
        }
    }
}

// ---------------------------------------------------------------------------
// EventBus validation
// ---------------------------------------------------------------------------

impl Validate for EventBusSpec {
    fn validate(&self, path: &FieldPath, out: &mut Violations) {
        if self.nats.is_none()
            && self.jetstream.is_none()
            && self.kafka.is_none()
            && self.jetstream_exotic.is_none()
        {
            out.push(
                path.clone(),
                "one of nats, jetstream, jetstreamExotic or kafka must be specified",
            );
        }
        if let Some(nats) = &self.nats {
            let p = path.key("nats");
            match (&nats.native, &nats.exotic) {
                (Some(_), Some(_)) => out.push(p, "native and exotic can not be defined together"),
                (None, None) => out.push(p, "either native or exotic must be defined"),
                (_, Some(exotic)) => {
                    if exotic.cluster_id.is_none() {
                        out.push(p.key("exotic").key("clusterID"), "is required");
                    }
                    if blank(&exotic.url) {
                        out.push(p.key("exotic").key("url"), "is required");
                    }
                }
                (Some(_), None) => {}
            }
        }
        if let Some(js) = &self.jetstream {
            let p = path.key("jetstream");
            if blank(&js.version) {
                out.push(p.key("version"), "is required");
            }
            if js.replicas.is_some_and(|r| r == 2 || r <= 0) {
                out.push(p.key("replicas"), "must be 1 or at least 3");
            }
        }
        if let Some(kafka) = &self.kafka
            && blank(&kafka.url)
        {
            out.push(path.key("kafka").key("url"), "is required");
        }
        if let Some(js) = &self.jetstream_exotic
            && blank(&js.url)
        {
            out.push(path.key("jetstreamExotic").key("url"), "is required");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_refer_to_dependencies() {
        assert_eq!(
            condition_dependency_names("dep-a && (dep_b || dep-c)"),
            ["dep-a", "dep_b", "dep-c"]
        );
    }
}
