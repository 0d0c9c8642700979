//! `raw-parse`: the baseline of the CLI benchmark. Reads the same files as `changelint audit`
//! and parses them with the same YAML parser (`libyaml-safer`), on every core, and does nothing
//! else: no values, no lines, no rules.
//!
//! ```text
//! raw-parse [--tree] [--threads N] PATH...
//! ```
//!
//! By default it only pulls the parser's events (the floor of any YAML reader built on it).
//! `--tree` also builds a `serde_json::Value` per document (what a reader must at least do),
//! without line numbers, anchors or limits.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result, bail};

/// The allocator of the `changelint` binary, so that the baseline is the parser as changelint
/// runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use libyaml_safer::{EventData, Parser};
use serde_json::{Map, Value};

fn main() -> Result<()> {
    let mut tree = false;
    let mut threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut roots = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tree" => tree = true,
            "--threads" => {
                threads = args
                    .next()
                    .context("--threads needs a value")?
                    .parse()
                    .context("--threads")?;
            }
            _ => roots.push(PathBuf::from(arg)),
        }
    }
    if roots.is_empty() {
        bail!("usage: raw-parse [--tree] [--threads N] PATH...");
    }
    let mut files = Vec::new();
    for root in &roots {
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry?;
            let is_manifest = entry
                .path()
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json");
            if entry.file_type().is_file() && is_manifest {
                files.push(entry.into_path());
            }
        }
    }
    let next = AtomicUsize::new(0);
    let totals = Mutex::new((0usize, 0usize));
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let (mut events, mut documents) = (0, 0);
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(index) else { break };
                    match parse(path, tree) {
                        Ok((e, d)) => {
                            events += e;
                            documents += d;
                        }
                        Err(error) => {
                            *failure.lock().expect("lock") = Some(error);
                            break;
                        }
                    }
                }
                let mut totals = totals.lock().expect("lock");
                totals.0 += events;
                totals.1 += documents;
            });
        }
    });
    if let Some(error) = failure.into_inner().expect("lock") {
        return Err(error);
    }
    let (events, documents) = totals.into_inner().expect("lock");
    eprintln!(
        "raw-parse: {} files, {documents} documents, {events} events",
        files.len()
    );
    Ok(())
}

/// Parses one file; returns its event and document counts.
fn parse(path: &PathBuf, tree: bool) -> Result<(usize, usize)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let mut input = bytes.as_slice();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut builder = Builder::default();
    let (mut events, mut documents) = (0, 0);
    loop {
        let event = parser
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        events += 1;
        match event.data {
            EventData::StreamEnd => break,
            EventData::DocumentEnd { .. } => documents += 1,
            data if tree => builder.event(data),
            _ => {}
        }
    }
    std::hint::black_box(&builder.documents);
    Ok((events, documents))
}

/// The least tree builder: scalars as strings, no lines, no anchors, no limits.
#[derive(Default)]
struct Builder {
    stack: Vec<(Value, Option<String>)>,
    documents: Vec<Value>,
}

impl Builder {
    fn event(&mut self, data: EventData) {
        let value = match data {
            EventData::Scalar { value, .. } => {
                if let Some((Value::Object(_), key @ None)) = self.stack.last_mut() {
                    *key = Some(value);
                    return;
                }
                Value::String(value)
            }
            EventData::SequenceStart { .. } => {
                self.stack.push((Value::Array(Vec::new()), None));
                return;
            }
            EventData::MappingStart { .. } => {
                self.stack.push((Value::Object(Map::new()), None));
                return;
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                self.stack.pop().map_or(Value::Null, |(value, _)| value)
            }
            _ => return,
        };
        match self.stack.last_mut() {
            None => self.documents.push(value),
            Some((Value::Array(items), _)) => items.push(value),
            Some((Value::Object(map), key)) => {
                map.insert(key.take().unwrap_or_default(), value);
            }
            Some(_) => {}
        }
    }
}
