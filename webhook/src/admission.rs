//! AdmissionReview types: what the API server sends to a validating webhook and what it expects
//! back.
//!
//! Spec: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request>
//! and the Go types in `k8s.io/api/admission/v1` (`admission.k8s.io/v1beta1` has the same shape).
//!
//! Only what the webhook reads is typed. `object` and `oldObject` are [`serde_json::Value`]s,
//! because that is what the engine takes, read onto what the rules read by
//! [`deserialize_object`]; `options` is kept opaque. The answer is written in the
//! `apiVersion` the request came in (the API server sends the first version of the webhook's
//! `admissionReviewVersions` that it supports, and rejects an answer in another version).

use std::collections::BTreeMap;
use std::fmt;

use changelint_policies::projection::{self, Projection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `admission.k8s.io/v1`.
pub const V1: &str = "admission.k8s.io/v1";
/// `admission.k8s.io/v1beta1`, still sent by API servers configured with it first.
pub const V1BETA1: &str = "admission.k8s.io/v1beta1";
/// The `kind` of both request and answer.
pub const KIND: &str = "AdmissionReview";

/// Why a body is not an AdmissionReview this webhook can answer. The message goes back in the
/// JSON error body; it never quotes the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Not JSON, or JSON of the wrong shape (serde's message: position and expected type).
    #[error("malformed AdmissionReview: {0}")]
    Malformed(String),
    /// `apiVersion` is neither v1 nor v1beta1.
    #[error("unsupported apiVersion {0:?}: expected {V1} or {V1BETA1}")]
    ApiVersion(String),
    /// `kind` is not `AdmissionReview`.
    #[error("unsupported kind {0:?}: expected {KIND}")]
    Kind(String),
    /// No `request` member.
    #[error("AdmissionReview has no request")]
    MissingRequest,
    /// The request has no `uid`, so no answer could be matched to it.
    #[error("AdmissionReview request has no uid")]
    MissingUid,
}

/// An AdmissionReview as received: `apiVersion`, `kind` and the `request`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    /// `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`.
    #[serde(default)]
    pub api_version: String,
    /// `AdmissionReview`.
    #[serde(default)]
    pub kind: String,
    /// The request; required.
    pub request: Option<AdmissionRequest>,
}

impl AdmissionReview {
    /// Decodes and validates a request body.
    pub fn from_slice(body: &[u8]) -> Result<(String, AdmissionRequest), ReviewError> {
        let review: Self = serde_json::from_slice(body).map_err(|e| {
            // serde_json's message names line, column and the expected type, never the data,
            // except for an unknown enum variant (`operation`), which it quotes as sent: the
            // handler logs it escaped.
            ReviewError::Malformed(e.to_string())
        })?;
        if review.api_version != V1 && review.api_version != V1BETA1 {
            return Err(ReviewError::ApiVersion(bounded(&review.api_version, 64)));
        }
        if review.kind != KIND {
            return Err(ReviewError::Kind(bounded(&review.kind, 64)));
        }
        let request = review.request.ok_or(ReviewError::MissingRequest)?;
        if request.uid.is_empty() {
            return Err(ReviewError::MissingUid);
        }
        Ok((review.api_version, request))
    }
}

fn bounded(text: &str, max: usize) -> String {
    crate::review::truncate(text, max).into_owned()
}

/// The operation being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// A new object.
    Create,
    /// A change to an existing object: `oldObject` -> `object`.
    Update,
    /// Removal; `oldObject` holds the object.
    Delete,
    /// A connect subresource (exec, attach, port-forward, proxy).
    Connect,
}

impl Operation {
    /// The wire name, also used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `group`, `version`, `kind` (`metav1.GroupVersionKind`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionKind {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
}

impl GroupVersionKind {
    /// `apiVersion` as written in objects: `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// `group`, `version`, `resource` (`metav1.GroupVersionResource`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupVersionResource {
    /// API group; empty for the core group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Resource (plural, lower case).
    #[serde(default)]
    pub resource: String,
}

/// Who made the request (`authenticationv1.UserInfo`). Logged by name only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserInfo {
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// User uid.
    #[serde(default)]
    pub uid: Option<String>,
    /// Groups.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Extra attributes.
    #[serde(default)]
    pub extra: Option<BTreeMap<String, Vec<String>>>,
}

/// The `request` of an AdmissionReview.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    /// Identifies this request; echoed in the answer.
    #[serde(default)]
    pub uid: String,
    /// The kind of the object as submitted.
    #[serde(default)]
    pub kind: GroupVersionKind,
    /// The resource being requested.
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// The subresource (`status`, `scale`, ...), if any.
    #[serde(default)]
    pub sub_resource: Option<String>,
    /// The kind as originally requested (differs when `matchPolicy: Equivalent` converted it).
    #[serde(default)]
    pub request_kind: Option<GroupVersionKind>,
    /// The resource as originally requested.
    #[serde(default)]
    pub request_resource: Option<GroupVersionResource>,
    /// The subresource as originally requested.
    #[serde(default)]
    pub request_sub_resource: Option<String>,
    /// Object name; may be empty on CREATE with `generateName`.
    #[serde(default)]
    pub name: Option<String>,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The operation.
    pub operation: Operation,
    /// The requester.
    #[serde(default)]
    pub user_info: UserInfo,
    /// The object after the operation (CREATE, UPDATE), read onto what the rules read (see
    /// [`deserialize_object`]).
    #[serde(default, deserialize_with = "deserialize_object")]
    pub object: Option<Value>,
    /// The object before the operation (UPDATE, DELETE), read the same way.
    #[serde(default, deserialize_with = "deserialize_object")]
    pub old_object: Option<Value>,
    /// Whether the request is a dry run; judged the same, and the webhook has no side effects.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Operation options (`CreateOptions`, ...), kept opaque.
    #[serde(default)]
    pub options: Option<Value>,
}

/// Never prints objects: they may be Secrets. Only identity and operation.
impl fmt::Debug for AdmissionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdmissionRequest")
            .field("uid", &self.uid)
            .field("kind", &self.kind)
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("operation", &self.operation)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// `metav1.Status`, as the `status` of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Status {
    /// `Success` or `Failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// HTTP-style code shown by kubectl (403 for a denial, 400 for an unusable request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// What kubectl prints after "admission webhook ... denied the request:".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason (`Forbidden`, `BadRequest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `response` of an AdmissionReview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// The request's uid.
    pub uid: String,
    /// Whether the operation may proceed.
    pub allowed: bool,
    /// Why not (or, for `invalid`, what is wrong with the request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Shown by kubectl as `Warning: ...`; the API server keeps 256 characters each and
    /// 4 KiB in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Added to the audit event, each key prefixed by the API server with the webhook name
    /// (`<webhook name>/<key>`), so keys here carry no prefix of their own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
}

impl AdmissionResponse {
    /// Allows the request.
    pub fn allow(uid: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            allowed: true,
            ..Self::default()
        }
    }

    /// Denies the request because of findings (403 `Forbidden`, as kubectl shows it).
    pub fn deny(uid: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            allowed: false,
            status: Some(Status {
                status: Some("Failure".into()),
                code: Some(403),
                message: Some(message.into()),
                reason: Some("Forbidden".into()),
            }),
            ..Self::default()
        }
    }

    /// Refuses a request that decoded but cannot be judged (e.g. UPDATE without
    /// `oldObject`): 400 `BadRequest`, not a policy denial.
    pub fn invalid(uid: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            uid: uid.into(),
            allowed: false,
            status: Some(Status {
                status: Some("Failure".into()),
                code: Some(400),
                message: Some(message.into()),
                reason: Some("BadRequest".into()),
            }),
            ..Self::default()
        }
    }

    /// Wraps the response in an AdmissionReview of the given `apiVersion`.
    pub fn into_review(self, api_version: &str) -> ReviewResponse {
        ReviewResponse {
            api_version: api_version.to_owned(),
            kind: KIND.to_owned(),
            response: self,
        }
    }
}

/// An AdmissionReview as answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResponse {
    /// Same as the request's.
    pub api_version: String,
    /// `AdmissionReview`.
    pub kind: String,
    /// The answer.
    pub response: AdmissionResponse,
}

/// Decodes `object` or `oldObject` onto what the rules read, in the same pass as the rest of
/// the review (see [`changelint_policies::projection`]): `status`, `metadata.managedFields` and
/// the last-applied annotation are skipped (written by controllers and the API server, and
/// often half of an object's bytes), and the pod spec's collections no rule reads (env, probes,
/// volumes, ...) are kept as digests. The verdict and "did the pod template change" are exact;
/// a review builds a fraction of the object.
pub fn deserialize_object<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct OptionVisitor;

    impl<'de> serde::de::Visitor<'de> for OptionVisitor {
        type Value = Option<Value>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Kubernetes object or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            projection::deserialize(&Projection::admission(), d).map(Some)
        }
    }

    deserializer.deserialize_option(OptionVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_v1_and_v1beta1() {
        for version in [V1, V1BETA1] {
            let body = format!(
                r#"{{"apiVersion":"{version}","kind":"AdmissionReview","request":{{"uid":"u1","operation":"CREATE","kind":{{"group":"apps","version":"v1","kind":"Deployment"}},"object":{{"a":1}}}}}}"#
            );
            let (api_version, request) = AdmissionReview::from_slice(body.as_bytes()).unwrap();
            assert_eq!(api_version, version);
            assert_eq!(request.uid, "u1");
            assert_eq!(request.operation, Operation::Create);
            assert_eq!(request.kind.api_version(), "apps/v1");
            assert!(request.old_object.is_none());
        }
    }

    #[test]
    fn rejects_what_it_cannot_answer() {
        let cases = [
            ("{", "malformed"),
            (
                r#"{"apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}}"#,
                "apiVersion",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#,
                "kind",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
                "no request",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#,
                "no uid",
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"PATCH"}}"#,
                "malformed",
            ),
        ];
        for (body, expected) in cases {
            let error = AdmissionReview::from_slice(body.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(expected), "{body}: {error}");
        }
    }

    #[test]
    fn objects_are_read_onto_what_the_rules_read() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE",
            "object":{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"a","managedFields":[{"manager":"m"}],
                "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"a\":1}","keep":"x"},"labels":{"status":"s"}},
                "spec":{"status":1,"template":{"metadata":{"managedFields":2},"spec":{"volumes":[{"name":"v"}],
                    "containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1"}},"env":[{"name":"E","value":"1"}],"args":[]}]}}},
                "status":{"ready":3}},
            "oldObject":null}}"#;
        let (_, request) = AdmissionReview::from_slice(body).unwrap();
        assert!(request.old_object.is_none());
        let object = request.object.unwrap();
        let digest = |value| projection::Digest::marker(projection::Digest::of(&value));
        assert_eq!(
            object,
            serde_json::json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "a", "annotations": {"keep": "x"}, "labels": {"status": "s"}},
                "spec": {"status": 1, "template": {"metadata": {"managedFields": 2}, "spec": {
                    "volumes": digest(serde_json::json!([{"name": "v"}])),
                    "containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}},
                        "env": digest(serde_json::json!([{"value": "1", "name": "E"}])),
                        "args": digest(serde_json::json!([]))}]}}}})
        );
        let malformed = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","object":{"status":[1,}}}"#;
        assert!(AdmissionReview::from_slice(malformed).is_err());
    }

    #[test]
    fn debug_never_prints_objects() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"data":{"password":"c2VjcmV0"}}}}"#;
        let (_, request) = AdmissionReview::from_slice(body).unwrap();
        assert!(!format!("{request:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn answers_serialize_in_camel_case_and_skip_empty_fields() {
        let review = AdmissionResponse::deny("u", "no").into_review(V1BETA1);
        let json = serde_json::to_value(&review).unwrap();
        assert_eq!(json["apiVersion"], V1BETA1);
        assert_eq!(json["response"]["status"]["code"], 403);
        assert!(json["response"].get("warnings").is_none());
        assert!(json["response"].get("auditAnnotations").is_none());
    }
}
