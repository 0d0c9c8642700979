//! What an object must hold where the rules read it. A value of the wrong type or form there (a
//! `containers` that is not a list, a limit of `abc`, a `maxUnavailable` of `1000%`) would read
//! as absent, and a change that removes a limit or rolls every node at once would pass. The API
//! server refuses such objects, so the readers refuse them too, naming the place.

use serde_json::Value;

use crate::config::{IntOrPercent, Policy};
use crate::exemption;
use crate::object::Identity;
use crate::podspec::{child_pointer, lookup, pod_spec_pointer};
use crate::quantity::Quantity;

/// A part of an object the rules cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at `{pointer}`)")]
pub struct Misshapen {
    /// JSON pointer of the offending value, within the object.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

/// Checks the parts of `value` the rules read; `identity` is [`Identity::of`] the same value.
pub fn check(value: &Value, identity: &Identity, policy: &Policy) -> Result<(), Misshapen> {
    // `apiVersion` and `kind` together make a document a Kubernetes object; one that has both,
    // not as text, is neither an object nor a plain config.
    if value.get("apiVersion").is_some() && value.get("kind").is_some() {
        for field in ["apiVersion", "kind"] {
            if value[field].as_str().is_none_or(str::is_empty) {
                return Err(misshapen(
                    &format!("/{field}"),
                    "must be a non-empty string",
                ));
            }
        }
    }
    if identity.is_config() {
        return Ok(());
    }
    metadata(value, policy)?;
    if let Some(spec_pointer) = pod_spec_pointer(identity, policy) {
        containers(value, spec_pointer)?;
    }
    rollout(value, &identity.kind)
}

fn misshapen(pointer: &str, message: &str) -> Misshapen {
    Misshapen {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    }
}

/// `value` as a mapping, or `None` when it is absent or `null` (which the API server reads as
/// unset). Pointers are built only for an error: this runs on every object read.
fn mapping(
    value: &Value,
    pointer: impl FnOnce() -> String,
) -> Result<Option<&serde_json::Map<String, Value>>, Misshapen> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        _ => Err(misshapen(&pointer(), "must be a mapping")),
    }
}

fn metadata(value: &Value, policy: &Policy) -> Result<(), Misshapen> {
    let Some(metadata) = mapping(&value["metadata"], || "/metadata".into())? else {
        return Ok(());
    };
    for field in ["name", "generateName", "namespace"] {
        if metadata
            .get(field)
            .is_some_and(|v| !v.is_null() && !v.is_string())
        {
            return Err(misshapen(&format!("/metadata/{field}"), "must be a string"));
        }
    }
    for field in ["labels", "annotations"] {
        let pointer = || format!("/metadata/{field}");
        let Some(map) = mapping(metadata.get(field).unwrap_or(&Value::Null), pointer)? else {
            continue;
        };
        // The API server reads a `null` label or annotation value as "".
        if let Some((key, _)) = map
            .iter()
            .find(|(_, item)| !item.is_string() && !item.is_null())
        {
            return Err(misshapen(
                &child_pointer(&pointer(), key),
                "must be a string",
            ));
        }
    }
    let annotation = &policy.exemptions.annotation;
    if let Some(error) = metadata
        .get("annotations")
        .and_then(|a| a.get(annotation))
        .and_then(Value::as_str)
        .and_then(exemption::annotation_error)
    {
        let pointer = child_pointer("/metadata/annotations", annotation);
        return Err(misshapen(&pointer, &format!("the exemption {error}")));
    }
    Ok(())
}

/// Containers and their limits and requests: what every resource rule reads.
fn containers(value: &Value, spec_pointer: &str) -> Result<(), Misshapen> {
    let spec = lookup(value, spec_pointer).unwrap_or(&Value::Null);
    let Some(spec) = mapping(spec, || spec_pointer.to_owned())? else {
        return Ok(());
    };
    for list in ["initContainers", "containers"] {
        let list_pointer = || child_pointer(spec_pointer, list);
        let items = match spec.get(list) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) => items,
            Some(_) => return Err(misshapen(&list_pointer(), "must be a list of containers")),
        };
        for (index, item) in items.iter().enumerate() {
            let container = || child_pointer(&list_pointer(), &index.to_string());
            let Value::Object(item) = item else {
                return Err(misshapen(&container(), "must be a container (a mapping)"));
            };
            if item
                .get("name")
                .is_some_and(|v| !v.is_null() && !v.is_string())
            {
                return Err(misshapen(
                    &child_pointer(&container(), "name"),
                    "must be a string",
                ));
            }
            let resources_pointer = || child_pointer(&container(), "resources");
            let resources = item.get("resources").unwrap_or(&Value::Null);
            let Some(resources) = mapping(resources, resources_pointer)? else {
                continue;
            };
            for class in ["limits", "requests"] {
                let class_pointer = || child_pointer(&resources_pointer(), class);
                let amounts = resources.get(class).unwrap_or(&Value::Null);
                for (resource, amount) in mapping(amounts, class_pointer)?.into_iter().flatten() {
                    // `$patch: delete` and the like are kustomize's directives, not amounts.
                    if amount.is_null() || resource.starts_with('$') {
                        continue;
                    }
                    let problem = match Quantity::nanos_of_json(amount) {
                        Err(error) => error.to_string(),
                        Ok(nanos) if nanos < 0 => "must not be negative".into(),
                        Ok(_) => continue,
                    };
                    return Err(misshapen(
                        &child_pointer(&class_pointer(), resource),
                        &problem,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The rollout fields `blast-radius-rollout` and the impact model read, by kind: whole numbers,
/// and counts or percentages (`maxUnavailable` at most 100%; a Deployment may surge past it).
fn rollout(value: &Value, kind: &str) -> Result<(), Misshapen> {
    let (whole_numbers, steps): (&[&str], &[(&str, bool)]) = match kind {
        "DaemonSet" => (
            &["/spec/minReadySeconds"],
            &[
                ("/spec/updateStrategy/rollingUpdate/maxUnavailable", true),
                ("/spec/updateStrategy/rollingUpdate/maxSurge", true),
            ],
        ),
        "Deployment" => (
            &["/spec/replicas", "/spec/minReadySeconds"],
            &[
                ("/spec/strategy/rollingUpdate/maxUnavailable", true),
                ("/spec/strategy/rollingUpdate/maxSurge", false),
            ],
        ),
        "StatefulSet" => (
            &[
                "/spec/replicas",
                "/spec/minReadySeconds",
                "/spec/updateStrategy/rollingUpdate/partition",
            ],
            &[("/spec/updateStrategy/rollingUpdate/maxUnavailable", true)],
        ),
        "ReplicaSet" | "ReplicationController" => (&["/spec/replicas"], &[]),
        _ => return Ok(()),
    };
    let present = |pointer| lookup(value, pointer).filter(|v| !v.is_null());
    for pointer in whole_numbers {
        if present(pointer).is_some_and(|v| v.as_u64().is_none()) {
            return Err(misshapen(pointer, "must be a whole number, 0 or more"));
        }
    }
    for (pointer, at_most_all) in steps {
        let Some(step) = present(pointer) else {
            continue;
        };
        if let Err(message) = IntOrPercent::read(step, *at_most_all) {
            return Err(misshapen(pointer, &message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn checked(value: &Value) -> Result<(), Misshapen> {
        check(
            value,
            &Identity::of(value, "values.yaml"),
            &Policy::default(),
        )
    }

    fn daemon_set(spec: Value) -> Value {
        let mut object = json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "shipper", "namespace": "logging"}
        });
        object["spec"] = spec;
        object
    }

    fn with_limits(limits: Value) -> Value {
        let mut spec = json!({"template": {"spec": {"containers": [
            {"name": "shipper", "image": "shipper:1", "resources": {}}
        ]}}});
        spec["template"]["spec"]["containers"][0]["resources"]["limits"] = limits;
        daemon_set(spec)
    }

    fn refused_at(value: &Value) -> String {
        checked(value).expect_err("refused").pointer
    }

    #[test]
    fn well_formed_objects_and_plain_configs_pass() {
        assert_eq!(
            checked(&with_limits(json!({"memory": "256Mi", "cpu": 1}))),
            Ok(())
        );
        // `null` is unset, as the API server reads it.
        assert_eq!(checked(&with_limits(json!({"memory": null}))), Ok(()));
        assert_eq!(checked(&daemon_set(json!({"template": null}))), Ok(()));
        assert_eq!(checked(&with_limits(json!({"$patch": "delete"}))), Ok(()));
        let labelled =
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"tier": null}}});
        assert_eq!(checked(&labelled), Ok(()));
        // A chart's values may have a `kind` of their own.
        assert_eq!(checked(&json!({"kind": 5, "resources": "none"})), Ok(()));
    }

    #[test]
    fn limits_that_are_not_quantities_are_refused() {
        let limit = "/spec/template/spec/containers/0/resources/limits/memory";
        for bad in [
            json!("abc"),
            json!(""),
            json!("256MiB"),
            json!("-1Gi"),
            json!([1]),
        ] {
            assert_eq!(refused_at(&with_limits(json!({"memory": bad}))), limit);
        }
        let too_big = with_limits(json!({"memory": "99999999999999999999999999999999999999999"}));
        assert!(
            checked(&too_big)
                .unwrap_err()
                .message
                .contains("out of range")
        );
        assert_eq!(
            refused_at(&with_limits(json!("256Mi"))),
            "/spec/template/spec/containers/0/resources/limits"
        );
    }

    #[test]
    fn containers_of_the_wrong_shape_are_refused() {
        let spec = |spec: Value| daemon_set(json!({"template": {"spec": spec}}));
        assert_eq!(
            refused_at(&spec(json!({"containers": "shipper"}))),
            "/spec/template/spec/containers"
        );
        assert_eq!(
            refused_at(&spec(json!({"initContainers": [1]}))),
            "/spec/template/spec/initContainers/0"
        );
        assert_eq!(
            refused_at(&spec(json!({"containers": [{"name": 5}]}))),
            "/spec/template/spec/containers/0/name"
        );
        assert_eq!(
            refused_at(&daemon_set(json!({"template": {"spec": 5}}))),
            "/spec/template/spec"
        );
    }

    #[test]
    fn identities_of_the_wrong_type_are_refused() {
        assert_eq!(refused_at(&json!({"apiVersion": "v1", "kind": 5})), "/kind");
        assert_eq!(
            refused_at(&json!({"apiVersion": "v1", "kind": ""})),
            "/kind"
        );
        let object =
            |metadata: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata});
        assert_eq!(refused_at(&object(json!(5))), "/metadata");
        assert_eq!(refused_at(&object(json!({"name": 5}))), "/metadata/name");
        let exempt = |text: Value| object(json!({"annotations": {"changelint.dev/exempt": text}}));
        assert_eq!(
            refused_at(&exempt(json!(true))),
            "/metadata/annotations/changelint.dev~1exempt"
        );
        let error = checked(&exempt(json!("limits-removed; expires=never"))).unwrap_err();
        assert!(error.message.contains("`never`"), "{error}");
        assert_eq!(checked(&exempt(json!("limits-removed; reason=x"))), Ok(()));
    }

    #[test]
    fn rollout_fields_of_the_wrong_form_are_refused() {
        let rolling = |step: Value| {
            daemon_set(json!({"updateStrategy": {"rollingUpdate": {"maxUnavailable": step}}}))
        };
        assert_eq!(checked(&rolling(json!("10%"))), Ok(()));
        assert_eq!(checked(&rolling(json!(null))), Ok(()));
        for bad in [
            json!("1000%"),
            json!("abc"),
            json!("-50%"),
            json!([1]),
            json!(-1),
        ] {
            assert_eq!(
                refused_at(&rolling(bad)),
                "/spec/updateStrategy/rollingUpdate/maxUnavailable"
            );
        }
        let deployment = |spec: Value| {
            let mut object = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
            object["spec"] = spec;
            object
        };
        assert_eq!(
            refused_at(&deployment(json!({"replicas": "3"}))),
            "/spec/replicas"
        );
        // A Deployment may surge past its replicas; nothing may take down more than all.
        let surge =
            |step: &str| deployment(json!({"strategy": {"rollingUpdate": {"maxSurge": step}}}));
        assert_eq!(checked(&surge("200%")), Ok(()));
        assert_eq!(
            refused_at(&surge("-5%")),
            "/spec/strategy/rollingUpdate/maxSurge"
        );
        let daemon_surge =
            daemon_set(json!({"updateStrategy": {"rollingUpdate": {"maxSurge": "200%"}}}));
        assert_eq!(
            refused_at(&daemon_surge),
            "/spec/updateStrategy/rollingUpdate/maxSurge"
        );
    }
}
