//! `changelint-webhook`: the admission webhook server, and a generator of its certificates.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use changelint_webhook::config::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RELOAD_INTERVAL, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_DELAY,
};
use changelint_webhook::log_writer::{BatchedWriter, FlushGuard};
use changelint_webhook::{Limits, ServeConfig, server};
use clap::{Parser, Subcommand, ValueEnum};

/// Reviews are many small allocations on every worker thread; see `mimalloc` in Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The changelint ValidatingAdmissionWebhook: blocks workload changes that remove resource
/// limits, with the same policy engine as the `changelint` CLI.
#[derive(Debug, Parser)]
#[command(name = "changelint-webhook", version, about)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CHANGELINT_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve POST /validate, /healthz and /readyz over HTTPS (and /metrics over HTTP).
    Serve(ServeArgs),
    /// Write a CA and a serving certificate for the webhook Service and print the caBundle.
    Certs(CertsArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// HTTPS listen address.
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// PEM serving certificate chain (reloaded when it changes).
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// PEM private key (reloaded when it changes).
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
    /// Require client certificates signed by a CA in this PEM bundle (API server authentication).
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Policy file (reloaded when it changes; a bad new file keeps the old policy). Default: the
    /// embedded default policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Plain-HTTP listen address for GET /metrics (Prometheus). No metrics listener if unset.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Deadline for one request, in seconds; keep it well under the webhook's timeoutSeconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs_f64())]
    request_timeout: f64,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Requests read and judged at once; more are shed with 503 (overloaded) before their
    /// body is read.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Connections served at once; a connection over it waits up to a second for a slot,
    /// before its TLS handshake, and is closed if none frees.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// How often certificate and policy files are checked for changes, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_RELOAD_INTERVAL.as_secs_f64())]
    reload_interval: f64,
    /// After SIGTERM: seconds to keep serving while not ready, before closing the listener.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHUTDOWN_DELAY.as_secs_f64())]
    shutdown_delay: f64,
    /// After closing the listener: seconds in-flight requests may take to finish.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_DRAIN_TIMEOUT.as_secs_f64())]
    drain_timeout: f64,
}

#[derive(Debug, clap::Args)]
struct CertsArgs {
    /// Name of the webhook's Service.
    #[arg(long, default_value = "changelint-webhook")]
    service: String,
    /// Namespace of the Service.
    #[arg(long, default_value = "changelint")]
    namespace: String,
    /// Directory to write ca.crt, tls.crt and tls.key into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Extra DNS name for the serving certificate (repeatable), e.g. localhost.
    #[arg(long = "dns", value_name = "NAME")]
    dns: Vec<String>,
    /// IP address for the serving certificate (repeatable), e.g. 127.0.0.1.
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{flag} {value}: not a duration in seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_writer = match init_logging(cli.log_format) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("changelint-webhook: {error:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Certs(args) => certs(&args),
    };
    if let Err(error) = &result {
        tracing::error!(error = format!("{error:#}"), "changelint-webhook failed");
    }
    // Writes the lines still buffered, before the error below: both go to stderr.
    drop(log_writer);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("changelint-webhook: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr through a background thread that writes them in batches
/// (`log_writer`): a review only copies its line into a buffer. No line is dropped for lack of
/// room.
fn init_logging(format: LogFormat) -> anyhow::Result<FlushGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) =
        BatchedWriter::new(std::io::stderr()).context("cannot start the log writer thread")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
    Ok(guard)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = ServeConfig::new(args.listen, args.tls_cert, args.tls_key);
    config.metrics_listen = args.metrics_listen;
    config.client_ca = args.client_ca;
    config.policy = args.policy;
    config.limits = Limits {
        max_body_bytes: args.max_body_bytes,
        request_timeout: seconds(args.request_timeout, "request-timeout")?,
        max_in_flight: args.max_in_flight.max(1),
        max_connections: args.max_connections.max(1),
    };
    config.reload_interval = seconds(args.reload_interval, "reload-interval")?;
    config.shutdown_delay = seconds(args.shutdown_delay, "shutdown-delay")?;
    config.drain_timeout = seconds(args.drain_timeout, "drain-timeout")?;
    if config.reload_interval.is_zero() {
        anyhow::bail!("--reload-interval must be above zero");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let running = server::start(config).await.map_err(anyhow::Error::from)?;
        shutdown_signal().await;
        running.shutdown().await?;
        Ok(())
    })
}

/// Waits for SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

fn certs(args: &CertsArgs) -> anyhow::Result<()> {
    let generated = changelint_certs::generate(
        &args.service,
        &args.namespace,
        &args.dns,
        &args.ips,
        args.days,
    )
    .context("cannot generate certificates")?;
    generated
        .write_to(&args.out)
        .with_context(|| format!("cannot write certificates to {}", args.out.display()))?;
    eprintln!(
        "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key for {service}.{namespace}.svc; caBundle:",
        dir = args.out.display(),
        service = args.service,
        namespace = args.namespace,
    );
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(
        &mut stdout,
        format!("{}\n", generated.ca_bundle_base64()).as_bytes(),
    )
    .context("cannot write the caBundle to stdout")?;
    Ok(())
}
