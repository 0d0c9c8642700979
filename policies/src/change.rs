//! The change model: objects paired before/after, containers paired by name, and the resource
//! deltas every resource rule and the impact report read.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use rayon::prelude::*;

use crate::config::Policy;
use crate::object::{Identity, Object, same_value};
use crate::podspec::{ContainerList, pod_spec_pointer};
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
    let matches = first_matches(&before, &after);
    let mut after: Vec<Option<Owner>> = after.into_iter().map(Some).collect();
    let mut pairs = Vec::new();
    let mut unmatched_before = Vec::new();
    for (owner, matched) in before.into_iter().zip(matches) {
        match matched {
            Some(index) => pairs.push(OwnerPair {
                before: Some(owner),
                after: after[index].take(),
            }),
            None => unmatched_before.push(owner),
        }
    }
    let mut still_unmatched = Vec::new();
    for owner in unmatched_before {
        // Only containers are paired by what they hold; a config block is its path.
        let renamed = owner.list.and_then(|_| {
            after.iter_mut().find(|a| {
                a.as_ref()
                    .is_some_and(|a| a.list == owner.list && a.same_resources(&owner))
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

/// Each before owner's match by (list, name): the first after owner of that key not taken yet.
/// Found in `after`'s indices sorted by key, not by a scan per owner (a Helm values file can
/// hold thousands of resource blocks) nor through a hash map, whose set-up cost more than the
/// pairing of an admission review's few containers.
fn first_matches(before: &[Owner], after: &[Owner]) -> Vec<Option<usize>> {
    if before.is_empty() || after.is_empty() {
        return vec![None; before.len()];
    }
    let mut by_key: Vec<usize> = (0..after.len()).collect();
    // Stable: owners of one key keep their order, so the first one left is taken first.
    by_key.sort_by_key(|&index| pairing_key(&after[index]));
    // How many of the run of one key, counted at the run's start, are taken.
    let mut taken = vec![0; by_key.len()];
    before
        .iter()
        .map(|owner| {
            let wanted = pairing_key(owner);
            let start = by_key.partition_point(|&index| pairing_key(&after[index]) < wanted);
            let next = start + taken.get(start).copied().unwrap_or(0);
            let index = *by_key
                .get(next)
                .filter(|&&index| pairing_key(&after[index]) == wanted)?;
            taken[start] += 1;
            Some(index)
        })
        .collect()
}

/// What containers (and config blocks) are first paired by.
fn pairing_key(owner: &Owner) -> (Option<ContainerList>, &str) {
    (owner.list, owner.name.as_str())
}

/// Change sets with fewer pairs than this are judged on the caller's thread: below it, the
/// hand-off to the thread pool costs more than the parallel work saves.
pub const PARALLEL_MIN_PAIRS: usize = 64;

/// Pairs the objects of two trees.
///
/// Objects pair within the same file by identity (API group, kind, namespace, name), so one
/// identity patched in several overlays gives one pair per file. An object left over before
/// pairs across files with the after object of its identity when that is the only one left
/// over (a moved file).
pub fn pair_objects(before: Vec<Object>, after: Vec<Object>, policy: &Policy) -> Vec<Pair> {
    let sides = pair_indices(&before, &after);
    let mut before: Vec<Option<Object>> = before.into_iter().map(Some).collect();
    let mut after: Vec<Option<Object>> = after.into_iter().map(Some).collect();
    let pairs: Vec<(Option<Object>, Option<Object>)> = sides
        .into_iter()
        .map(|(b, a)| {
            (
                b.and_then(|i| before[i].take()),
                a.and_then(|i| after[i].take()),
            )
        })
        .collect();
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

/// The pairs of [`pair_objects`] as indices into `before` and `after`, in report order: pairs
/// within a file in before's order, then each before object left over (paired with a moved
/// after object, or alone), then after objects left alone (grouped by file and identity, in
/// the order each group first appears).
///
/// Keys borrow from the objects and every lookup is hashed: a tree is paired in linear time,
/// a renamed directory of thousands of objects included.
fn pair_indices(before: &[Object], after: &[Object]) -> Vec<(Option<usize>, Option<usize>)> {
    fn file_key(o: &Object) -> (&str, (&str, &str, Option<&str>, &str)) {
        let path = o.origin.as_ref().map_or("", |o| &*o.pairing_path);
        (path, o.identity.pairing_key())
    }
    // An admission request: the old and the new version of one object, without the maps.
    if let ([old], [new]) = (before, after)
        && file_key(old) == file_key(new)
    {
        return vec![(Some(0), Some(0))];
    }
    // Per key, the after objects not yet paired, in order.
    let mut after_by_key: HashMap<_, VecDeque<usize>> = HashMap::new();
    let mut order = Vec::new();
    for (index, object) in after.iter().enumerate() {
        let key = file_key(object);
        after_by_key
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                VecDeque::new()
            })
            .push_back(index);
    }
    let mut pairs = Vec::new();
    let mut lone_before = Vec::new();
    for (index, object) in before.iter().enumerate() {
        match after_by_key
            .get_mut(&file_key(object))
            .and_then(VecDeque::pop_front)
        {
            Some(partner) => pairs.push((Some(index), Some(partner))),
            None => lone_before.push(index),
        }
    }
    let lone_after: Vec<usize> = order
        .iter()
        .filter_map(|key| after_by_key.remove(key))
        .flatten()
        .collect();
    // Moved files: pair by identity alone when it is unique among the after objects left.
    let mut left_by_identity: HashMap<_, Vec<usize>> = HashMap::new();
    if !lone_before.is_empty() {
        for (position, &index) in lone_after.iter().enumerate() {
            left_by_identity
                .entry(after[index].identity.pairing_key())
                .or_default()
                .push(position);
        }
    }
    let mut taken = vec![false; lone_after.len()];
    for index in lone_before {
        let identity = &before[index].identity;
        let unique = left_by_identity
            .get_mut(&identity.pairing_key())
            .filter(|positions| !identity.is_config() && positions.len() == 1)
            .and_then(Vec::pop);
        match unique {
            Some(position) => {
                taken[position] = true;
                pairs.push((Some(index), Some(lone_after[position])));
            }
            None => pairs.push((Some(index), None)),
        }
    }
    pairs.extend(
        lone_after
            .iter()
            .zip(taken)
            .filter(|(_, taken)| !taken)
            .map(|(&index, _)| (None, Some(index))),
    );
    pairs
}

/// The directory of the file an object was read from (`""` at the root of the tree).
fn directory(object: &Object) -> Option<&str> {
    let file = &object.origin.as_ref()?.file;
    Some(file.rsplit_once(['/', '\\']).map_or("", |(dir, _)| dir))
}

/// Per directory, the pair of its one workload (an object with a pod spec), or `None` when it
/// holds several; empty when no pair is a config, the only kind that asks. Built once: looking
/// for each config's workload among all pairs made a tree of many configs quadratic.
fn workloads_by_directory(pairs: &[Pair], policy: &Policy) -> HashMap<String, Option<usize>> {
    let mut by_directory: HashMap<String, Option<usize>> = HashMap::new();
    if !pairs.iter().any(|pair| pair.current().identity.is_config()) {
        return by_directory;
    }
    for (index, pair) in pairs.iter().enumerate() {
        let object = pair.current();
        if object.identity.is_config() || pod_spec_pointer(&object.identity, policy).is_none() {
            continue;
        }
        if let Some(directory) = directory(object) {
            by_directory
                .entry(directory.to_owned())
                .and_modify(|one| *one = None)
                .or_insert(Some(index));
        }
    }
    by_directory
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

/// Collects container defaults of every LimitRange among `objects`, by namespace, in order.
pub fn limit_range_defaults<'a>(
    objects: impl Iterator<Item = &'a Object>,
) -> HashMap<String, Vec<LimitRangeDefault>> {
    let mut out: HashMap<String, Vec<LimitRangeDefault>> = HashMap::new();
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
                        let namespace = object.namespace().to_owned();
                        out.entry(namespace.clone())
                            .or_default()
                            .push(LimitRangeDefault {
                                namespace,
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
    /// Objects before and after, in report order; built by [`ChangeSet::new`], whose indexes
    /// point into it.
    pub pairs: Vec<Pair>,
    /// Container defaults from LimitRanges in the after tree, by namespace, in tree order.
    pub limit_ranges: HashMap<String, Vec<LimitRangeDefault>>,
    /// The fleet, when the caller knows it (`--inventory`).
    pub inventory: Option<Inventory>,
    /// The change record (`--record`, or a pull request's body), when there is one.
    pub record: Option<ChangeRecord>,
    /// When the change holds a config: per directory, the pair of the one workload in it, or
    /// `None` when it holds several (see [`ChangeSet::deploying_workload`]).
    workloads_by_directory: HashMap<String, Option<usize>>,
}

impl ChangeSet {
    /// Builds a change set from the objects of both sides.
    pub fn new(before: Vec<Object>, after: Vec<Object>, policy: &Policy) -> Self {
        let limit_ranges = limit_range_defaults(after.iter());
        let pairs = pair_objects(before, after, policy);
        let workloads_by_directory = workloads_by_directory(&pairs, policy);
        Self {
            pairs,
            limit_ranges,
            inventory: None,
            record: None,
            workloads_by_directory,
        }
    }

    /// The one workload in the same directory as a config file, if there is exactly one: an
    /// agent config reaches what the workload next to it reaches (`log-shipper/config.yaml`
    /// next to `log-shipper/daemonset.yaml`), and a record may name either.
    pub fn deploying_workload(&self, config: &Object) -> Option<&Object> {
        let pair = (*self.workloads_by_directory.get(directory(config)?)?)?;
        self.pairs.get(pair).map(Pair::current)
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

    /// The targets `pairs` reach, by category, each once with the first pair that reaches
    /// it, in the order first reached. Targets already met are found in a set: with a target
    /// per object, a scan of the list per pair was quadratic.
    pub fn reached_targets<'a>(
        pairs: impl Iterator<Item = &'a Pair>,
        policy: &Policy,
    ) -> BTreeMap<String, Vec<(String, &'a Pair)>> {
        let mut by_category: BTreeMap<String, Vec<(String, &'a Pair)>> = BTreeMap::new();
        let mut met: HashSet<(String, String)> = HashSet::new();
        for pair in pairs {
            for target in Self::targets(pair.current(), policy) {
                if met.insert((target.category.clone(), target.name.clone())) {
                    by_category
                        .entry(target.category)
                        .or_default()
                        .push((target.name, pair));
                }
            }
        }
        by_category
    }

    /// The nodes a DaemonSet runs on, from the inventory.
    pub fn node_count(&self, object: &Object, policy: &Policy) -> Option<u64> {
        let inventory = self.inventory.as_ref()?;
        inventory
            .cluster_of(&Self::targets(object, policy))
            .map(|(_, info)| info.nodes)
    }

    /// The LimitRange default for a namespace, class and resource, if any (the first in tree
    /// order).
    pub fn limit_range_default(
        &self,
        namespace: &str,
        class: Class,
        resource: &str,
    ) -> Option<&LimitRangeDefault> {
        self.limit_ranges
            .get(namespace)?
            .iter()
            .find(|d| d.class == class && d.resource == resource)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::input::{SourceFile, load_objects};
    use crate::yaml::Limits;

    /// A file of ConfigMaps (`name` or `namespace/name`), one per document.
    fn file(path: &str, names: &[&str]) -> Vec<Object> {
        let mut text = String::new();
        for name in names {
            let (namespace, name) = name.split_once('/').unwrap_or(("default", name));
            writeln!(
                text,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  \
                 namespace: {namespace}"
            )
            .unwrap();
        }
        read(path, &text)
    }

    /// The objects of a file at `path`.
    fn read(path: &str, text: &str) -> Vec<Object> {
        let policy = Policy::default();
        load_objects(&SourceFile::new(path, text), &Limits::default(), &policy).unwrap()
    }

    /// Each pair as `before-file:name -> after-file:name`, `-` for a missing side.
    fn paired(before: Vec<Vec<Object>>, after: Vec<Vec<Object>>) -> Vec<String> {
        let side = |object: &Option<Object>| {
            object.as_ref().map_or("-".to_owned(), |o| {
                format!("{}:{}", o.origin.as_ref().unwrap().file, o.identity.name)
            })
        };
        let before = before.into_iter().flatten().collect();
        let after = after.into_iter().flatten().collect();
        pair_objects(before, after, &Policy::default())
            .iter()
            .map(|pair| format!("{} -> {}", side(&pair.before), side(&pair.after)))
            .collect()
    }

    #[test]
    fn objects_pair_within_their_file_then_across_files_when_unique() {
        let pairs = paired(
            vec![
                file("a.yaml", &["web", "db", "gone"]),
                file("old.yaml", &["moved", "twice"]),
            ],
            vec![
                file("a.yaml", &["db", "new", "web"]),
                file("new.yaml", &["moved", "twice"]),
                file("other.yaml", &["twice"]),
            ],
        );
        assert_eq!(
            pairs,
            [
                "a.yaml:web -> a.yaml:web",
                "a.yaml:db -> a.yaml:db",
                "a.yaml:gone -> -",
                "old.yaml:moved -> new.yaml:moved",
                // Two candidates after: which one it became is not known.
                "old.yaml:twice -> -",
                "- -> a.yaml:new",
                "- -> new.yaml:twice",
                "- -> other.yaml:twice",
            ]
        );
    }

    /// Each resource delta of one object's two sides as `owner class resource before -> after`.
    fn deltas(before: &str, after: &str) -> Vec<String> {
        let side = |text: &str| read("a.yaml", text).pop();
        let pair = Pair::new(side(before), side(after), &Policy::default());
        let raw = |slot: Option<&Slot>| slot.map_or("-", |s| s.raw.as_str()).to_owned();
        pair.resource_deltas()
            .iter()
            .map(|d| {
                let (owner, before, after) = (d.owner.label(), raw(d.before), raw(d.after));
                format!("{owner} {} {} {before} -> {after}", d.class, d.resource)
            })
            .collect()
    }

    fn pod_with(containers: &[(&str, &str)]) -> String {
        let mut text = String::from(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n\
             spec:\n  template:\n    spec:\n      containers:\n",
        );
        for (name, memory) in containers {
            writeln!(
                text,
                "      - {{name: {name}, resources: {{limits: {{memory: {memory}}}}}}}"
            )
            .unwrap();
        }
        text
    }

    #[test]
    fn each_owner_takes_the_first_match_left_in_its_list() {
        let owner = |list, name: &str| Owner {
            name: name.to_owned(),
            list,
            pointer: String::new(),
            slots: Vec::new(),
        };
        let main = Some(ContainerList::Main);
        let init = Some(ContainerList::Init);
        let after = [
            owner(main, "app"),
            owner(main, "log"),
            owner(init, "app"),
            owner(main, "app"),
            owner(main, "web"),
        ];
        let before = [
            owner(main, "app"),
            owner(main, "web"),
            owner(main, "app"),
            owner(main, "log"),
            owner(main, "app"),
            owner(init, "app"),
            owner(None, "app"),
        ];
        assert_eq!(
            first_matches(&before, &after),
            [Some(0), Some(4), Some(3), Some(1), None, Some(2), None]
        );
        assert_eq!(first_matches(&before, &[]), [None; 7]);
        assert!(first_matches(&[], &after).is_empty());
    }

    #[test]
    fn containers_of_one_name_pair_in_their_order() {
        // Two containers named alike pair first with first: the second `app` keeps 2Gi.
        let before = pod_with(&[("app", "1Gi"), ("app", "2Gi"), ("sidecar", "64Mi")]);
        let after = pod_with(&[("sidecar", "64Mi"), ("app", "1Gi"), ("app", "4Gi")]);
        assert_eq!(deltas(&before, &after), ["app limit memory 2Gi -> 4Gi"]);
    }

    #[test]
    fn config_blocks_pair_by_path_only() {
        // A block that moved is a removal and an addition, even with the same resources;
        // containers, by contrast, pair by resources when renamed.
        let before = "svc-a:\n  resources: {limits: {memory: 1Gi}}\n\
                      svc-b:\n  resources: {limits: {memory: 2Gi}}\n";
        let after = "svc-b:\n  resources: {limits: {memory: 3Gi}}\n\
                     svc-c:\n  resources: {limits: {memory: 1Gi}}\n";
        assert_eq!(
            deltas(before, after),
            [
                "svc-b.resources limit memory 2Gi -> 3Gi",
                "svc-a.resources limit memory 1Gi -> -",
                "svc-c.resources limit memory - -> 1Gi",
            ]
        );
        let renamed = deltas(
            &pod_with(&[("app", "1Gi")]),
            &pod_with(&[("server", "1Gi")]),
        );
        assert!(renamed.is_empty(), "{renamed:?}");
    }

    #[test]
    fn one_object_on_each_side_pairs_when_it_is_the_same_object() {
        let pair = |before: &[&str], after: &[&str]| {
            paired(vec![file("a.yaml", before)], vec![file("a.yaml", after)])
        };
        assert_eq!(pair(&["x"], &["x"]), ["a.yaml:x -> a.yaml:x"]);
        assert_eq!(pair(&["x"], &["y"]), ["a.yaml:x -> -", "- -> a.yaml:y"]);
        assert_eq!(
            pair(&["prod/x"], &["staging/x"]),
            ["a.yaml:x -> -", "- -> a.yaml:x"]
        );
        let moved = paired(vec![file("a.yaml", &["x"])], vec![file("b.yaml", &["x"])]);
        assert_eq!(moved, ["a.yaml:x -> b.yaml:x"]);
    }

    #[test]
    fn one_identity_twice_in_a_file_pairs_in_order_and_namespaces_differ() {
        let pairs = paired(
            vec![file("a.yaml", &["x", "x", "prod/y"])],
            vec![file("a.yaml", &["x", "staging/y", "x", "x"])],
        );
        assert_eq!(
            pairs,
            [
                "a.yaml:x -> a.yaml:x",
                "a.yaml:x -> a.yaml:x",
                "a.yaml:y -> -",
                "- -> a.yaml:x",
                "- -> a.yaml:y",
            ]
        );
    }

    /// A config is deployed by the one workload in its directory; with several there, or none,
    /// by nothing.
    #[test]
    fn a_config_is_deployed_by_the_one_workload_beside_it() {
        let daemonset = |name: &str| {
            format!(
                "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}}}\n\
                 spec: {{template: {{spec: {{containers: [{{name: a, image: a}}]}}}}}}\n"
            )
        };
        let config = "agent:\n  resources: {memory_limit: 256Mi}\n";
        let files = [
            read("one/config.yaml", config),
            read("one/agent.yaml", &daemonset("agent")),
            read(
                "one/map.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n",
            ),
            read("two/config.yaml", config),
            read("two/first.yaml", &daemonset("first")),
            read("two/second.yaml", &daemonset("second")),
            read("none/config.yaml", config),
        ];
        let change = ChangeSet::new(Vec::new(), files.concat(), &Policy::default());
        let deployer = |dir: &str| {
            let config = change
                .pairs
                .iter()
                .map(Pair::current)
                .find(|o| o.identity.is_config() && o.identity.name.starts_with(dir))
                .unwrap();
            change
                .deploying_workload(config)
                .map(|w| w.identity.name.clone())
        };
        assert_eq!(deployer("one/"), Some("agent".to_owned()));
        assert_eq!(deployer("two/"), None);
        assert_eq!(deployer("none/"), None);
    }

    /// Defaults apply in their own namespace only, the first LimitRange of the tree first.
    #[test]
    fn limit_range_defaults_are_found_by_namespace_first_in_tree_order() {
        let limit_range = |namespace: &str, memory: &str| {
            format!(
                "apiVersion: v1\nkind: LimitRange\nmetadata: {{name: d, namespace: {namespace}}}\n\
                 spec: {{limits: [{{type: Container, default: {{memory: {memory}}}}}]}}\n"
            )
        };
        let after = [
            read("a/limits.yaml", &limit_range("a", "1Gi")),
            read("b/limits.yaml", &limit_range("b", "2Gi")),
            read("b/more.yaml", &limit_range("b", "3Gi")),
        ]
        .concat();
        let change = ChangeSet::new(Vec::new(), after, &Policy::default());
        let memory = |namespace: &str| {
            change
                .limit_range_default(namespace, Class::Limit, "memory")
                .map(|d| d.value.to_string())
        };
        assert_eq!(memory("a"), Some("1Gi".to_owned()));
        assert_eq!(memory("b"), Some("2Gi".to_owned()));
        assert_eq!(memory("c"), None);
        assert!(
            change
                .limit_range_default("a", Class::Request, "memory")
                .is_none()
        );
    }
}

/// Inputs for the engine's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::Object;
    use crate::config::Policy;
    use crate::input::{SourceFile, load_objects};
    use crate::yaml::Limits;

    /// One ConfigMap per entry of `dirs`, read from `DIR/mINDEX.yaml`: objects whose
    /// deployment targets come from their paths.
    pub fn config_map_per_directory(dirs: &[&str]) -> Vec<Object> {
        let policy = Policy::default();
        dirs.iter()
            .enumerate()
            .flat_map(|(index, dir)| {
                let text =
                    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: m{index}}}\n");
                let file = SourceFile::new(format!("{dir}/m{index}.yaml"), text);
                load_objects(&file, &Limits::default(), &policy).unwrap()
            })
            .collect()
    }
}
