//! What the reader keeps of a workload: the parts the rules read, and a digest of the rest.
//!
//! Most of a workload's bytes are in parts no rule reads: env, probes, volumes, affinity,
//! tolerations. Building them into a `serde_json::Value` was most of the cost of reading a
//! tree and most of the memory an object held. Both readers (the YAML reader of files and the
//! webhook's JSON decoder) follow the same [`Place`] machine from the object's root, and a
//! collection in an [`Place::Unread`] place is kept as one string, a [`Digest`] of its content,
//! instead of a tree. Equality of two objects is unchanged by this (two digests are equal when
//! the contents are), so "did the object or its pod template change" stays exact, while the
//! containers' `name`, `image` and `resources`, the rollout fields, metadata and anything of a
//! kind without a pod spec are built in full.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::config::Policy;
use crate::object::api_group;
use crate::podspec::{builtin_path, pod_spec_path};

/// Which objects are pruned, and how. Pruning only ever has to be consistent: two objects read
/// with the same projection compare as they would in full, so a reader may prune less (the
/// webhook ignores the policy's custom pod-spec paths, and reads custom resources whole).
#[derive(Debug, Clone, Copy)]
pub struct Projection<'p> {
    /// Where custom resources keep their pod spec; built-in kinds only when `None`.
    policy: Option<&'p Policy>,
    /// Drop `status`, `metadata.managedFields` and the last-applied annotation outright: what
    /// the API server adds to an admission request's objects and no rule reads. A file keeps
    /// them as digests instead, so their churn still counts as a change.
    drop_server_fields: bool,
}

/// The annotation `kubectl apply` writes: a second copy of the object.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl<'p> Projection<'p> {
    /// For manifests read from files.
    pub fn files(policy: &'p Policy) -> Self {
        Self {
            policy: Some(policy),
            drop_server_fields: false,
        }
    }

    /// For objects of admission requests: decoded before the policy is at hand, so built-in
    /// workload kinds only.
    pub fn admission() -> Self {
        Self {
            policy: None,
            drop_server_fields: true,
        }
    }

    /// The tokens of the pod spec's path for an object of this `apiVersion` and `kind`.
    pub fn pod_spec_path(&self, api_version: &str, kind: &str) -> Option<Vec<String>> {
        let group = api_group(api_version);
        let pointer = match self.policy {
            Some(policy) => pod_spec_path(group, kind, policy)?,
            None => builtin_path(group, kind)?,
        };
        Some(
            pointer
                .split('/')
                .skip(1)
                .map(|t| {
                    if t.contains('~') {
                        t.replace("~1", "/").replace("~0", "~")
                    } else {
                        t.to_owned()
                    }
                })
                .collect(),
        )
    }

    /// The projection of a built object, by its definition: what both streaming readers
    /// produce, and how the YAML reader falls back when an alias needs an unbuilt anchor.
    pub fn project(&self, object: &Value) -> Value {
        fn walk(value: &Value, place: Place, p: &Projection<'_>, pod: Option<&[String]>) -> Value {
            match value {
                Value::Array(_) | Value::Object(_) if place == Place::Unread => {
                    Digest::marker(Digest::of(value))
                }
                Value::Object(map) => Value::Object(
                    map.iter()
                        .filter_map(|(key, item)| {
                            let place = p.member(place, key, pod);
                            (place != Place::Dropped)
                                .then(|| (key.clone(), walk(item, place, p, pod)))
                        })
                        .collect(),
                ),
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|item| walk(item, place.item(), p, pod))
                        .collect(),
                ),
                scalar => scalar.clone(),
            }
        }
        let text = |field| object.get(field).and_then(Value::as_str);
        let pod_spec = match (text("apiVersion"), text("kind")) {
            (Some(api_version), Some(kind)) => self.pod_spec_path(api_version, kind),
            _ => None,
        };
        walk(object, Place::Root, self, pod_spec.as_deref())
    }

    /// Where the member `key` of a mapping at `parent` stands. `pod_spec` is the object's pod
    /// spec path, or `None` when it is not known (yet): then nothing below is pruned.
    pub fn member(&self, parent: Place, key: &str, pod_spec: Option<&[String]>) -> Place {
        let server_field = || {
            if self.drop_server_fields {
                Place::Dropped
            } else {
                Place::Unread
            }
        };
        let toward = |depth: usize| match pod_spec {
            Some(path) if path.get(depth).is_some_and(|t| t == key) => {
                if depth + 1 == path.len() {
                    Place::PodSpec
                } else {
                    Place::Toward(depth as u8 + 1)
                }
            }
            _ => Place::Whole,
        };
        match parent {
            Place::Root => match key {
                "status" => server_field(),
                "metadata" => Place::Metadata,
                _ => toward(0),
            },
            Place::Metadata => match key {
                "managedFields" => server_field(),
                "annotations" => Place::Annotations,
                _ => Place::Whole,
            },
            Place::Annotations if key == LAST_APPLIED && self.drop_server_fields => Place::Dropped,
            Place::Toward(depth) => toward(depth as usize),
            Place::PodSpec => match key {
                "containers" | "initContainers" => Place::Containers,
                // Pod-level `resources` and `overhead` count towards what the pod may use.
                "resources" | "overhead" => Place::Whole,
                _ => Place::Unread,
            },
            Place::Container => match key {
                "name" | "image" | "resources" => Place::Whole,
                _ => Place::Unread,
            },
            Place::Unread => Place::Unread,
            _ => Place::Whole,
        }
    }
}

/// What a reader knows of the object it is reading: the pod spec's path, once `apiVersion` and
/// `kind` are read. Both come first in every manifest tool's output, but not in every file: a
/// member read before them is built in full, and the object is projected at its end instead.
#[derive(Debug, Clone, Default)]
pub struct ObjectRoot {
    pod_spec: PodSpecPath,
    /// A member that might hold something to prune was built before the kind was known.
    built_blind: bool,
}

#[derive(Debug, Clone, Default)]
enum PodSpecPath {
    #[default]
    Unknown,
    Absent,
    At(Vec<String>),
}

impl ObjectRoot {
    /// Where the root's member `key` stands; `read` looks up the members read so far.
    pub fn member<'v>(
        &mut self,
        projection: &Projection<'_>,
        read: impl Fn(&str) -> Option<&'v Value>,
        key: &str,
    ) -> Place {
        if matches!(self.pod_spec, PodSpecPath::Unknown) {
            let text = |field| read(field).and_then(Value::as_str);
            if let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) {
                self.pod_spec = match projection.pod_spec_path(api_version, kind) {
                    Some(path) => PodSpecPath::At(path),
                    None => PodSpecPath::Absent,
                };
            } else if !matches!(key, "apiVersion" | "kind" | "metadata" | "status") {
                self.built_blind = true;
            }
        }
        projection.member(Place::Root, key, self.pod_spec_tokens())
    }

    /// The pod spec's path, if known.
    pub fn pod_spec_tokens(&self) -> Option<&[String]> {
        match &self.pod_spec {
            PodSpecPath::At(path) => Some(path),
            _ => None,
        }
    }

    /// The object as read, projected if part of it was built before its kind was known.
    pub fn finish(&self, projection: &Projection<'_>, object: Value) -> Value {
        let text = |field| object.get(field).and_then(Value::as_str);
        let has_pod_spec = || match (text("apiVersion"), text("kind")) {
            (Some(api_version), Some(kind)) => {
                projection.pod_spec_path(api_version, kind).is_some()
            }
            _ => false,
        };
        if self.built_blind && has_pod_spec() {
            projection.project(&object)
        } else {
            object
        }
    }
}

/// Where a node stands relative to what the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Built in full, and everything below it.
    Whole,
    /// The object's root mapping.
    Root,
    /// `metadata`.
    Metadata,
    /// `metadata.annotations`.
    Annotations,
    /// This many tokens of the pod spec's path matched.
    Toward(u8),
    /// The pod spec.
    PodSpec,
    /// `containers` or `initContainers`.
    Containers,
    /// One container.
    Container,
    /// Read by no rule: a collection here is kept as its [`Digest`]; a scalar as it is.
    Unread,
    /// Left out of the object.
    Dropped,
}

impl Place {
    /// Where an item of a sequence at this place stands.
    #[must_use]
    pub fn item(self) -> Place {
        match self {
            Place::Containers => Place::Container,
            Place::Unread => Place::Unread,
            _ => Place::Whole,
        }
    }
}

/// A content hash of a JSON value, the same whether it is computed from events (YAML), from a
/// serde stream (JSON) or from a built [`Value`]. Mappings hash their members in any order, as
/// `Value` equality compares them.
pub struct Digest;

/// The start of the string a digested collection is kept as.
pub const DIGEST_PREFIX: &str = "(not read by changelint; content digest ";

impl Digest {
    const NULL: u64 = 0x9e37_79b9_7f4a_7c15;
    const SEQ: u64 = 0xc2b2_ae3d_27d4_eb4f;
    const MAP: u64 = 0x1656_67b1_9e37_79f9;

    /// The value a digested collection is kept as.
    pub fn marker(digest: u64) -> Value {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(DIGEST_PREFIX.len() + 17);
        text.push_str(DIGEST_PREFIX);
        // By hand: `format!` was a visible share of a small review.
        text.extend(
            (0..16)
                .rev()
                .map(|i| char::from(HEX[(digest >> (i * 4)) as usize & 15])),
        );
        text.push(')');
        Value::String(text)
    }

    /// The digest of a string (a scalar or a key).
    pub fn str(text: &str) -> u64 {
        let mut hasher = Self::hasher();
        hasher.write_u8(b's');
        hasher.write(text.as_bytes());
        hasher.finish()
    }

    /// The digest of a scalar value (not an array or object).
    pub fn scalar(value: &Value) -> u64 {
        let mut hasher = Self::hasher();
        match value {
            Value::Null => return Self::NULL,
            Value::Bool(b) => hasher.write_u8(if *b { b't' } else { b'f' }),
            Value::Number(n) => {
                hasher.write_u8(b'n');
                if let Some(u) = n.as_u64() {
                    hasher.write_u64(u);
                } else if let Some(i) = n.as_i64() {
                    hasher.write_u8(b'-');
                    hasher.write_i64(i);
                } else {
                    hasher.write_u8(b'.');
                    hasher.write_u64(n.as_f64().unwrap_or_default().to_bits());
                }
            }
            Value::String(s) => return Self::str(s),
            Value::Array(_) | Value::Object(_) => return Self::of(value),
        }
        hasher.finish()
    }

    /// The digest of any value.
    pub fn of(value: &Value) -> u64 {
        match value {
            Value::Array(items) => {
                let mut seq = SeqDigest::default();
                for item in items {
                    seq.push(Self::of(item));
                }
                seq.finish()
            }
            Value::Object(map) => {
                let mut members = MapDigest::default();
                for (key, value) in map {
                    members.push(Self::str(key), Self::of(value));
                }
                members.finish()
            }
            scalar => Self::scalar(scalar),
        }
    }

    /// A fixed seed: digests must be the same in every process (the CLI compares two trees it
    /// reads itself, but a fixed function keeps them reproducible in tests and reports).
    fn hasher() -> impl Hasher {
        foldhash::quality::FixedState::with_seed(0x6368_616e_6765_6c69).build_hasher()
    }
}

/// Mixes two 64-bit values into one (the folded 128-bit product, as wyhash does).
fn mix(a: u64, b: u64) -> u64 {
    let product = u128::from(a ^ 0xa076_1d64_78bd_642f) * u128::from(b ^ 0xe703_7ed1_a0b4_28db);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The digest of a sequence, item by item in order.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqDigest {
    state: u64,
    len: u64,
}

impl SeqDigest {
    /// Adds the next item.
    pub fn push(&mut self, item: u64) {
        self.state = mix(self.state ^ Digest::SEQ, item);
        self.len += 1;
    }

    /// The sequence's digest.
    pub fn finish(self) -> u64 {
        mix(self.state, self.len ^ Digest::SEQ)
    }
}

/// The digest of a mapping, whatever the order of its members.
#[derive(Debug, Default, Clone, Copy)]
pub struct MapDigest {
    sum: u64,
    len: u64,
}

impl MapDigest {
    /// Adds a member.
    pub fn push(&mut self, key: u64, value: u64) {
        self.sum = self.sum.wrapping_add(mix(key, value));
        self.len += 1;
    }

    /// The mapping's digest.
    pub fn finish(self) -> u64 {
        mix(self.sum, self.len ^ Digest::MAP)
    }
}

/// The scalar methods of a [`Visitor`] that builds a [`Value`], forwarded to `$to`.
macro_rules! forward_scalars {
    ($to:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
            $to.visit_bool(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
            $to.visit_i64(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
            $to.visit_u64(v)
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
            $to.visit_f64(v)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
            $to.visit_str(v)
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
            $to.visit_string(v)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
            $to.visit_unit()
        }

        fn visit_none<E: de::Error>(self) -> Result<Value, E> {
            $to.visit_none()
        }
    };
}

/// Room the decoder gives a mapping on the path to what the rules read (the root, metadata,
/// the pod spec and its containers) before its first member. Those hold 2 to 15 members; a
/// map grown from empty allocates at its first member and again past 3, 7 and 14, rehashing
/// its keys each time. Starting at 8 made decoding and judging an 8 KB review 6% faster
/// (criterion, `webhook/benches/request.rs`).
const STEERED_MAP_CAPACITY: usize = 8;

/// Decodes a JSON object (serde) onto what the rules read, as the YAML reader does: the
/// webhook's reader of `object` and `oldObject`.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(
    projection: &Projection<'_>,
    deserializer: D,
) -> Result<Value, D::Error> {
    deserializer.deserialize_any(RootVisitor { projection })
}

/// The object's root: learns `apiVersion` and `kind` before the members they steer.
struct RootVisitor<'a, 'p> {
    projection: &'a Projection<'p>,
}

impl<'de> Visitor<'de> for RootVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::with_capacity(STEERED_MAP_CAPACITY);
        let mut root = ObjectRoot::default();
        while let Some(key) = map.next_key::<String>()? {
            let place = root.member(self.projection, |field| out.get(field), &key);
            let seed = NodeSeed {
                projection: self.projection,
                place,
                pod_spec: root.pod_spec_tokens(),
            };
            if let Some(value) = map.next_value_seed(seed)? {
                out.insert(key, value);
            }
        }
        Ok(root.finish(self.projection, Value::Object(out)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        ValueVisitor.visit_seq(seq)
    }

    forward_scalars!(ValueVisitor);
}

/// A node below the root, at `place`; `None` for a [`Place::Dropped`] one.
#[derive(Clone, Copy)]
struct NodeSeed<'a, 'p> {
    projection: &'a Projection<'p>,
    place: Place,
    pod_spec: Option<&'a [String]>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        match self.place {
            Place::Dropped => {
                IgnoredAny::deserialize(d)?;
                Ok(None)
            }
            Place::Whole => Value::deserialize(d).map(Some),
            Place::Unread => d.deserialize_any(UnreadVisitor).map(Some),
            _ => d.deserialize_any(self).map(Some),
        }
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::with_capacity(STEERED_MAP_CAPACITY);
        while let Some(key) = map.next_key::<String>()? {
            let seed = NodeSeed {
                place: self.projection.member(self.place, &key, self.pod_spec),
                ..self
            };
            if let Some(value) = map.next_value_seed(seed)? {
                out.insert(key, value);
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let seed = NodeSeed {
            place: self.place.item(),
            ..self
        };
        while let Some(item) = seq.next_element_seed(seed)? {
            items.extend(item);
        }
        Ok(Value::Array(items))
    }

    forward_scalars!(ValueVisitor);
}

/// A node no rule reads: a collection becomes its digest, a scalar stays itself.
struct UnreadVisitor;

impl<'de> Visitor<'de> for UnreadVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        DigestVisitor.visit_map(map).map(Digest::marker)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        DigestVisitor.visit_seq(seq).map(Digest::marker)
    }

    forward_scalars!(ValueVisitor);
}

/// Builds scalars as `serde_json::Value` does, and collections in full.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Hashes any value as [`Digest::of`] would hash it built, without building it.
#[derive(Clone, Copy)]
struct DigestVisitor;

impl<'de> DeserializeSeed<'de> for DigestVisitor {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DigestVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut members = MapDigest::default();
        while let Some(key) = map.next_key_seed(KeyDigest)? {
            members.push(key, map.next_value_seed(self)?);
        }
        Ok(members.finish())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut items = SeqDigest::default();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(items.finish())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<u64, E> {
        Ok(Digest::scalar(&Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        Ok(Digest::scalar(&Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(Digest::scalar(&Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        Ok(Digest::scalar(
            &serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        Ok(Digest::str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(Digest::scalar(&Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        Ok(Digest::scalar(&Value::Null))
    }
}

/// A mapping key's digest.
struct KeyDigest;

impl<'de> DeserializeSeed<'de> for KeyDigest {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_str(DigestVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::json;

    use super::*;
    use crate::yaml::{Limits, parse_documents, parse_manifests};

    /// Every manifest the project has: rule fixtures and the real-world corpus.
    fn manifests() -> Vec<PathBuf> {
        fn visit(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("fixture directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    visit(&path, out);
                } else if crate::input::is_manifest_path(&path.to_string_lossy()) {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        visit(&root.join("fixtures"), &mut out);
        visit(&root.join("../tests/fixtures/corpus/manifests"), &mut out);
        out.sort();
        assert!(out.len() > 200, "{} manifests", out.len());
        out
    }

    #[test]
    fn both_readers_keep_exactly_the_projection_of_every_manifest() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let limits = Limits::default();
        let mut digested = 0;
        for path in manifests() {
            let text = std::fs::read_to_string(&path).expect("UTF-8 fixture");
            let name = path.display();
            let (Ok(full), Ok(pruned)) = (
                parse_documents(&text, &limits),
                parse_manifests(&text, &limits, &files),
            ) else {
                // Broken fixtures must break both readers alike.
                assert!(parse_documents(&text, &limits).is_err(), "{name}");
                assert!(parse_manifests(&text, &limits, &files).is_err(), "{name}");
                continue;
            };
            assert_eq!(full.len(), pruned.len(), "{name}");
            for (full, pruned) in full.iter().zip(&pruned) {
                let expected = files.project(&full.value);
                assert_eq!(pruned.value, expected, "{name}: YAML reader");
                digested += usize::from(pruned.value != full.value);
                // The webhook's reader, on the same object as JSON.
                let json = serde_json::to_string(&full.value).expect("serializes");
                let mut de = serde_json::Deserializer::from_str(&json);
                let decoded = deserialize(&files, &mut de).expect("decodes");
                assert_eq!(decoded, expected, "{name}: JSON reader");
                // Every node kept has the line it has in a full read.
                for (pointer, line) in pruned.lines.entries() {
                    assert_eq!(
                        full.lines.line_of(&pointer),
                        Some(line),
                        "{name}: {pointer}"
                    );
                }
            }
        }
        assert!(
            digested > 100,
            "only {digested} documents had anything digested"
        );
    }

    #[test]
    fn equality_survives_the_projection_on_every_fixture_pair() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let limits = Limits::default();
        let mut pairs = 0;
        for before in manifests()
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "before.yaml"))
        {
            let after = before.with_file_name("after.yaml");
            let read = |path: &Path, pruned: bool| {
                let text = std::fs::read_to_string(path).expect("fixture");
                let documents = if pruned {
                    parse_manifests(&text, &limits, &files)
                } else {
                    parse_documents(&text, &limits)
                };
                documents.map(|d| d.into_iter().map(|d| d.value).collect::<Vec<_>>())
            };
            let (Ok(full_before), Ok(full_after)) = (read(&before, false), read(&after, false))
            else {
                continue;
            };
            let pruned_before = read(&before, true).expect("reads like the full read");
            let pruned_after = read(&after, true).expect("reads like the full read");
            for (i, (b, a)) in full_before.iter().zip(&full_after).enumerate() {
                assert_eq!(
                    b == a,
                    pruned_before[i] == pruned_after[i],
                    "{}: document {i}",
                    before.display()
                );
                pairs += 1;
            }
        }
        assert!(pairs > 40, "{pairs} pairs");
    }

    #[test]
    fn formatting_does_not_change_a_digest_and_content_does() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let read = |text: &str| {
            let documents = parse_manifests(text, &Limits::default(), &files).expect("reads");
            documents[0].value["spec"]["template"]["spec"]["containers"][0]["env"].clone()
        };
        let block = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - name: A # comment\n          value: '1'\n";
        let flow = "{apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: [{name: a, env: [{value: \"1\", name: A}]}]}}}}";
        let changed = block.replace("'1'", "'2'");
        let typed = block.replace("'1'", "1");
        assert!(
            read(block)
                .as_str()
                .is_some_and(|s| s.starts_with(DIGEST_PREFIX))
        );
        assert_eq!(read(block), read(flow));
        assert_ne!(read(block), read(&changed));
        assert_ne!(read(block), read(&typed));
    }

    #[test]
    fn an_object_whose_kind_comes_last_reads_as_if_it_came_first() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let spec = "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: [{name: A}]\n";
        let first = format!("apiVersion: apps/v1\nkind: Deployment\n{spec}");
        let last = format!("{spec}apiVersion: apps/v1\nkind: Deployment\n");
        let read = |text: &str| {
            parse_manifests(text, &Limits::default(), &files).expect("reads")[0]
                .value
                .clone()
        };
        let expected = read(&first);
        assert!(
            expected
                .pointer("/spec/template/spec/containers/0/env")
                .is_some_and(Value::is_string)
        );
        assert_eq!(read(&last), expected);
        let json = serde_json::to_string(&read(&last)).expect("serializes");
        let full: Value = serde_json::from_str(&json).expect("JSON");
        let mut reordered = serde_json::Map::new();
        reordered.insert("spec".into(), full["spec"].clone());
        reordered.insert("apiVersion".into(), full["apiVersion"].clone());
        reordered.insert("kind".into(), full["kind"].clone());
        let unpruned = serde_json::to_string(&Value::Object(reordered))
            .expect("serializes")
            .replace(
                &serde_json::to_string(
                    &expected["spec"]["template"]["spec"]["containers"][0]["env"],
                )
                .expect("env"),
                r#"[{"name":"A"}]"#,
            );
        let mut de = serde_json::Deserializer::from_str(&unpruned);
        assert_eq!(deserialize(&files, &mut de).expect("decodes"), expected);
    }

    #[test]
    fn aliases_read_the_same_as_what_they_expand_to() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let limits = Limits::default();
        let head = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n";
        let cases = [
            // An anchor in a digested collection, aliased in another.
            "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: &env [{name: A, value: '1'}]\n      - name: b\n        env: *env\n",
            // Inside one, aliased inside another.
            "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: [&one {name: A, value: '1'}]\n      - name: b\n        env: [*one]\n",
            // Built, aliased where nothing is read.
            "x-env: &env [{name: A}]\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: *env\n",
            // Digested, aliased where everything is read: read again in full.
            "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: &env [{name: A}]\n  selector: *env\n",
            // A merge key of a digested anchor.
            "spec:\n  template:\n    spec:\n      volumes: [&vol {name: v, emptyDir: {}}]\n      containers:\n      - {name: a, resources: {<<: *vol}}\n",
            // A merge into a container, where merged members are pruned by their keys (found
            // by fuzzing `manifest_loader`).
            "x-c: &c {name: a, env: [{name: A}], resources: {limits: {cpu: 1}}}\nspec:\n  template:\n    spec:\n      containers:\n      - <<: *c\n        image: i\n",
            // A merge inside a digested mapping (found by fuzzing `manifest_loader`).
            "x-res: &res {limits: {cpu: 1}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        resuorces: {<<: *res}\n      - name: b\n        urcesores: *res\n",
        ];
        for case in cases {
            let text = format!("{head}{case}");
            let full = parse_documents(&text, &limits).expect(case);
            let pruned = parse_manifests(&text, &limits, &files).expect(case);
            assert_eq!(pruned[0].value, files.project(&full[0].value), "{case}");
        }
    }

    #[test]
    fn markers_show_the_digest_in_hex() {
        assert_eq!(
            Digest::marker(0x0123_4567_89ab_cdef),
            json!(format!("{DIGEST_PREFIX}0123456789abcdef)"))
        );
    }

    #[test]
    fn mappings_digest_in_any_order_and_sequences_in_order() {
        let a = json!({"a": 1, "b": [1, "x", null, true, 1.5, -3]});
        let b = json!({"b": [1, "x", null, true, 1.5, -3], "a": 1});
        assert_eq!(Digest::of(&a), Digest::of(&b));
        let reordered = json!({"a": 1, "b": ["x", 1, null, true, 1.5, -3]});
        assert_ne!(Digest::of(&a), Digest::of(&reordered));
    }

    #[test]
    fn digests_tell_apart_what_equality_tells_apart() {
        let values = [
            json!(null),
            json!(""),
            json!("1"),
            json!(1),
            json!(-1),
            json!(1.0),
            json!(true),
            json!(false),
            json!([]),
            json!({}),
            json!([[]]),
            json!([{}]),
            json!({"a": null}),
            json!({"a": {}}),
            json!({"": "a"}),
            json!({"a": ""}),
            json!([1, 2]),
            json!([2, 1]),
            json!([[1], 2]),
            json!([1, [2]]),
            json!({"a": 1, "b": 2}),
            json!({"a": 2, "b": 1}),
        ];
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate() {
                assert_eq!(i == j, Digest::of(a) == Digest::of(b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn places_follow_the_pod_spec_of_each_kind() {
        let policy = Policy::default();
        let files = Projection::files(&policy);
        let path = files.pod_spec_path("apps/v1", "DaemonSet").unwrap();
        let path = Some(path.as_slice());
        let walk = |keys: &[&str]| {
            keys.iter().fold(Place::Root, |place, key| match *key {
                "0" => place.item(),
                key => files.member(place, key, path),
            })
        };
        assert_eq!(walk(&["spec", "template", "spec"]), Place::PodSpec);
        assert_eq!(walk(&["spec", "updateStrategy"]), Place::Whole);
        assert_eq!(
            walk(&["spec", "template", "spec", "volumes"]),
            Place::Unread
        );
        assert_eq!(
            walk(&["spec", "template", "spec", "containers", "0", "resources"]),
            Place::Whole
        );
        assert_eq!(
            walk(&[
                "spec",
                "template",
                "spec",
                "initContainers",
                "0",
                "env",
                "0"
            ]),
            Place::Unread
        );
        assert_eq!(walk(&["status"]), Place::Unread);
        assert_eq!(walk(&["metadata", "labels"]), Place::Whole);
        let admission = Projection::admission();
        assert_eq!(
            admission.member(Place::Root, "status", path),
            Place::Dropped
        );
        assert_eq!(
            admission.member(Place::Annotations, LAST_APPLIED, path),
            Place::Dropped
        );
        // Without a known kind nothing is pruned.
        assert_eq!(files.member(Place::Root, "spec", None), Place::Whole);
        let cron = files.pod_spec_path("batch/v1", "CronJob").unwrap();
        assert_eq!(cron, ["spec", "jobTemplate", "spec", "template", "spec"]);
        assert_eq!(files.pod_spec_path("v1", "ConfigMap"), None);
    }
}
