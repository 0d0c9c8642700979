//! A YAML reader that keeps line numbers and refuses hostile input.
//!
//! Documents become [`serde_json::Value`]s (the same tree the webhook receives from the API
//! server), and a [`LineMap`] from JSON pointer to source line, so every finding can name
//! `file:line`. JSON files are read the same way, since JSON is a subset of YAML 1.2.
//!
//! Anchors, aliases and `<<` merge keys are expanded; lines of expanded content point at the
//! anchor's definition, which is where a reviewer must edit. Expansion is bounded by
//! [`Limits::max_nodes`] (the "billion laughs" alias bomb) and nesting by [`Limits::max_depth`].
//! The event parser is `libyaml-safer`, a memory-safe port of libyaml: the same parser family
//! as go-yaml behind `kubectl`, so changelint accepts exactly the manifests the cluster tooling
//! accepts (saphyr-parser rejects real ones, e.g. Elastic's filebeat DaemonSet with a flow
//! sequence closed at its key's indentation). `serde_yaml` is archived upstream and gives no
//! positions.

use std::collections::{HashMap, HashSet};

use libyaml_safer::{Event, EventData, Parser, ScalarStyle};
use serde_json::{Map, Value};

use crate::projection::{Digest, MapDigest, ObjectRoot, Place, Projection, SeqDigest};

/// Bounds on what one file may cost to read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: usize,
    /// Largest single document (object), in bytes: the API server's request limit is 3 MiB.
    pub max_document_bytes: usize,
    /// Most nodes one file may expand to, aliases included.
    pub max_nodes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_document_bytes: 3 * 1024 * 1024,
            max_nodes: 4_000_000,
            max_depth: 128,
        }
    }
}

/// Why a YAML or JSON text could not be read. Always carries the 1-based line where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct YamlError {
    /// 1-based line of the problem, if it has one.
    pub line: Option<u32>,
    /// What is wrong, for a human.
    pub message: String,
}

impl YamlError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line as u32),
            message: message.into(),
        }
    }
}

/// JSON pointer (RFC 6901) to 1-based source line, for one document.
///
/// Stored as a tree with one node per YAML node, in the order the parser met them, rather
/// than as a map of pointer strings: building it costs no string formatting or hashing per
/// node (that was as much work as parsing itself), and looking a pointer up walks its tokens,
/// which only happens for the few pointers a finding names. Mapping keys live, escaped as
/// pointer tokens, in one buffer per document.
#[derive(Debug, Clone, Default)]
pub struct LineMap {
    /// The tree; node 0 is the root pointer `""` once anything has been recorded.
    nodes: Vec<LineNode>,
    /// Escaped mapping keys of every node, end to end.
    keys: String,
    /// Pointers that do not start with `/` (only reachable through [`LineMap::insert`]).
    odd: HashMap<String, u32>,
    /// Sequence items from index [`WALKED_ITEMS_MAX`] on, by (sequence node, index): finding
    /// an item by walking the ones before it made every lookup into the items of a large
    /// `kind: List` cost its index, and a List's findings quadratic.
    far_items: HashMap<(u32, u32), u32>,
}

/// Sequence items up to this index are found by walking the sequence's children.
const WALKED_ITEMS_MAX: u32 = 32;

/// No node.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct LineNode {
    /// 1-based line; 0 when the node has none (an ancestor created for a descendant).
    line: u32,
    /// How the parent names this node.
    key: NodeKey,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
}

#[derive(Debug, Clone, Copy)]
enum NodeKey {
    /// The document itself.
    Root,
    /// A sequence item.
    Index(u32),
    /// A mapping key: a range of [`LineMap::keys`], escaped.
    Name { start: u32, len: u32 },
}

impl LineMap {
    /// The line of `pointer`, or of its nearest ancestor that has one.
    pub fn line_of(&self, pointer: &str) -> Option<u32> {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            let mut current = pointer;
            loop {
                if let Some(line) = self.odd.get(current) {
                    return Some(*line);
                }
                let cut = current.rfind('/')?;
                current = &current[..cut];
            }
        }
        let root = self.nodes.first()?;
        let mut best = (root.line != 0).then_some(root.line);
        if pointer.is_empty() {
            return best;
        }
        let mut node = 0;
        for token in pointer[1..].split('/') {
            match self.child(node, token) {
                Some(child) => {
                    node = child;
                    let line = self.nodes[child as usize].line;
                    if line != 0 {
                        best = Some(line);
                    }
                }
                None => break,
            }
        }
        best
    }

    /// Records the line of a pointer.
    pub fn insert(&mut self, pointer: String, line: u32) {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            self.odd.insert(pointer, line);
            return;
        }
        let mut node = self.root();
        if !pointer.is_empty() {
            for token in pointer[1..].split('/') {
                node = match self.child(node, token) {
                    Some(child) => child,
                    None => self.push_named(node, token),
                };
            }
        }
        self.nodes[node as usize].line = line;
    }

    /// Rewrites every line through `map` (a rebuilt text's lines back to the file's own);
    /// pointers whose line maps to nothing fall back to their ancestors.
    pub fn remap(&mut self, map: impl Fn(u32) -> Option<u32>) {
        for node in &mut self.nodes {
            if node.line != 0 {
                node.line = map(node.line).unwrap_or(0);
            }
        }
        self.odd = std::mem::take(&mut self.odd)
            .into_iter()
            .filter_map(|(pointer, line)| map(line).map(|line| (pointer, line)))
            .collect();
    }

    /// Every pointer with a line, in no particular order.
    pub(crate) fn entries(&self) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = self.odd.iter().map(|(p, l)| (p.clone(), *l)).collect();
        if !self.nodes.is_empty() {
            self.collect(0, &mut String::new(), &mut out);
        }
        out
    }

    fn collect(&self, node: u32, pointer: &mut String, out: &mut Vec<(String, u32)>) {
        let line = self.nodes[node as usize].line;
        if line != 0 {
            out.push((pointer.clone(), line));
        }
        let mut child = self.nodes[node as usize].first_child;
        while child != NONE {
            let len = pointer.len();
            pointer.push('/');
            match self.nodes[child as usize].key {
                NodeKey::Index(index) => pointer.push_str(&index.to_string()),
                NodeKey::Name { start, len } => {
                    pointer.push_str(&self.keys[start as usize..(start + len) as usize]);
                }
                NodeKey::Root => {}
            }
            self.collect(child, pointer, out);
            pointer.truncate(len);
            child = self.nodes[child as usize].next_sibling;
        }
    }

    fn clear(&mut self) {
        self.nodes.clear();
        self.keys.clear();
        self.odd.clear();
        self.far_items.clear();
    }

    /// The root node, created on first use.
    fn root(&mut self) -> u32 {
        if self.nodes.is_empty() {
            self.nodes.push(LineNode {
                line: 0,
                key: NodeKey::Root,
                first_child: NONE,
                last_child: NONE,
                next_sibling: NONE,
            });
        }
        0
    }

    /// The child of `node` whose pointer token is `token` (escaped).
    fn child(&self, node: u32, token: &str) -> Option<u32> {
        // Parsed once, not per sibling walked.
        let wanted_index = token_index(token);
        if let Some(index) = wanted_index.filter(|&i| i >= WALKED_ITEMS_MAX)
            && let Some(&item) = self.far_items.get(&(node, index))
        {
            return Some(item);
        }
        let mut child = self.nodes[node as usize].first_child;
        while child != NONE {
            let matches = match self.nodes[child as usize].key {
                NodeKey::Name { start, len } => {
                    len as usize == token.len()
                        && &self.keys[start as usize..(start + len) as usize] == token
                }
                NodeKey::Index(index) => wanted_index == Some(index),
                NodeKey::Root => false,
            };
            if matches {
                return Some(child);
            }
            child = self.nodes[child as usize].next_sibling;
        }
        None
    }

    fn push(&mut self, parent: u32, key: NodeKey, line: u32) -> u32 {
        let index = self.nodes.len() as u32;
        if let NodeKey::Index(item) = key
            && item >= WALKED_ITEMS_MAX
        {
            // The first such child, as a walk finds it (`<<` merges can repeat an index).
            self.far_items.entry((parent, item)).or_insert(index);
        }
        self.nodes.push(LineNode {
            line,
            key,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        let parent = &mut self.nodes[parent as usize];
        let last = parent.last_child;
        parent.last_child = index;
        if last == NONE {
            parent.first_child = index;
        } else {
            self.nodes[last as usize].next_sibling = index;
        }
        index
    }

    /// Appends a child named by an escaped token.
    fn push_named(&mut self, parent: u32, token: &str) -> u32 {
        let start = self.keys.len() as u32;
        self.keys.push_str(token);
        let key = NodeKey::Name {
            start,
            len: token.len() as u32,
        };
        self.push(parent, key, 0)
    }

    /// The child of `parent` for mapping key `key` (unescaped), created if needed. Only `<<`
    /// can repeat in a mapping (every other duplicate is an error), so only it is looked up.
    fn key_child(&mut self, parent: u32, key: &str) -> u32 {
        let token = escape_token(key);
        if key == "<<" {
            if let Some(child) = self.child(parent, &token) {
                return child;
            }
        }
        self.push_named(parent, &token)
    }

    /// Records a line unless the node has one: a block value's line is its key's line.
    fn keep_first(&mut self, node: u32, line: u32) {
        let slot = &mut self.nodes[node as usize].line;
        if *slot == 0 {
            *slot = line;
        }
    }

    /// Copies the subtree under `node` into a map of its own, rooted there.
    fn subtree(&self, node: u32) -> (LineMap, usize) {
        let mut out = LineMap::default();
        let root = out.root();
        out.nodes[0].line = self.nodes[node as usize].line;
        let mut count = usize::from(out.nodes[0].line != 0);
        self.copy_children(node, &mut out, root, &mut count);
        (out, count)
    }

    fn copy_children(&self, from: u32, out: &mut LineMap, to: u32, count: &mut usize) {
        let mut child = self.nodes[from as usize].first_child;
        while child != NONE {
            let source = self.nodes[child as usize];
            let key = match source.key {
                NodeKey::Name { start, len } => {
                    let new_start = out.keys.len() as u32;
                    out.keys
                        .push_str(&self.keys[start as usize..(start + len) as usize]);
                    NodeKey::Name {
                        start: new_start,
                        len,
                    }
                }
                other => other,
            };
            let copy = out.push(to, key, source.line);
            *count += usize::from(source.line != 0);
            self.copy_children(child, out, copy, count);
            child = source.next_sibling;
        }
    }

    /// Writes the lines of `from` (a [`LineMap::subtree`]) under `node`, over what is there.
    fn graft(&mut self, node: u32, from: &LineMap) {
        if from.nodes.is_empty() {
            return;
        }
        if from.nodes[0].line != 0 {
            self.nodes[node as usize].line = from.nodes[0].line;
        }
        self.graft_children(node, from, 0);
    }

    fn graft_children(&mut self, node: u32, from: &LineMap, from_node: u32) {
        let mut child = from.nodes[from_node as usize].first_child;
        while child != NONE {
            let source = from.nodes[child as usize];
            let target = match source.key {
                NodeKey::Name { start, len } => {
                    let token = &from.keys[start as usize..(start + len) as usize];
                    match self.child(node, token) {
                        Some(existing) => existing,
                        None => self.push_named(node, token),
                    }
                }
                NodeKey::Index(index) => match self.child(node, &index.to_string()) {
                    Some(existing) => existing,
                    None => self.push(node, NodeKey::Index(index), 0),
                },
                NodeKey::Root => node,
            };
            if source.line != 0 {
                self.nodes[target as usize].line = source.line;
            }
            self.graft_children(target, from, child);
            child = source.next_sibling;
        }
    }
}

/// Compares as the pointer strings would: `/items/1` and `/items/1` only, never `01`.
impl PartialEq for LineMap {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.entries(), other.entries());
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }
}

impl Eq for LineMap {}

/// The sequence index a pointer token writes exactly: digits without a leading zero (`0`
/// itself aside), within `u32`; `/items/01` names no item.
fn token_index(token: &str) -> Option<u32> {
    let bytes = token.as_bytes();
    if bytes.is_empty() || bytes.len() > 10 || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    let mut value: u64 = 0;
    for b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(b - b'0');
    }
    u32::try_from(value).ok()
}

/// One YAML document: its value, its lines, and where it starts.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    /// The document's content; `Null` for an empty document.
    pub value: Value,
    /// Lines of every node in the document.
    pub lines: LineMap,
    /// 1-based line where the document's content starts.
    pub start_line: u32,
}

/// Escapes one JSON pointer token (RFC 6901: `~` -> `~0`, `/` -> `~1`).
pub fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    // Every mapping key read goes through here; a byte scan beats a search for either char.
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
        return token.into();
    }
    let mut escaped = String::with_capacity(token.len() + 4);
    for c in token.chars() {
        match c {
            '~' => escaped.push_str("~0"),
            '/' => escaped.push_str("~1"),
            c => escaped.push(c),
        }
    }
    escaped.into()
}

/// Builds a JSON pointer from path tokens.
pub fn pointer_of<S: AsRef<str>>(tokens: &[S]) -> String {
    tokens.iter().fold(String::new(), |mut out, token| {
        out.push('/');
        out.push_str(&escape_token(token.as_ref()));
        out
    })
}

/// Reads every document of a YAML (or JSON) stream, building every node.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<YamlDocument>, YamlError> {
    within_limit(text, limits)?;
    read(text, limits, None).map_err(Failure::into_error)
}

/// Reads every document of a manifest stream, keeping of each workload what the rules read
/// and a digest of the rest (see [`crate::projection`]). Lines are kept for every node that is
/// built, and for the root of every digested collection.
pub fn parse_manifests(
    text: &str,
    limits: &Limits,
    projection: &Projection<'_>,
) -> Result<Vec<YamlDocument>, YamlError> {
    within_limit(text, limits)?;
    match read(text, limits, Some(*projection)) {
        // An alias outside a digested collection names an anchor inside one, or a digested
        // mapping merges another (both rare): what they stand for was never built, so the
        // stream is read again in full and projected.
        Err(Failure::NeedsFullRead) => read(text, limits, None).map(|documents| {
            documents
                .into_iter()
                .map(|document| YamlDocument {
                    value: projection.project(&document.value),
                    ..document
                })
                .collect()
        }),
        result => result,
    }
    .map_err(Failure::into_error)
}

/// Why [`read`] stopped.
enum Failure {
    Yaml(YamlError),
    /// Something must be expanded that was digested, not built: see [`parse_manifests`].
    NeedsFullRead,
}

impl Failure {
    fn into_error(self) -> YamlError {
        match self {
            Failure::Yaml(error) => error,
            // Only a pruning read stops for this, and it is never the last read.
            Failure::NeedsFullRead => YamlError::at(1, "content that was not read is needed"),
        }
    }
}

/// Refuses a file over the size limit before it is parsed.
fn within_limit(text: &str, limits: &Limits) -> Result<(), YamlError> {
    if text.len() > limits.max_file_bytes {
        return Err(YamlError {
            line: None,
            message: format!(
                "file is {} bytes, over the limit of {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        });
    }
    Ok(())
}

fn read(
    text: &str,
    limits: &Limits,
    projection: Option<Projection<'_>>,
) -> Result<Vec<YamlDocument>, Failure> {
    // libyaml-safer (0.3.0, as 0.1.1) still panics on some malformed input: a tag directly
    // followed by `,` in a flow collection (simonask/libyaml-safer#7), a block scalar indicator
    // after a quoted scalar (#6). The half-built documents go with the panic; the last line the parser
    // reached names where it gave up. The CLI and the webhook never see the panic.
    let last_line = std::cell::Cell::new(1usize);
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut builder = Builder::new(*limits, projection);
        let mut parser = Parser::new();
        let mut input = text.as_bytes();
        parser.set_input_string(&mut input);
        loop {
            let event = parser.parse().map_err(|e| {
                let line = match e.problem_mark().or(e.context_mark()) {
                    Some(mark) => mark.line as usize + 1,
                    None => reader_error_line(&e, text),
                };
                let message = match e.context() {
                    Some(context) => format!("{} {context}", e.problem()),
                    None => e.problem().to_owned(),
                };
                Failure::Yaml(YamlError::at(line, message))
            })?;
            if matches!(event.data, EventData::StreamEnd) {
                break;
            }
            last_line.set(event.end_mark.line as usize + 1);
            builder.event(event).map_err(|error| {
                if builder.needs_full_read {
                    Failure::NeedsFullRead
                } else {
                    Failure::Yaml(error)
                }
            })?;
        }
        Ok(builder.documents)
    }));
    parsed.unwrap_or_else(|_| {
        Err(Failure::Yaml(YamlError::at(
            last_line.get(),
            "the YAML parser cannot read what follows this line (malformed syntax, such as a \
             tag directly followed by `,` or a block scalar indicator after a quoted scalar)",
        )))
    })
}

/// The line of an error of the parser's character reader (a control character), which has
/// no mark: libyaml-safer keeps the byte offset of the character, counted from after a byte
/// order mark, and shows it only in its message, "... (offset N, value V)". Line 1 if the
/// message has no offset.
fn reader_error_line(error: &libyaml_safer::Error, text: &str) -> usize {
    let message = error.to_string();
    let Some(offset) = message
        .rsplit_once("(offset ")
        .and_then(|(_, rest)| rest.split_once(','))
        .and_then(|(offset, _)| offset.parse::<usize>().ok())
    else {
        return 1;
    };
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    line_at(text.as_bytes(), offset.saturating_add(bom))
}

/// The 1-based line of a byte offset (the last line for one past the end).
pub fn line_at(bytes: &[u8], offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', bytes.get(..offset).unwrap_or(bytes)).count()
}

/// An anchored node, kept so that aliases can copy it with its lines.
struct Anchor {
    value: Anchored,
    /// The lines of the anchored node and its descendants, rooted at the node.
    lines: LineMap,
    /// How many of them have a line (what an alias adds to the node count).
    line_count: usize,
    nodes: usize,
}

/// Mappings up to this many keys are gathered on [`Builder::open_entries`] and checked for
/// duplicate keys one by one; a larger one becomes a hashed map as it is read.
const STACKED_KEYS_MAX: usize = 16;

/// Digested mappings up to this many keys find a repeated key by scanning their key digests;
/// a larger one keeps them in a set. More than [`STACKED_KEYS_MAX`]: a digest compares as one
/// integer, a key as a string.
const SCANNED_KEY_DIGESTS_MAX: usize = 32;

/// The members of a mapping being read.
///
/// Members wait on a stack shared by every open mapping and become a map of exactly their
/// number when the mapping ends (merge keys aside): built member by member, a map reallocated
/// itself at every doubling and kept the spare room, and a tree's objects are most of its
/// reader's memory. A mapping of more keys than [`STACKED_KEYS_MAX`] becomes a map as it is
/// read and grows as maps do.
enum MapEntries {
    /// On [`Builder::open_entries`], from this index.
    Stacked { from: usize },
    /// Too many keys to check for duplicates one by one.
    Built(Map<String, Value>),
}

impl MapEntries {
    fn get<'a>(&'a self, open: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
        match self {
            Self::Stacked { from } => open[*from..]
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, value)| value),
            Self::Built(map) => map.get(key),
        }
    }

    /// Adds a member whose key is not in the mapping yet (see [`Builder::set_key`]).
    fn push(&mut self, open: &mut Vec<(String, Value)>, key: String, value: Value) {
        match self {
            Self::Stacked { from } if open.len() - *from < STACKED_KEYS_MAX => {
                open.push((key, value));
            }
            Self::Stacked { from } => {
                let mut map: Map<String, Value> = open.drain(*from..).collect();
                map.insert(key, value);
                *self = Self::Built(map);
            }
            Self::Built(map) => {
                map.insert(key, value);
            }
        }
    }

    /// The mapping, once its last member is read.
    fn finish(self, open: &mut Vec<(String, Value)>) -> Map<String, Value> {
        match self {
            Self::Stacked { from } => open.drain(from..).collect(),
            Self::Built(map) => map,
        }
    }
}

/// What an anchor holds.
enum Anchored {
    /// The node as built.
    Built(Value),
    /// A collection no rule reads, which was digested and never built.
    Digested(u64),
}

enum Frame {
    Seq {
        /// Where this sequence's items start in [`Builder::open_items`].
        items_from: usize,
        node: u32,
        anchor: Option<String>,
        place: Place,
    },
    Map {
        entries: MapEntries,
        key: Option<String>,
        /// The line node of `key`'s value, once the key is read.
        key_node: u32,
        node: u32,
        anchor: Option<String>,
        merges: Vec<Value>,
        place: Place,
    },
    /// A collection no rule reads: hashed as it is read, never built.
    Digest {
        content: DigestContent,
        /// The line node of the digested collection's root; `NONE` below it.
        node: u32,
        anchor: Option<String>,
        /// Nodes inside, for what an alias of it adds to the node count.
        nodes: usize,
        /// Left out of the object rather than kept as a digest.
        dropped: bool,
    },
}

enum DigestContent {
    Seq(SeqDigest),
    Map {
        members: MapDigest,
        /// The digest of the key read, until its value is.
        key: Option<u64>,
        /// Where this mapping's key digests start in `Builder::digest_keys`.
        keys_from: usize,
        /// The key digests of a mapping too large to search them one by one.
        many_keys: Option<HashSet<u64>>,
    },
}

struct Builder<'p> {
    limits: Limits,
    projection: Option<Projection<'p>>,
    documents: Vec<YamlDocument>,
    stack: Vec<Frame>,
    /// Members of the open mappings, innermost last (see [`MapEntries`]).
    open_entries: Vec<(String, Value)>,
    /// Items of the open sequences, innermost last.
    open_items: Vec<Value>,
    anchors: HashMap<String, Anchor>,
    lines: LineMap,
    /// The pod spec's path of the current document, once its `apiVersion` and `kind` are read.
    object_root: ObjectRoot,
    /// Key digests of the digested mappings being read, innermost last (duplicate keys are an
    /// error wherever they are).
    digest_keys: Vec<u64>,
    /// Set when the read must start again in full (see [`parse_manifests`]).
    needs_full_read: bool,
    /// Nodes built, copied for anchors or expanded from aliases, in the whole file.
    nodes: usize,
    /// Of those, the copies.
    copies: usize,
    /// The line and file offset where the open document starts.
    doc_start: Option<(usize, usize)>,
    root: Option<Value>,
}

/// Where the next node goes.
enum Slot {
    /// A mapping key: `parent` is the mapping's line node.
    Key { parent: u32 },
    /// A value, whose line node is `node`.
    Value { node: u32 },
}

impl<'p> Builder<'p> {
    fn new(limits: Limits, projection: Option<Projection<'p>>) -> Self {
        Self {
            limits,
            projection,
            documents: Vec::new(),
            stack: Vec::new(),
            open_entries: Vec::new(),
            open_items: Vec::new(),
            anchors: HashMap::new(),
            lines: LineMap::default(),
            object_root: ObjectRoot::default(),
            digest_keys: Vec::new(),
            needs_full_read: false,
            nodes: 0,
            copies: 0,
            doc_start: None,
            root: None,
        }
    }

    /// Counts `nodes` about to be built, before building them; `copied` for the copies made
    /// for anchors and aliases.
    fn count(&mut self, nodes: usize, copied: bool, line: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if copied {
            self.copies = self.copies.saturating_add(nodes);
        }
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::at(
                line,
                format!(
                    "document expands to more than {} nodes (an alias bomb?); refusing to read it",
                    self.limits.max_nodes
                ),
            ));
        }
        if self.copies > 100
            && self.nodes > 1000
            && self.copies as f64 / self.nodes as f64 > self.allowed_copy_ratio()
        {
            return Err(YamlError::at(
                line,
                format!(
                    "document expands {} of its {} nodes from aliases (an alias bomb?); refusing to read it",
                    self.copies, self.nodes
                ),
            ));
        }
        Ok(())
    }

    /// The share of nodes that may be copies: go-yaml's alias ratio (the reader behind
    /// `kubectl` and sigs.k8s.io/yaml): 99% up to a tenth of the node limit, falling to 10% at
    /// the limit. A "billion laughs" bomb fails after a few thousand nodes instead of millions.
    fn allowed_copy_ratio(&self) -> f64 {
        let high = self.limits.max_nodes as f64;
        let low = high / 10.0;
        let nodes = self.nodes as f64;
        if nodes <= low {
            0.99
        } else if nodes >= high {
            0.10
        } else {
            0.99 - 0.89 * (nodes - low) / (high - low)
        }
    }

    /// The line node the next value will have, or that the next node is a mapping key.
    fn next_slot(&mut self) -> Slot {
        match self.stack.last() {
            None => Slot::Value {
                node: self.lines.root(),
            },
            Some(Frame::Seq {
                items_from, node, ..
            }) => {
                let (parent, index) = (*node, (self.open_items.len() - items_from) as u32);
                Slot::Value {
                    node: self.lines.push(parent, NodeKey::Index(index), 0),
                }
            }
            Some(Frame::Map {
                key: None, node, ..
            }) => Slot::Key { parent: *node },
            Some(Frame::Map {
                key: Some(_),
                key_node,
                ..
            }) => Slot::Value { node: *key_node },
            Some(Frame::Digest { .. }) => Slot::Value { node: NONE },
        }
    }

    /// Where the next value stands relative to what the rules read.
    fn next_place(&mut self) -> Place {
        let Some(projection) = self.projection else {
            return Place::Whole;
        };
        match self.stack.last() {
            None => Place::Root,
            Some(Frame::Seq { place, .. }) => place.item(),
            Some(Frame::Map {
                place: Place::Root,
                key: Some(key),
                entries,
                ..
            }) => {
                let open = &self.open_entries;
                self.object_root
                    .member(&projection, |field| entries.get(open, field), key)
            }
            Some(Frame::Map {
                place,
                key: Some(key),
                ..
            }) => projection.member(*place, key, self.object_root.pod_spec_tokens()),
            Some(_) => Place::Whole,
        }
    }

    /// Sets the key of the mapping on top of the stack and creates its value's line node.
    ///
    /// A key the mapping already has is refused here, at the key's line: its value may span
    /// many lines. Only `<<` may repeat (each adds merge sources).
    fn set_key(
        &mut self,
        parent: u32,
        text: String,
        line: usize,
        keeps_line: bool,
    ) -> Result<(), YamlError> {
        if let Some(Frame::Map { entries, .. }) = self.stack.last()
            && text != "<<"
            && entries.get(&self.open_entries, &text).is_some()
        {
            return Err(YamlError::at(
                line,
                format!("duplicate mapping key `{text}`"),
            ));
        }
        let child = self.lines.key_child(parent, &text);
        if keeps_line {
            self.lines.nodes[child as usize].line = line as u32;
        }
        if let Some(Frame::Map { key, key_node, .. }) = self.stack.last_mut() {
            *key = Some(text);
            *key_node = child;
        }
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), YamlError> {
        let line = event.start_mark.line as usize + 1;
        let index = event.start_mark.index as usize;
        let is_sequence = matches!(event.data, EventData::SequenceStart { .. });
        if let Some((start_line, start_index)) = self.doc_start {
            // An oversized document fails as soon as the parser passes the limit, not after
            // the whole of it is built.
            let end = event.end_mark.index as usize;
            let size = end.saturating_sub(start_index);
            if size > self.limits.max_document_bytes {
                return Err(self.too_big(start_line, None));
            }
        }
        if matches!(self.stack.last(), Some(Frame::Digest { .. })) {
            return self.digest_event(event.data, is_sequence, line);
        }
        match event.data {
            EventData::DocumentStart { .. } => {
                self.lines.clear();
                // Anchors belong to their document (YAML 1.2, 3.2.2.2), as in go-yaml.
                self.anchors.clear();
                self.object_root = ObjectRoot::default();
                self.doc_start = Some((line, index));
            }
            EventData::DocumentEnd { .. } => {
                self.finish_document(line, index)?;
            }
            EventData::Scalar {
                anchor,
                tag,
                value: text,
                style,
                ..
            } => {
                let place = self.next_place();
                let slot = self.next_slot();
                self.count(1, false, line)?;
                let node = match slot {
                    Slot::Key { parent } => {
                        return self.set_key(parent, text, line, true);
                    }
                    Slot::Value { node } => node,
                };
                let value = resolve_scalar(text, style, tag, line)?;
                self.lines.keep_first(node, line as u32);
                self.remember(anchor, node, &value, 1, line)?;
                self.push_value(value, place, line)?;
            }
            EventData::Alias { anchor: name } => {
                let place = self.next_place();
                let slot = self.next_slot();
                let Some(anchor) = self.anchors.get(&name) else {
                    return Err(YamlError::at(
                        line,
                        format!("alias to an unknown anchor `{name}`"),
                    ));
                };
                let (nodes, line_count) = (anchor.nodes, anchor.line_count);
                // Counted before the copy is made: a bomb fails here, not after allocating.
                self.count(nodes + line_count, true, line)?;
                let value = match &self.anchors[&name].value {
                    // A collection where none is read is kept as its digest, aliased or not.
                    Anchored::Built(value @ (Value::Array(_) | Value::Object(_)))
                        if place == Place::Unread =>
                    {
                        Digest::marker(Digest::of(value))
                    }
                    Anchored::Built(value) => value.clone(),
                    Anchored::Digested(digest) if place == Place::Unread => Digest::marker(*digest),
                    Anchored::Digested(_) => {
                        return Err(self.needs_full_read(&format!("alias `{name}`"), line));
                    }
                };
                let node = match slot {
                    Slot::Key { parent } => {
                        let key = match value {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        // An alias key's node takes its line from its value.
                        return self.set_key(parent, key, line, false);
                    }
                    Slot::Value { node } => node,
                };
                if let Some(anchor) = self.anchors.get(&name) {
                    self.lines.graft(node, &anchor.lines);
                }
                self.push_value(value, place, line)?;
            }
            EventData::SequenceStart { anchor, .. } | EventData::MappingStart { anchor, .. } => {
                let place = self.next_place();
                let Slot::Value { node } = self.next_slot() else {
                    return Err(YamlError::at(
                        line,
                        "complex mapping keys are not supported",
                    ));
                };
                self.enter(line)?;
                self.lines.keep_first(node, line as u32);
                self.stack.push(match place {
                    Place::Unread | Place::Dropped => {
                        self.digest_frame(is_sequence, node, anchor, place == Place::Dropped)
                    }
                    _ if is_sequence => Frame::Seq {
                        items_from: self.open_items.len(),
                        node,
                        anchor,
                        place,
                    },
                    _ => Frame::Map {
                        entries: MapEntries::Stacked {
                            from: self.open_entries.len(),
                        },
                        key: None,
                        key_node: NONE,
                        node,
                        anchor,
                        merges: Vec::new(),
                        place,
                    },
                });
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let (value, node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items_from,
                        node,
                        anchor,
                        ..
                    }) => (
                        Value::Array(self.open_items.drain(items_from..).collect()),
                        node,
                        anchor,
                    ),
                    Some(Frame::Map {
                        entries,
                        node,
                        anchor,
                        merges,
                        ..
                    }) => {
                        let mut map = entries.finish(&mut self.open_entries);
                        merge_keys(&mut map, merges, line)?;
                        (Value::Object(map), node, anchor)
                    }
                    _ => return Err(YamlError::at(line, "unbalanced end of collection")),
                };
                if anchor.is_some() {
                    let nodes = count_nodes(&value);
                    self.remember(anchor, node, &value, nodes, line)?;
                }
                self.push_value(value, Place::Whole, line)?;
            }
            EventData::StreamStart { .. } | EventData::StreamEnd => {}
        }
        Ok(())
    }

    /// Checks the depth of a collection about to open and counts it.
    fn enter(&mut self, line: usize) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::at(
                line,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        self.count(1, false, line)
    }

    fn needs_full_read(&mut self, what: &str, line: usize) -> YamlError {
        self.needs_full_read = true;
        YamlError::at(line, format!("{what} needs content that was not built"))
    }

    fn digest_frame(
        &self,
        is_sequence: bool,
        node: u32,
        anchor: Option<String>,
        dropped: bool,
    ) -> Frame {
        let content = if is_sequence {
            DigestContent::Seq(SeqDigest::default())
        } else {
            DigestContent::Map {
                members: MapDigest::default(),
                key: None,
                keys_from: self.digest_keys.len(),
                many_keys: None,
            }
        };
        Frame::Digest {
            content,
            node,
            anchor,
            nodes: 1,
            dropped,
        }
    }

    /// One event inside a digested collection: hashed into it, nothing built.
    fn digest_event(
        &mut self,
        data: EventData,
        is_sequence: bool,
        line: usize,
    ) -> Result<(), YamlError> {
        let wants_key = matches!(
            self.stack.last(),
            Some(Frame::Digest {
                content: DigestContent::Map { key: None, .. },
                ..
            })
        );
        match data {
            EventData::Scalar {
                anchor,
                tag,
                value: text,
                style,
                ..
            } => {
                self.count(1, false, line)?;
                if wants_key {
                    return self.digest_key(&text, line);
                }
                let value = resolve_scalar(text, style, tag, line)?;
                let digest = Digest::scalar(&value);
                if let Some(anchor) = anchor {
                    self.remember_digested(anchor, Anchored::Built(value), 1, NONE);
                }
                self.digest_member(digest, 1);
            }
            EventData::Alias { anchor: name } => {
                let Some(anchor) = self.anchors.get(&name) else {
                    return Err(YamlError::at(
                        line,
                        format!("alias to an unknown anchor `{name}`"),
                    ));
                };
                let nodes = anchor.nodes;
                let (digest, key) = match &anchor.value {
                    Anchored::Built(Value::String(s)) => (Digest::str(s), Some(s.clone())),
                    Anchored::Built(value) => (Digest::of(value), Some(value.to_string())),
                    Anchored::Digested(digest) => (*digest, None),
                };
                self.count(nodes + anchor.line_count, true, line)?;
                if wants_key {
                    let Some(key) = key else {
                        return Err(self.needs_full_read(&format!("alias `{name}`"), line));
                    };
                    return self.digest_key(&key, line);
                }
                self.digest_member(digest, nodes);
            }
            EventData::SequenceStart { anchor, .. } | EventData::MappingStart { anchor, .. } => {
                if wants_key {
                    return Err(YamlError::at(
                        line,
                        "complex mapping keys are not supported",
                    ));
                }
                self.enter(line)?;
                let frame = self.digest_frame(is_sequence, NONE, anchor, false);
                self.stack.push(frame);
            }
            EventData::SequenceEnd | EventData::MappingEnd => self.finish_digest(line)?,
            // Only collections are digested, and documents and streams hold them.
            EventData::DocumentStart { .. }
            | EventData::DocumentEnd { .. }
            | EventData::StreamStart { .. }
            | EventData::StreamEnd => {}
        }
        Ok(())
    }

    /// Reads a key of the digested mapping on top of the stack; duplicate keys are an error
    /// there as anywhere.
    fn digest_key(&mut self, text: &str, line: usize) -> Result<(), YamlError> {
        if text == "<<" {
            // A merge adds the merged mapping's members one by one, and a digested anchor
            // has only a digest of the whole.
            return Err(self.needs_full_read("merge key `<<`", line));
        }
        let digest = Digest::str(text);
        let Some(Frame::Digest {
            content:
                DigestContent::Map {
                    key,
                    keys_from,
                    many_keys,
                    ..
                },
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        let seen = &self.digest_keys[*keys_from..];
        let duplicate = match many_keys {
            Some(set) => !set.insert(digest),
            None if seen.len() < SCANNED_KEY_DIGESTS_MAX => seen.contains(&digest),
            None => {
                // Past a few dozen keys a linear search would make a large mapping quadratic.
                let mut set: HashSet<u64> = seen.iter().copied().collect();
                let duplicate = !set.insert(digest);
                *many_keys = Some(set);
                duplicate
            }
        };
        if duplicate {
            return Err(YamlError::at(
                line,
                format!("duplicate mapping key `{text}`"),
            ));
        }
        *key = Some(digest);
        if many_keys.is_none() {
            self.digest_keys.push(digest);
        }
        Ok(())
    }

    /// Adds a value of `nodes` nodes to the digested collection on top of the stack.
    fn digest_member(&mut self, digest: u64, added: usize) {
        if let Some(Frame::Digest { content, nodes, .. }) = self.stack.last_mut() {
            *nodes += added;
            match content {
                DigestContent::Seq(items) => items.push(digest),
                DigestContent::Map { members, key, .. } => {
                    members.push(key.take().unwrap_or_default(), digest);
                }
            }
        }
    }

    /// Closes the digested collection on top of the stack: into its digested parent, or into
    /// the object as its digest.
    fn finish_digest(&mut self, line: usize) -> Result<(), YamlError> {
        let Some(Frame::Digest {
            content,
            node,
            anchor,
            nodes,
            dropped,
        }) = self.stack.pop()
        else {
            return Err(YamlError::at(line, "unbalanced end of collection"));
        };
        let digest = match content {
            DigestContent::Seq(items) => items.finish(),
            DigestContent::Map {
                members, keys_from, ..
            } => {
                self.digest_keys.truncate(keys_from);
                members.finish()
            }
        };
        if let Some(anchor) = anchor {
            self.remember_digested(anchor, Anchored::Digested(digest), nodes, node);
        }
        if matches!(self.stack.last(), Some(Frame::Digest { .. })) {
            self.digest_member(digest, nodes);
            return Ok(());
        }
        let place = if dropped {
            Place::Dropped
        } else {
            Place::Unread
        };
        self.push_value(Digest::marker(digest), place, line)
    }

    /// Keeps an anchor of a digested collection, or met inside one. Only the root of a
    /// digested collection has a line node (`node`); nothing below it does.
    fn remember_digested(&mut self, name: String, value: Anchored, nodes: usize, node: u32) {
        let (lines, line_count) = if node == NONE {
            (LineMap::default(), 0)
        } else {
            self.lines.subtree(node)
        };
        self.anchors.insert(
            name,
            Anchor {
                value,
                lines,
                line_count,
                nodes,
            },
        );
    }

    /// Keeps a copy of an anchored node for its aliases. The copy costs memory like any other
    /// node, so it counts (nested anchors would otherwise copy a document once per level).
    fn remember(
        &mut self,
        anchor: Option<String>,
        node: u32,
        value: &Value,
        nodes: usize,
        line: usize,
    ) -> Result<(), YamlError> {
        let Some(anchor) = anchor else { return Ok(()) };
        self.count(nodes, true, line)?;
        let (lines, line_count) = self.lines.subtree(node);
        self.anchors.insert(
            anchor,
            Anchor {
                value: Anchored::Built(value.clone()),
                lines,
                line_count,
                nodes,
            },
        );
        Ok(())
    }

    fn too_big(&self, start_line: usize, size: Option<usize>) -> YamlError {
        let size = size.map_or_else(String::new, |s| format!("{s} bytes, "));
        YamlError::at(
            start_line,
            format!(
                "document is {size}over the API server's limit of {} bytes",
                self.limits.max_document_bytes
            ),
        )
    }

    /// Puts a value where it belongs: the document's root, the next item, or the value of the
    /// key just read. A value at a [`Place::Dropped`] place is left out, with its key.
    fn push_value(&mut self, value: Value, place: Place, line: usize) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { .. }) => self.open_items.push(value),
            Some(Frame::Map {
                entries,
                key,
                merges,
                place: map_place,
                ..
            }) => {
                let key = key.take().unwrap_or_default();
                if place == Place::Dropped {
                    return Ok(());
                }
                if key == "<<" {
                    if *map_place != Place::Whole {
                        // Merged members land where parts may be pruned, by their own keys:
                        // projecting them needs the merge built first.
                        return Err(self.needs_full_read("merge key `<<`", line));
                    }
                    merges.push(value);
                } else {
                    entries.push(&mut self.open_entries, key, value);
                }
            }
            Some(Frame::Digest { .. }) => {}
        }
        Ok(())
    }

    fn finish_document(&mut self, line: usize, end_index: usize) -> Result<(), YamlError> {
        let (start_line, start_index) = self.doc_start.take().unwrap_or((line, 0));
        let size = end_index.saturating_sub(start_index);
        if size > self.limits.max_document_bytes {
            return Err(self.too_big(start_line, Some(size)));
        }
        let mut value = self.root.take().unwrap_or(Value::Null);
        if let Some(projection) = &self.projection {
            value = self.object_root.finish(projection, value);
        }
        let start_line = self.lines.line_of("").unwrap_or(start_line as u32);
        // A copy, sized to the document: the builder's own map keeps its capacity for the
        // next document instead of growing from empty for each one.
        self.documents.push(YamlDocument {
            value,
            lines: self.lines.clone(),
            start_line,
        });
        Ok(())
    }
}

/// Applies `<<` merges: keys already in the mapping win, earlier merge sources win over later.
fn merge_keys(
    map: &mut Map<String, Value>,
    merges: Vec<Value>,
    line: usize,
) -> Result<(), YamlError> {
    for merge in merges {
        let sources = match merge {
            Value::Array(items) => items,
            other => vec![other],
        };
        for source in sources {
            let Value::Object(source) = source else {
                return Err(YamlError::at(
                    line,
                    "`<<` merge value must be a mapping or a list of mappings",
                ));
            };
            for (key, value) in source {
                map.entry(key).or_insert(value);
            }
        }
    }
    Ok(())
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(|v| 1 + count_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// A scalar's value: by its tag if it has one, else by the core schema.
#[inline]
fn resolve_scalar(
    text: String,
    style: ScalarStyle,
    tag: Option<String>,
    line: usize,
) -> Result<Value, YamlError> {
    match tag {
        None => Ok(scalar_value(text, style)),
        Some(tag) => tagged_value(text, style, &tag, line),
    }
}

/// Resolves an untagged scalar with the YAML 1.2 core schema (what `kubectl` users expect of
/// JSON-ish YAML). Where go-yaml v2 (YAML 1.1, behind sigs.k8s.io/yaml) reads more (`yes`,
/// `0777` as octal, `1_000`), the core schema's reading is kept; `.inf` and `.nan` stay strings,
/// since JSON has no such numbers.
fn scalar_value(text: String, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text);
    }
    if let Some(literal) = core_literal(&text) {
        return literal;
    }
    // Most plain scalars are names, images and quantities: one byte tells them from numbers.
    if !matches!(
        text.as_bytes().first(),
        Some(b'0'..=b'9' | b'-' | b'+' | b'.')
    ) {
        return Value::String(text);
    }
    if let Some(n) = core_int(&text) {
        return n;
    }
    if let Some(n) = core_float(&text).and_then(serde_json::Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text)
}

/// Resolves a scalar with an explicit tag. A core tag (`!!int`, `!!float`, `!!bool`, `!!null`,
/// `!!str`) decides the type whatever the style, as in go-yaml: `!!int "3"` is 3, and text the
/// tag does not fit is an error rather than a string the rules would read as something else.
/// Other tags (custom ones, `!`) leave the scalar to resolve as if untagged.
// Few scalars carry a tag: this stays out of the event loop it is called from.
#[cold]
#[inline(never)]
fn tagged_value(
    text: String,
    style: ScalarStyle,
    tag: &str,
    line: usize,
) -> Result<Value, YamlError> {
    use libyaml_safer::{BOOL_TAG, FLOAT_TAG, INT_TAG, NULL_TAG};
    let refused = |name: &str, wanted: &str| {
        YamlError::at(
            line,
            format!("`{text}` is tagged `!!{name}` but is not {wanted}"),
        )
    };
    match tag {
        INT_TAG => core_int(&text).ok_or_else(|| refused("int", "a 64-bit integer")),
        FLOAT_TAG => {
            let float = match core_int(&text) {
                Some(Value::Number(n)) => n.as_f64(),
                _ => core_float(&text),
            };
            float
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| refused("float", "a finite number"))
        }
        BOOL_TAG => core_literal(&text)
            .filter(Value::is_boolean)
            .ok_or_else(|| refused("bool", "`true` or `false`")),
        NULL_TAG => core_literal(&text)
            .filter(Value::is_null)
            .ok_or_else(|| refused("null", "`null`, `~` or empty")),
        // `!!str` after a `%TAG` directive that rebinds `!!` still ends in `:str`.
        _ if tag.ends_with(":str") => Ok(Value::String(text)),
        _ => Ok(scalar_value(text, style)),
    }
}

/// A core-schema null or boolean.
fn core_literal(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// A core-schema integer: `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`. `None` for other
/// text and for integers beyond `i64` and `u64` (an untagged one then reads as a float).
fn core_int(text: &str) -> Option<Value> {
    let (radix, digits) = match text.as_bytes() {
        [b'0', b'x', ..] => (16, &text[2..]),
        [b'0', b'o', ..] => (8, &text[2..]),
        _ => {
            let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return match text.parse::<i64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) => text.parse::<u64>().ok().map(Value::from),
            };
        }
    };
    // Checked here: `from_str_radix` would also take a sign after the prefix.
    if digits.is_empty() || !digits.bytes().all(|b| char::from(b).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok().map(Value::from)
}

/// A core-schema float other than `.inf` and `.nan`, which JSON cannot hold.
fn core_float(text: &str) -> Option<f64> {
    let numeric = text.trim_start_matches(['-', '+']);
    let looks_float = numeric.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && numeric
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && numeric.bytes().any(|b| b.is_ascii_digit());
    if looks_float { text.parse().ok() } else { None }
}

/// Keeps the panic messages of libyaml-safer's known panics (upstream #6 and #7) off stderr:
/// [`parse_documents`] catches them and returns a `file:line` error, so their message is noise.
/// Every other panic still reaches the hook that was installed before. For binaries (and fuzz
/// targets) to call once at start; the engine itself never touches the global hook.
pub fn quiet_parser_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("libyaml-safer"))
            {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Vec<YamlDocument> {
        parse_documents(text, &Limits::default()).unwrap()
    }

    #[test]
    fn tokens_escape_as_rfc_6901_says() {
        for (token, escaped) in [
            ("plain", "plain"),
            ("app.kubernetes.io/name", "app.kubernetes.io~1name"),
            ("~1", "~01"),
            ("a/~b/", "a~1~0b~1"),
            ("ünïcode/é", "ünïcode~1é"),
            ("", ""),
        ] {
            assert_eq!(escape_token(token), escaped);
            assert_eq!(
                matches!(escape_token(token), std::borrow::Cow::Borrowed(_)),
                token == escaped
            );
        }
    }

    #[test]
    fn multi_document_with_empty_and_end_markers() {
        let docs = parse("---\na: 1\n...\n---\n---\nb: two\n");
        let values: Vec<_> = docs.iter().map(|d| d.value.clone()).collect();
        assert_eq!(
            values,
            vec![json!({"a": 1}), Value::Null, json!({"b": "two"})]
        );
    }

    #[test]
    fn lines_follow_pointers() {
        let docs = parse(
            "kind: Pod\nspec:\n  containers:\n  - name: a\n    resources:\n      limits: {memory: 1Gi}\n",
        );
        let lines = &docs[0].lines;
        assert_eq!(lines.line_of("/kind"), Some(1));
        assert_eq!(lines.line_of("/spec/containers/0/name"), Some(4));
        assert_eq!(
            lines.line_of("/spec/containers/0/resources/limits/memory"),
            Some(6)
        );
        assert_eq!(
            lines.line_of("/spec/containers/0/resources/limits/cpu"),
            Some(6)
        );
    }

    /// Items past the walked ones are found through the index, in the document and in
    /// copies of it made for an alias; numeric mapping keys are still names.
    #[test]
    fn items_of_long_sequences_have_their_lines() {
        use std::fmt::Write as _;
        let mut text = String::from("items: &all\n");
        for i in 0..100 {
            let _ = writeln!(text, "- {{name: item{i}}}");
        }
        text.push_str("copy: *all\nkeys: {\"40\": a, \"041\": b}\n");
        let lines = &parse(&text)[0].lines;
        for index in [0, 31, 32, 33, 99] {
            let line = Some(index + 2);
            assert_eq!(
                lines.line_of(&format!("/items/{index}/name")),
                line,
                "{index}"
            );
            // The alias's copy points at the anchor's lines.
            assert_eq!(lines.line_of(&format!("/copy/{index}")), line, "{index}");
        }
        assert_eq!(lines.line_of("/items/100"), Some(1));
        assert_eq!(lines.line_of("/items/032"), Some(1));
        assert_eq!(lines.line_of("/keys/40"), Some(103));
        assert_eq!(lines.line_of("/keys/041"), Some(103));
    }

    #[test]
    fn line_map_holds_every_pointer_once() {
        let docs =
            parse("a:\n  b: [1, {c: 2}]\n  k/x~y:\n    - q\nd: &x\n  e: 3\nf: *x\ng:\n- *x\n");
        let mut entries = docs[0].lines.entries();
        entries.sort();
        let expected: Vec<(String, u32)> = [
            ("", 1),
            ("/a", 1),
            ("/a/b", 2),
            ("/a/b/0", 2),
            ("/a/b/1", 2),
            ("/a/b/1/c", 2),
            ("/a/k~1x~0y", 3),
            ("/a/k~1x~0y/0", 4),
            ("/d", 5),
            ("/d/e", 6),
            ("/f", 5),
            ("/f/e", 6),
            ("/g", 8),
            ("/g/0", 5),
            ("/g/0/e", 6),
        ]
        .into_iter()
        .map(|(p, l)| (p.to_owned(), l))
        .collect();
        assert_eq!(entries, expected);
        assert_eq!(
            docs[0].lines.line_of("/a/b/01"),
            Some(2),
            "no such item: /a/b"
        );
        assert_eq!(docs[0].lines.line_of("/g/0/e/z"), Some(6));
    }

    #[test]
    fn inserted_pointers_read_back_as_strings_would() {
        let mut lines = LineMap::default();
        lines.insert("/a/0".into(), 3);
        lines.insert("odd/x".into(), 9);
        assert_eq!(lines.line_of("/a/0/b"), Some(3));
        assert_eq!(lines.line_of("/a/00"), None);
        assert_eq!(lines.line_of(""), None);
        assert_eq!(lines.line_of("odd/x/y"), Some(9));
        lines.insert(String::new(), 1);
        assert_eq!(lines.line_of("/a/00"), Some(1));
        lines.remap(|l| (l != 3).then_some(l + 10));
        assert_eq!(lines.line_of("/a/0"), Some(11));
        assert_eq!(lines.line_of("odd/x"), Some(19));
        let mut other = LineMap::default();
        other.insert("odd/x".into(), 19);
        other.insert(String::new(), 11);
        assert_eq!(lines, other);
    }

    #[test]
    fn merge_keys_expand_and_point_at_the_anchor() {
        let docs = parse(
            "defaults: &res\n  limits:\n    memory: 256Mi\nmain:\n  <<: *res\n  name: main\nside: *res\n",
        );
        let doc = &docs[0];
        assert_eq!(doc.value["main"]["limits"]["memory"], json!("256Mi"));
        assert_eq!(doc.value["side"]["limits"]["memory"], json!("256Mi"));
        assert_eq!(doc.lines.line_of("/side/limits/memory"), Some(3));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let docs = parse("a: 1\nb: '1'\nc: 0.5\nd: 200m\ne: ~\nf: true\ng: 1e3\nh: !!str 5\n");
        assert_eq!(
            docs[0].value,
            json!({"a": 1, "b": "1", "c": 0.5, "d": "200m", "e": null, "f": true, "g": 1000.0, "h": "5"})
        );
    }

    /// The core schema's hexadecimal and octal integers and its explicit tags read as the
    /// cluster reads them (go-yaml); where YAML 1.1 reads more than the core schema, the core
    /// schema's reading stays.
    #[test]
    fn core_integers_and_tags_resolve_as_the_cluster_reads_them() {
        for (text, value) in [
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0xffffffffffffffff", json!(u64::MAX)),
            ("!!int \"3\"", json!(3)),
            ("!!int '0x1F'", json!(31)),
            ("!!int -3", json!(-3)),
            ("!!float 1", json!(1.0)),
            ("!!float \"2.5\"", json!(2.5)),
            ("!!float 0o10", json!(8.0)),
            ("!!bool \"true\"", json!(true)),
            ("!!bool False", json!(false)),
            ("!!null ''", Value::Null),
            ("!!null ~", Value::Null),
            ("!!str 0x1F", json!("0x1F")),
            ("!!str true", json!("true")),
            ("!<tag:yaml.org,2002:int> '7'", json!(7)),
            // Other tags leave the scalar as untagged.
            ("!custom 3", json!(3)),
            ("!custom '3'", json!("3")),
            // Not core-schema integers.
            ("0x", json!("0x")),
            ("0o8", json!("0o8")),
            ("0x+1", json!("0x+1")),
            ("-0x1F", json!("-0x1F")),
            ("0X1F", json!("0X1F")),
            ("0b101", json!("0b101")),
            ("0x1_F", json!("0x1_F")),
            ("0x1ffffffffffffffff", json!("0x1ffffffffffffffff")),
            // As before: the core schema's reading where YAML 1.1 differs.
            ("~", Value::Null),
            ("Null", Value::Null),
            ("TRUE", json!(true)),
            ("yes", json!("yes")),
            ("off", json!("off")),
            (".inf", json!(".inf")),
            (".nan", json!(".nan")),
            ("1_000", json!("1_000")),
            ("+1", json!(1)),
            ("0777", json!(777)),
            ("99999999999999999999", json!(1e20)),
        ] {
            let docs = parse(&format!("v: {text}\n"));
            assert_eq!(docs[0].value["v"], value, "{text}");
        }
    }

    /// A value whose core tag does not fit it is an error at its line, in what the rules read
    /// and in what is only digested.
    #[test]
    fn core_tags_that_do_not_fit_are_errors() {
        for (text, message) in [
            (
                "!!int three",
                "`three` is tagged `!!int` but is not a 64-bit integer",
            ),
            ("!!int 1.5", "`1.5` is tagged `!!int`"),
            ("!!int 99999999999999999999", "is not a 64-bit integer"),
            (
                "!!float .inf",
                "`.inf` is tagged `!!float` but is not a finite number",
            ),
            ("!!float x", "is not a finite number"),
            (
                "!!bool yes",
                "`yes` is tagged `!!bool` but is not `true` or `false`",
            ),
            ("!!null 0", "`0` is tagged `!!null`"),
        ] {
            let err = parse_documents(&format!("a: 1\nv: {text}\n"), &Limits::default());
            let err = err.unwrap_err();
            assert_eq!(err.line, Some(2), "{text}: {err}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
        let policy = crate::Policy::default();
        let files = Projection::files(&policy);
        let workload = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: !!int \"3\"\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - {name: A, value: !!int x}\n";
        let err = parse_manifests(workload, &Limits::default(), &files).unwrap_err();
        assert_eq!(err.line, Some(10), "{err}");
        let fixed = workload.replace("!!int x", "!!int '0x10'");
        let read = parse_manifests(&fixed, &Limits::default(), &files).unwrap();
        assert_eq!(read[0].value["spec"]["replicas"], json!(3));
        let full = parse_documents(&fixed, &Limits::default()).unwrap();
        assert_eq!(
            full[0].value["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            json!(16)
        );
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let prev = format!("*l{}", level - 1);
            let items = [prev.as_str(); 10].join(", ");
            writeln!(bomb, "l{level}: &l{level} [{items}]").unwrap();
        }
        let err = parse_documents(&bomb, &Limits::default()).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn errors_carry_lines() {
        let err = parse_documents("a: 1\nb: [1, 2\n", &Limits::default()).unwrap_err();
        assert!(err.line.is_some());
        let err = parse_documents("a: 1\na: 2\n", &Limits::default()).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("duplicate"));
        // At the repeated key, not where its value ends.
        let err = parse_documents("a: 1\na:\n  b: 1\n\n\nc: 2\n", &Limits::default());
        assert_eq!(err.unwrap_err().line, Some(2));
    }

    #[test]
    fn mappings_keep_their_order_and_refuse_duplicates_at_every_size() {
        // Nested mappings and sequences share the builder's stacks: each must get its own
        // members back, in order, whether it stays on the stack or outgrows it, and see only
        // its own keys (every inner mapping repeats the outer mapping's first key).
        for size in [
            1,
            STACKED_KEYS_MAX,
            STACKED_KEYS_MAX + 1,
            3 * STACKED_KEYS_MAX,
        ] {
            let keys: Vec<String> = (0..size).map(|i| format!("k{i}")).collect();
            let mut text = String::from("outer:\n");
            for key in &keys {
                writeln!(text, "  {key}: {{inner: [{key}, {{x: 1}}], n: 2, k0: 3}}").unwrap();
            }
            text.push_str("after: [1, 2]\n");
            let value = &parse(&text)[0].value;
            let outer = value["outer"].as_object().unwrap();
            assert_eq!(
                outer.keys().collect::<Vec<_>>(),
                keys.iter().collect::<Vec<_>>()
            );
            for key in &keys {
                assert_eq!(
                    outer[key],
                    json!({"inner": [key, {"x": 1}], "n": 2, "k0": 3}),
                    "{size}"
                );
            }
            assert_eq!(value["after"], json!([1, 2]));
            assert_eq!(value.as_object().unwrap().len(), 2);
            let lines = &parse(&text)[0].lines;
            for (index, key) in keys.iter().enumerate() {
                let line = index as u32 + 2;
                assert_eq!(
                    lines.line_of(&format!("/outer/{key}/inner/1/x")),
                    Some(line)
                );
            }
            assert_eq!(lines.line_of("/after/1"), Some(size as u32 + 2));
            // The first key again, last: refused at its own line.
            let text = text.replace("after: [1, 2]\n", "  k0: again\n");
            let err = parse_documents(&text, &Limits::default()).unwrap_err();
            assert_eq!(err.line, Some(size as u32 + 2), "{size}: {err}");
            assert!(err.message.contains("`k0`"), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(500) + &"]".repeat(500);
        // saphyr's own recursion guard or ours, whichever trips first: a clear error with a line.
        let err = parse_documents(&text, &Limits::default()).unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        let shallow = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let err = parse_documents("a: {b: {c: {d: 1}}}", &shallow).unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
    }

    #[test]
    fn json_reads_with_lines() {
        let docs = parse("{\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"x\"}\n}\n");
        assert_eq!(docs[0].value["metadata"]["name"], json!("x"));
        assert_eq!(docs[0].lines.line_of("/metadata/name"), Some(3));
    }

    // See: fuzz crash libyaml-safer panics on a tag directly followed by `,` in a flow
    // collection ("TODO: What is expected here?", simonask/libyaml-safer#7)
    #[test]
    fn parser_panic_on_tag_before_comma_is_an_error() {
        for text in ["[!,", "a: [x,!x, x]\n", "a: &a [x, x]\nb: [*a,!x, *a]\n"] {
            let err = parse_documents(text, &Limits::default()).unwrap_err();
            assert!(err.message.contains("YAML parser"), "{text:?}: {err}");
            assert!(err.line.is_some(), "{text:?}: {err}");
        }
    }

    // See: fuzz crash libyaml-safer panics with "unexpected end of input" on a block scalar
    // indicator after a quoted scalar (simonask/libyaml-safer#6)
    #[test]
    fn parser_panic_on_block_indicator_after_quote_is_an_error() {
        let err = parse_documents("a: ''|\n 0", &Limits::default()).unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
    }

    /// The classic bomb fails on the alias ratio after a few thousand nodes, long before the
    /// node limit would have let it allocate millions.
    #[test]
    fn alias_bomb_fails_early_on_the_alias_ratio() {
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let prev = format!("*l{}", level - 1);
            let items = [prev.as_str(); 10].join(", ");
            writeln!(bomb, "l{level}: &l{level} [{items}]").unwrap();
        }
        let err = parse_documents(&bomb, &Limits::default()).unwrap_err();
        assert!(err.message.contains("from aliases"), "{err}");
        assert!(err.line.is_some_and(|l| l <= 5), "{err}");
    }

    /// Anchors nested in anchors copy the document once per level: the copies count.
    #[test]
    fn nested_anchor_copies_count_against_the_limit() {
        let mut text = String::new();
        for k in 0..100 {
            writeln!(text, "{}k{k}: &n{k}", "  ".repeat(k)).unwrap();
        }
        writeln!(text, "{}v: [{}1]", "  ".repeat(100), "1, ".repeat(20_000)).unwrap();
        let Err(err) = parse_documents(&text, &Limits::default()) else {
            panic!("100 nested anchors over 20,000 items were read");
        };
        assert!(err.message.contains("from aliases"), "{err}");
    }

    /// Ordinary anchors, merge keys and aliases stay far inside the ratio.
    #[test]
    fn ordinary_aliasing_is_accepted() {
        let mut text = String::from("defaults: &d {cpu: 100m, memory: 128Mi}\nitems:\n");
        for i in 0..2000 {
            writeln!(text, "- {{name: c{i}, resources: *d}}").unwrap();
        }
        let docs = parse(&text);
        assert_eq!(
            docs[0].value["items"][1999]["resources"]["memory"],
            json!("128Mi")
        );
    }

    /// An oversized document fails once the parser passes the limit, at its first line.
    #[test]
    fn oversized_document_fails_early_with_its_line() {
        let small = Limits {
            max_document_bytes: 100,
            ..Limits::default()
        };
        let text = format!("a: 1\n---\n{}", "k: v\n".repeat(30).replace("k:", "- k:"));
        let err = parse_documents(&text, &small).unwrap_err();
        assert_eq!(err.line, Some(2), "the document's `---` line: {err}");
        assert!(
            err.message
                .contains("over the API server's limit of 100 bytes"),
            "{err}"
        );
    }

    /// A DaemonSet with what makes libyaml-safer read a `\r\n` as two line breaks: plain
    /// values at line ends, a block scalar, a quoted scalar over two lines, a comment.
    const CRLF_DAEMONSET: &str = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent # the node agent\n  annotations:\n    note: |\n      first\n      second\n\n    folded: \"a\n      b\"\nspec:\n  template:\n    spec:\n      containers:\n      - name: agent\n        image: agent:1\n        env: [{name: A, value: x}]\n      - name: side\n        image: side:1\n        resources:\n          requests: {cpu: 10m}\n";

    /// Lines that a finding names and the renderers quote (counting `\n`) are the file's own
    /// in a CRLF file, and the values are those of the same file with LF line breaks.
    #[test]
    fn crlf_files_read_as_their_lf_twins() {
        let crlf = CRLF_DAEMONSET.replace('\n', "\r\n");
        let policy = crate::Policy::default();
        let files = Projection::files(&policy);
        let limits = Limits::default();
        let lf = parse_manifests(CRLF_DAEMONSET, &limits, &files).unwrap();
        let read = parse_manifests(&crlf, &limits, &files).unwrap();
        let lines = &read[0].lines;
        // The pointer of the `side` container, which limits-missing names.
        assert_eq!(lines.line_of("/spec/template/spec/containers/1"), Some(19));
        assert_eq!(
            lines.line_of("/spec/template/spec/containers/1/resources/requests/cpu"),
            Some(22)
        );
        assert_eq!(read[0].value, lf[0].value);
        assert_eq!(read[0].lines, lf[0].lines);
        assert_eq!(
            read[0].value["metadata"]["annotations"],
            json!({"note": "first\nsecond\n", "folded": "a b"})
        );
        let full = parse_documents(&crlf, &limits).unwrap();
        let full_lf = parse_documents(CRLF_DAEMONSET, &limits).unwrap();
        assert_eq!(full[0].value, full_lf[0].value);
        assert_eq!(full[0].lines, full_lf[0].lines);
        // A lone `\r` is not a line break to the renderers; it is left to the parser.
        let lone = parse("a: 1\rb: 2\n");
        assert_eq!(lone[0].value, json!({"a": 1, "b": 2}));
    }

    #[test]
    fn crlf_errors_name_the_files_line() {
        for (text, line) in [
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"x}\n",
                4,
            ),
            ("a: 1\nb: |\n  x\n  y\nc: 3\na: 4\n", 6),
            ("a: 1\nb: 2\nc: *nope\n", 3),
        ] {
            let lf = parse_documents(text, &Limits::default()).unwrap_err();
            let crlf = parse_documents(&text.replace('\n', "\r\n"), &Limits::default());
            let crlf = crlf.unwrap_err();
            assert_eq!(lf.line, Some(line), "{text:?}: {lf}");
            assert_eq!(crlf, lf, "{text:?}");
        }
    }

    /// The document size limit counts the file's bytes, `\r` included: the reader parses a
    /// copy without them.
    #[test]
    fn crlf_document_sizes_are_the_files() {
        let text = "a: 1\n---\n".to_owned() + &"- k: v\n".repeat(12);
        let limits = |max_document_bytes| Limits {
            max_document_bytes,
            ..Limits::default()
        };
        // From `---` on: 4 + 7 * 12 = 88 bytes with LF, 5 + 8 * 12 = 101 with CRLF.
        assert!(parse_documents(&text, &limits(90)).is_ok());
        let crlf = text.replace('\n', "\r\n");
        assert!(parse_documents(&crlf, &limits(110)).is_ok());
        let err = parse_documents(&crlf, &limits(90)).unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.message.contains("limit of 90 bytes"), "{err}");
    }

    /// A character YAML does not allow is reported at its own line: the parser's error has
    /// no mark, only a byte offset.
    #[test]
    fn control_characters_are_refused_at_their_line() {
        for (text, line) in [
            ("\x07a: 1\n", 1),
            ("a: 1\n\x07", 2),
            ("a: 1\nb: 2\nc: \"x\x07\"\n", 3),
            ("a: 1\n# \u{0}\n", 2),
            ("a: |\n  x\n\n  \u{7f}\n", 4),
            // A C1 control: two bytes in UTF-8.
            ("a: é\nb: \u{80}\n", 2),
            ("\u{feff}a: 1\n\x07", 2),
            ("a: 1\r\nb: x\r\nc: \x1b\r\n", 3),
        ] {
            let err = parse_documents(text, &Limits::default()).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(
                err.message.contains("control characters"),
                "{text:?}: {err}"
            );
        }
    }

    /// Anchors are scoped to their document.
    #[test]
    fn aliases_do_not_reach_into_earlier_documents() {
        let err = parse_documents("a: &x 1\n---\nb: *x\n", &Limits::default()).unwrap_err();
        assert!(err.message.contains("unknown anchor"), "{err}");
        assert_eq!(err.line, Some(3));
    }
}
