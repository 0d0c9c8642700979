//! The change model: objects paired before/after, containers paired by name, and the resource
//! deltas every resource rule and the impact report read.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::config::Policy;
use crate::object::{Identity, Object, same_value};
use crate::podspec::ContainerList;
use crate::quantity::Quantity;
use crate::record::ChangeRecord;
use crate::resources::{Class, Owner, Slot, owners};
use crate::scope::{Inventory, Target, targets};

/// An object before and after the change; one side is `None` for an added or removed object.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The object before the change.
    pub before: Option<Object>,
    /// The object after the change.
    pub after: Option<Object>,
    /// Containers (or config blocks) paired across the change.
    pub owners: Vec<OwnerPair>,
    /// Whether the two sides differ, compared once in [`Pair::new`]: every rule asks, and
    /// comparing two objects key by key costs as much as a rule.
    changed: bool,
}

/// A container (or config block) before and after.
#[derive(Debug, Clone)]
pub struct OwnerPair {
    /// Before the change.
    pub before: Option<Owner>,
    /// After the change.
    pub after: Option<Owner>,
}

impl OwnerPair {
    /// The name shown to reviewers (the after name for a renamed container).
    pub fn label(&self) -> String {
        self.after
            .as_ref()
            .or(self.before.as_ref())
            .map(Owner::label)
            .unwrap_or_default()
    }
}

/// How one limit or request changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeltaKind {
    /// It existed and is gone.
    Removed,
    /// It is new.
    Added,
    /// It grew.
    Raised,
    /// It shrank.
    Lowered,
}

/// One limit or request that differs between before and after.
#[derive(Debug, Clone)]
pub struct ResourceDelta<'a> {
    /// The container or block.
    pub owner: &'a OwnerPair,
    /// Limit or request.
    pub class: Class,
    /// `cpu`, `memory`, ...
    pub resource: &'a str,
    /// The slot before, if any.
    pub before: Option<&'a Slot>,
    /// The slot after, if any.
    pub after: Option<&'a Slot>,
    /// What happened to it.
    pub kind: DeltaKind,
}

impl Pair {
    /// Pairs two sides of one object and its containers.
    pub fn new(before: Option<Object>, after: Option<Object>, policy: &Policy) -> Self {
        let before_owners = before
            .as_ref()
            .map(|o| owners(o, policy))
            .unwrap_or_default();
        let after_owners = after
            .as_ref()
            .map(|o| owners(o, policy))
            .unwrap_or_default();
        let owners = pair_owners(before_owners, after_owners);
        let changed = match (&before, &after) {
            (Some(b), Some(a)) => !same_value(&b.value, &a.value),
            _ => true,
        };
        Self {
            before,
            after,
            owners,
            changed,
        }
    }

    /// The side that identifies the pair: after if present, else before.
    pub fn current(&self) -> &Object {
        self.after
            .as_ref()
            .or(self.before.as_ref())
            .expect("a pair has at least one side")
    }

    /// The pair's identity.
    pub fn identity(&self) -> &Identity {
        &self.current().identity
    }

    /// Whether the object changed at all.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Every limit and request that differs, in container order.
    pub fn resource_deltas<'a>(&'a self) -> Vec<ResourceDelta<'a>> {
        let mut out = Vec::new();
        for owner in &self.owners {
            let (before, after) = (owner.before.as_ref(), owner.after.as_ref());
            // A removed container takes its consumption with it, and a new one is judged by
            // limits-missing; but a config block that disappears takes its limits with it.
            let is_container = before.or(after).is_some_and(|o| o.list.is_some());
            if is_container && (before.is_none() || after.is_none()) {
                continue;
            }
            let find = |side: Option<&'a Owner>, class, resource: &str| {
                side.and_then(|o| o.slot(class, resource))
            };
            let before_slots = before.map(|o| o.slots.as_slice()).unwrap_or_default();
            let after_slots = after.map(|o| o.slots.as_slice()).unwrap_or_default();
            for slot in before_slots {
                match find(after, slot.class, &slot.resource) {
                    None => out.push(delta(
                        owner,
                        slot.class,
                        &slot.resource,
                        Some(slot),
                        None,
                        DeltaKind::Removed,
                    )),
                    Some(new) if !slot.same_value(new) => {
                        let kind = match (&slot.quantity, &new.quantity) {
                            (Some(a), Some(b)) if b < a => DeltaKind::Lowered,
                            _ => DeltaKind::Raised,
                        };
                        out.push(delta(
                            owner,
                            slot.class,
                            &slot.resource,
                            Some(slot),
                            Some(new),
                            kind,
                        ));
                    }
                    Some(_) => {}
                }
            }
            for slot in after_slots {
                if find(before, slot.class, &slot.resource).is_none() {
                    out.push(delta(
                        owner,
                        slot.class,
                        &slot.resource,
                        None,
                        Some(slot),
                        DeltaKind::Added,
                    ));
                }
            }
        }
        out
    }
}

fn delta<'a>(
    owner: &'a OwnerPair,
    class: Class,
    resource: &'a str,
    before: Option<&'a Slot>,
    after: Option<&'a Slot>,
    kind: DeltaKind,
) -> ResourceDelta<'a> {
    ResourceDelta {
        owner,
        class,
        resource,
        before,
        after,
        kind,
    }
}

/// Pairs containers by (list, name); leftovers of the same list pair when their resources are
/// equal (a rename), then in order when the counts match (a rename that also changed resources).
fn pair_owners(before: Vec<Owner>, after: Vec<Owner>) -> Vec<OwnerPair> {
    let key = |o: &Owner| (o.list, o.name.clone());
    let mut after: Vec<Option<Owner>> = after.into_iter().map(Some).collect();
    let mut pairs = Vec::new();
    let mut unmatched_before = Vec::new();
    for owner in before {
        match after
            .iter_mut()
            .find(|a| a.as_ref().is_some_and(|a| key(a) == key(&owner)))
        {
            Some(slot) => pairs.push(OwnerPair {
                before: Some(owner),
                after: slot.take(),
            }),
            None => unmatched_before.push(owner),
        }
    }
    let mut still_unmatched = Vec::new();
    for owner in unmatched_before {
        let renamed = after.iter_mut().find(|a| {
            a.as_ref().is_some_and(|a| {
                a.list == owner.list && a.list.is_some() && a.same_resources(&owner)
            })
        });
        match renamed {
            Some(slot) => pairs.push(OwnerPair {
                before: Some(owner),
                after: slot.take(),
            }),
            None => still_unmatched.push(owner),
        }
    }
    let same_list_count =
        |list: Option<ContainerList>, before: &[Owner], after: &[Option<Owner>]| {
            before.iter().filter(|o| o.list == list).count()
                == after.iter().flatten().filter(|o| o.list == list).count()
        };
    for owner in still_unmatched.clone() {
        let list = owner.list;
        if list.is_some() && same_list_count(list, &still_unmatched, &after) {
            if let Some(slot) = after
                .iter_mut()
                .find(|a| a.as_ref().is_some_and(|a| a.list == list))
            {
                pairs.push(OwnerPair {
                    before: Some(owner),
                    after: slot.take(),
                });
                continue;
            }
        }
        pairs.push(OwnerPair {
            before: Some(owner),
            after: None,
        });
    }
    pairs.extend(after.into_iter().flatten().map(|a| OwnerPair {
        before: None,
        after: Some(a),
    }));
    pairs
}

/// Change sets with fewer pairs than this are judged on the caller's thread: below it, the
/// hand-off to the thread pool costs more than the parallel work saves.
pub const PARALLEL_MIN_PAIRS: usize = 64;

/// Pairs the objects of two trees.
///
/// Objects pair within the same file by identity (API group, kind, namespace, name), so one
/// identity patched in several overlays gives one pair per file. Objects left over pair across
/// files when their identity is unique on both sides (a moved file).
pub fn pair_objects(before: Vec<Object>, after: Vec<Object>, policy: &Policy) -> Vec<Pair> {
    type Key = (String, (String, String, Option<String>, String));
    let file_key = |o: &Object| -> Key {
        let path = o
            .origin
            .as_ref()
            .map(|o| o.pairing_path.to_string())
            .unwrap_or_default();
        (path, o.identity.pairing_key())
    };
    let mut after_by_key: HashMap<Key, Vec<Object>> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    for object in after {
        let key = file_key(&object);
        if !after_by_key.contains_key(&key) {
            order.push(key.clone());
        }
        after_by_key.entry(key).or_default().push(object);
    }
    let mut pairs = Vec::new();
    let mut lone_before = Vec::new();
    for object in before {
        let key = file_key(&object);
        match after_by_key.get_mut(&key).filter(|v| !v.is_empty()) {
            Some(candidates) => {
                let after = candidates.remove(0);
                pairs.push((Some(object), Some(after)));
            }
            None => lone_before.push(object),
        }
    }
    let mut lone_after: Vec<Object> = order
        .iter()
        .filter_map(|k| after_by_key.remove(k))
        .flatten()
        .collect();
    // Moved files: pair by identity alone when it is unique on both sides.
    let count = |objects: &[Object], id: &Identity| {
        objects
            .iter()
            .filter(|o| o.identity.pairing_key() == id.pairing_key())
            .count()
    };
    for object in lone_before {
        let id = object.identity.clone();
        let movable = !id.is_config() && count(&lone_after, &id) == 1;
        match lone_after
            .iter()
            .position(|a| movable && a.identity.pairing_key() == id.pairing_key())
        {
            Some(index) => pairs.push((Some(object), Some(lone_after.remove(index)))),
            None => pairs.push((Some(object), None)),
        }
    }
    pairs.extend(lone_after.into_iter().map(|a| (None, Some(a))));
    // Reading the containers of each pair is independent work: in parallel for a large tree
    // (order is kept), on the caller's thread for an admission request.
    if pairs.len() >= PARALLEL_MIN_PAIRS {
        pairs
            .into_par_iter()
            .map(|(b, a)| Pair::new(b, a, policy))
            .collect()
    } else {
        pairs
            .into_iter()
            .map(|(b, a)| Pair::new(b, a, policy))
            .collect()
    }
}

/// Default limits and requests a LimitRange gives containers of its namespace.
#[derive(Debug, Clone)]
pub struct LimitRangeDefault {
    /// The namespace it applies to.
    pub namespace: String,
    /// The LimitRange's name, for messages.
    pub name: String,
    /// Limit or request.
    pub class: Class,
    /// `cpu`, `memory`, ...
    pub resource: String,
    /// The default value.
    pub value: Quantity,
}

/// Collects container defaults of every LimitRange among `objects`.
pub fn limit_range_defaults<'a>(
    objects: impl Iterator<Item = &'a Object>,
) -> Vec<LimitRangeDefault> {
    let mut out = Vec::new();
    for object in
        objects.filter(|o| o.identity.kind == "LimitRange" && o.identity.group().is_empty())
    {
        for limit in object.value["spec"]["limits"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if limit["type"].as_str().is_some_and(|t| t != "Container") {
                continue;
            }
            for (class, field) in [
                (Class::Limit, "default"),
                (Class::Request, "defaultRequest"),
            ] {
                for (resource, value) in limit[field].as_object().into_iter().flatten() {
                    if let Ok(value) = Quantity::from_json(value) {
                        out.push(LimitRangeDefault {
                            namespace: object.namespace().to_owned(),
                            name: object.identity.name.clone(),
                            class,
                            resource: resource.clone(),
                            value,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Everything the rules judge: the paired objects and what the trees say about defaults.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// Objects before and after.
    pub pairs: Vec<Pair>,
    /// Container defaults from LimitRanges in the after tree.
    pub limit_ranges: Vec<LimitRangeDefault>,
    /// The fleet, when the caller knows it (`--inventory`).
    pub inventory: Option<Inventory>,
    /// The change record (`--record`, or a pull request's body), when there is one.
    pub record: Option<ChangeRecord>,
}

impl ChangeSet {
    /// Builds a change set from the objects of both sides.
    pub fn new(before: Vec<Object>, after: Vec<Object>, policy: &Policy) -> Self {
        let limit_ranges = limit_range_defaults(after.iter());
        Self {
            pairs: pair_objects(before, after, policy),
            limit_ranges,
            inventory: None,
            record: None,
        }
    }

    /// Changed pairs whose limits or requests differ: what the record must speak of.
    pub fn resource_changes<'a>(&'a self, policy: &'a Policy) -> impl Iterator<Item = &'a Pair> {
        self.pairs.iter().filter(move |p| {
            p.changed() && !policy.skips(p.current().namespace()) && !p.resource_deltas().is_empty()
        })
    }

    /// Whether the record's rollout section declares stages or a canary.
    pub fn declares_staged_rollout(&self, policy: &Policy) -> bool {
        let Some(section) = self
            .record
            .as_ref()
            .and_then(|r| r.find(&policy.record.rollout))
        else {
            return false;
        };
        let text = section.text.to_lowercase();
        !section.is_placeholder()
            && [
                "canary",
                "stage",
                "phase",
                "wave",
                "%",
                "soak",
                "one cluster",
                "first cluster",
            ]
            .iter()
            .any(|word| text.contains(word))
    }

    /// Where an object is deployed, by the policy's path patterns and labels.
    pub fn targets(object: &Object, policy: &Policy) -> Vec<Target> {
        targets(object, &policy.scope.path_patterns, &policy.scope.labels)
    }

    /// The nodes a DaemonSet runs on, from the inventory.
    pub fn node_count(&self, object: &Object, policy: &Policy) -> Option<u64> {
        let inventory = self.inventory.as_ref()?;
        inventory
            .cluster_of(&Self::targets(object, policy))
            .map(|(_, info)| info.nodes)
    }

    /// The LimitRange default for a namespace, class and resource, if any.
    pub fn limit_range_default(
        &self,
        namespace: &str,
        class: Class,
        resource: &str,
    ) -> Option<&LimitRangeDefault> {
        self.limit_ranges
            .iter()
            .find(|d| d.namespace == namespace && d.class == class && d.resource == resource)
    }
}
