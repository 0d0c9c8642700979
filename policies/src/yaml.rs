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

use std::collections::HashMap;

use libyaml_safer::{Event, EventData, Parser, ScalarStyle};
use serde_json::{Map, Value};

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    lines: HashMap<String, u32>,
}

impl LineMap {
    /// The line of `pointer`, or of its nearest ancestor that has one.
    pub fn line_of(&self, pointer: &str) -> Option<u32> {
        let mut current = pointer;
        loop {
            if let Some(line) = self.lines.get(current) {
                return Some(*line);
            }
            let cut = current.rfind('/')?;
            current = &current[..cut];
        }
    }

    /// Records the line of a pointer.
    pub fn insert(&mut self, pointer: String, line: u32) {
        self.lines.insert(pointer, line);
    }

    /// Records a line unless the pointer has one: a block value's line is its key's line.
    fn keep_first(&mut self, pointer: String, line: u32) {
        self.lines.entry(pointer).or_insert(line);
    }

    /// Rewrites every line through `map` (a rebuilt text's lines back to the file's own);
    /// pointers whose line maps to nothing fall back to their ancestors.
    pub fn remap(&mut self, map: impl Fn(u32) -> Option<u32>) {
        self.lines = std::mem::take(&mut self.lines)
            .into_iter()
            .filter_map(|(pointer, line)| map(line).map(|line| (pointer, line)))
            .collect();
    }
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
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// Builds a JSON pointer from path tokens.
pub fn pointer_of<S: AsRef<str>>(tokens: &[S]) -> String {
    tokens.iter().fold(String::new(), |mut out, token| {
        out.push('/');
        out.push_str(&escape_token(token.as_ref()));
        out
    })
}

/// Reads every document of a YAML (or JSON) stream.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<YamlDocument>, YamlError> {
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
    let mut builder = Builder::new(*limits);
    let mut parser = Parser::new();
    let mut input = text.as_bytes();
    parser.set_input_string(&mut input);
    loop {
        let event = parser.parse().map_err(|e| {
            let line = e
                .problem_mark()
                .or(e.context_mark())
                .map_or(1, |m| m.line as usize + 1);
            let message = match e.context() {
                Some(context) => format!("{} {context}", e.problem()),
                None => e.problem().to_owned(),
            };
            YamlError::at(line, message)
        })?;
        if matches!(event.data, EventData::StreamEnd) {
            break;
        }
        builder.event(event)?;
    }
    Ok(builder.documents)
}

/// An anchored node, kept so that aliases can copy it with its lines.
struct Anchor {
    value: Value,
    /// (pointer relative to the anchored node, line)
    lines: Vec<(String, u32)>,
    nodes: usize,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: String,
        anchor: Option<String>,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        pointer: String,
        anchor: Option<String>,
        merges: Vec<Value>,
    },
}

struct Builder {
    limits: Limits,
    documents: Vec<YamlDocument>,
    stack: Vec<Frame>,
    anchors: HashMap<String, Anchor>,
    lines: LineMap,
    nodes: usize,
    doc_start: Option<(usize, usize)>,
    root: Option<Value>,
}

impl Builder {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            documents: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            lines: LineMap::default(),
            nodes: 0,
            doc_start: None,
            root: None,
        }
    }

    fn count(&mut self, nodes: usize, line: usize) -> Result<(), YamlError> {
        self.nodes += nodes;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::at(
                line,
                format!(
                    "document expands to more than {} nodes (an alias bomb?); refusing to read it",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// The pointer the next value will have, and whether it is a mapping key.
    fn next_pointer(&self) -> (String, bool) {
        match self.stack.last() {
            None => (String::new(), false),
            Some(Frame::Seq { items, pointer, .. }) => {
                (format!("{pointer}/{}", items.len()), false)
            }
            Some(Frame::Map { key: None, .. }) => (String::new(), true),
            Some(Frame::Map {
                key: Some(key),
                pointer,
                ..
            }) => (format!("{pointer}/{}", escape_token(key)), false),
        }
    }

    fn event(&mut self, event: Event) -> Result<(), YamlError> {
        let line = event.start_mark.line as usize + 1;
        let index = event.start_mark.index as usize;
        let is_sequence = matches!(event.data, EventData::SequenceStart { .. });
        match event.data {
            EventData::DocumentStart { .. } => {
                self.lines = LineMap::default();
                self.doc_start = Some((line, index));
            }
            EventData::DocumentEnd { .. } => self.finish_document(line, index)?,
            EventData::Scalar {
                anchor,
                tag,
                value: text,
                style,
                ..
            } => {
                let (pointer, is_key) = self.next_pointer();
                self.count(1, line)?;
                if is_key {
                    if let Some(Frame::Map {
                        key,
                        pointer: map_pointer,
                        ..
                    }) = self.stack.last_mut()
                    {
                        let child = format!("{map_pointer}/{}", escape_token(&text));
                        *key = Some(text);
                        self.lines.insert(child, line as u32);
                    }
                    return Ok(());
                }
                let is_str_tag = tag
                    .as_deref()
                    .is_some_and(|t| t.ends_with(":str") || t == "!!str");
                let value = scalar_value(&text, style, is_str_tag);
                self.lines.keep_first(pointer.clone(), line as u32);
                self.remember(anchor, &pointer, &value, 1);
                self.push_value(value, line)?;
            }
            EventData::Alias { anchor } => {
                let (pointer, is_key) = self.next_pointer();
                let Some(anchor) = self.anchors.get(&anchor) else {
                    return Err(YamlError::at(
                        line,
                        format!("alias to an unknown anchor `{anchor}`"),
                    ));
                };
                let (value, nodes) = (anchor.value.clone(), anchor.nodes);
                let lines: Vec<_> = anchor
                    .lines
                    .iter()
                    .map(|(rel, l)| (format!("{pointer}{rel}"), *l))
                    .collect();
                self.count(nodes + lines.len(), line)?;
                if is_key {
                    let key = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(Frame::Map { key: slot, .. }) = self.stack.last_mut() {
                        *slot = Some(key);
                    }
                    return Ok(());
                }
                for (p, l) in lines {
                    self.lines.insert(p, l);
                }
                self.push_value(value, line)?;
            }
            EventData::SequenceStart { anchor, .. } | EventData::MappingStart { anchor, .. } => {
                let (pointer, is_key) = self.next_pointer();
                if is_key {
                    return Err(YamlError::at(
                        line,
                        "complex mapping keys are not supported",
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(YamlError::at(
                        line,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                    ));
                }
                self.count(1, line)?;
                self.lines.keep_first(pointer.clone(), line as u32);
                self.stack.push(if is_sequence {
                    Frame::Seq {
                        items: Vec::new(),
                        pointer,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        key: None,
                        pointer,
                        anchor,
                        merges: Vec::new(),
                    }
                });
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(YamlError::at(line, "unbalanced end of collection"));
                };
                let (value, pointer, anchor) = match frame {
                    Frame::Seq {
                        items,
                        pointer,
                        anchor,
                    } => (Value::Array(items), pointer, anchor),
                    Frame::Map {
                        mut map,
                        pointer,
                        anchor,
                        merges,
                        ..
                    } => {
                        merge_keys(&mut map, merges, line)?;
                        (Value::Object(map), pointer, anchor)
                    }
                };
                if anchor.is_some() {
                    let nodes = count_nodes(&value);
                    self.remember(anchor, &pointer, &value, nodes);
                }
                self.push_value(value, line)?;
            }
            EventData::StreamStart { .. } | EventData::StreamEnd => {}
        }
        Ok(())
    }

    fn remember(&mut self, anchor: Option<String>, pointer: &str, value: &Value, nodes: usize) {
        let Some(anchor) = anchor else { return };
        let lines = self
            .lines
            .lines
            .iter()
            .filter_map(|(p, l)| {
                let rest = p.strip_prefix(pointer)?;
                (rest.is_empty() || rest.starts_with('/')).then(|| (rest.to_owned(), *l))
            })
            .collect();
        self.anchors.insert(
            anchor,
            Anchor {
                value: value.clone(),
                lines,
                nodes,
            },
        );
    }

    fn push_value(&mut self, value: Value, line: usize) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, key, merges, ..
            }) => {
                let key = key.take().unwrap_or_default();
                if key == "<<" {
                    merges.push(value);
                } else if map.insert(key.clone(), value).is_some() {
                    return Err(YamlError::at(
                        line,
                        format!("duplicate mapping key `{key}`"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn finish_document(&mut self, line: usize, end_index: usize) -> Result<(), YamlError> {
        let (start_line, start_index) = self.doc_start.take().unwrap_or((line, 0));
        let size = end_index.saturating_sub(start_index);
        if size > self.limits.max_document_bytes {
            return Err(YamlError::at(
                start_line,
                format!(
                    "document is {size} bytes, over the API server's limit of {} bytes",
                    self.limits.max_document_bytes
                ),
            ));
        }
        let value = self.root.take().unwrap_or(Value::Null);
        let start_line = self.lines.line_of("").unwrap_or(start_line as u32);
        self.documents.push(YamlDocument {
            value,
            lines: std::mem::take(&mut self.lines),
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

/// Resolves a scalar with the YAML 1.2 core schema (what `kubectl` users expect of JSON-ish YAML).
fn scalar_value(text: &str, style: ScalarStyle, forced_string: bool) -> Value {
    if style != ScalarStyle::Plain || forced_string {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let numeric = text.trim_start_matches(['-', '+']);
    if !numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::from(n);
        }
    }
    let looks_float = numeric.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && numeric
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && numeric.bytes().any(|b| b.is_ascii_digit());
    if looks_float {
        if let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
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
}
