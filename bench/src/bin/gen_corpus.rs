//! `gen-corpus`: writes the benchmark corpus.
//!
//! ```text
//! gen-corpus [--objects N] [--seed S] [--reviews] OUT_DIR
//! ```
//!
//! Writes `OUT_DIR/before/clusters/<cluster>/<namespace>/<app>.yaml` and the same under
//! `OUT_DIR/after/` with a fraction of the objects changed. With `--reviews`, also writes the
//! AdmissionReview bodies of the webhook benchmarks: `review-8k-deny.json` (the incident: an
//! 8 KB DaemonSet losing its limits), `review-8k-allow.json` (an image bump) and
//! `review-500k.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use changelint_bench::{Corpus, CorpusOptions, bench_reviews};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen-corpus: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut options = CorpusOptions::default();
    let mut reviews = false;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--objects" => {
                options.objects = value("--objects")?
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--objects: {e}"))?;
            }
            "--seed" => {
                options.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?;
            }
            "--reviews" => reviews = true,
            "-h" | "--help" => {
                eprintln!("usage: gen-corpus [--objects N] [--seed S] [--reviews] OUT_DIR");
                return Ok(());
            }
            _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    let out = out.ok_or("usage: gen-corpus [--objects N] [--seed S] [--reviews] OUT_DIR")?;
    let corpus = Corpus::generate(&options);
    corpus
        .write(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    if reviews {
        for review in bench_reviews() {
            let path = out.join(format!("review-{}.json", review.name));
            std::fs::write(&path, review.body).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    eprintln!(
        "gen-corpus: {} objects in {} files ({} MB) under {}; after tree: {:?}",
        corpus.objects,
        corpus.files.len(),
        corpus.before_bytes() / 1_000_000,
        out.display(),
        corpus.changes
    );
    Ok(())
}
