//! Configuration of an emulator instance and the command-line flags.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::seed::{Seed, SeedError};

/// Default time a timed-out request hangs before its response, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;

/// Configuration of one emulator instance.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// User name (email) accepted by Basic authentication.
    pub user: String,
    /// Password or API key accepted by Basic authentication.
    pub password: String,
    /// Initial content; `None` starts a fresh default instance.
    pub seed: Option<Seed>,
    /// Answer bulk GETs with bare arrays, like TestRail before 6.7.
    pub legacy_arrays: bool,
    /// Faults to inject from the start.
    pub faults: FaultConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            user: "admin@example.com".into(),
            password: "secret".into(),
            seed: None,
            legacy_arrays: false,
            faults: FaultConfig::default(),
        }
    }
}

/// Faults injected into API requests. The default injects none.
///
/// Every probability is drawn from one random generator seeded with
/// `random_seed`, so a client that sends the same requests in the same order
/// meets the same faults. `POST /emulator/faults` accepts this object as JSON,
/// with `rate_limit` as a short name for `rate_limit_per_minute`; keys left
/// out take their default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the random generator behind every probability below.
    pub random_seed: u64,
    /// Delay added to every API request, in milliseconds.
    pub latency_ms: u64,
    /// Requests allowed per fixed one-minute window; more get 429 with
    /// `Retry-After`. `None` means no limit.
    #[serde(alias = "rate_limit")]
    pub rate_limit_per_minute: Option<u32>,
    /// Probability (0 to 1) of a 500, 502 or 503 before the request is applied.
    pub fail_rate: f64,
    /// Probability (0 to 1) of closing the connection without a response;
    /// half of the drops happen before the request is applied, half after.
    pub drop_rate: f64,
    /// Probability (0 to 1) of applying the request and then holding the
    /// response for `timeout_ms`.
    pub timeout_rate: f64,
    /// How long a timed-out request hangs, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            random_seed: 0,
            latency_ms: 0,
            rate_limit_per_minute: None,
            fail_rate: 0.0,
            drop_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

/// Parses a probability between 0 and 1.
fn parse_probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0 and 1"))
    }
}

/// Command-line flags of `testrail-emulator`, also embeddable as a
/// sub-command of another clap program.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "testrail-emulator",
    version,
    about = "TestRail-compatible API server with in-memory state and fault injection"
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// User name (email) accepted by Basic authentication.
    #[arg(long, default_value = "admin@example.com")]
    pub user: String,
    /// Password or API key accepted by Basic authentication.
    #[arg(long, default_value = "secret")]
    pub password: String,
    /// JSON seed file with the initial projects, suites, sections, cases,
    /// users, statuses and fields.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Answer bulk GETs with bare arrays, like TestRail before 6.7.
    #[arg(long)]
    pub legacy_arrays: bool,
    /// Seed of the random generator behind the fault probabilities.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub random_seed: u64,
    /// Delay added to every API request, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests allowed per minute; more get 429 with Retry-After.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Probability (0 to 1) of a 500, 502 or 503 before the request is applied.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub fail_rate: f64,
    /// Probability (0 to 1) of closing the connection without a response.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub drop_rate: f64,
    /// Probability (0 to 1) of holding a response for --timeout-ms.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub timeout_rate: f64,
    /// How long a timed-out request hangs, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TIMEOUT_MS)]
    pub timeout_ms: u64,
}

/// Error of [`serve`] and [`run_cli`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The command line is invalid (or asked for help or the version).
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The seed file could not be loaded.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The server could not listen or write its address.
    #[error("failed to run the emulator: {0}")]
    Io(#[from] std::io::Error),
}

impl Args {
    /// Builds the emulator configuration, reading the seed file if given.
    ///
    /// # Errors
    ///
    /// Returns [`SeedError`] when the seed file cannot be read or parsed.
    pub fn to_config(&self) -> Result<EmulatorConfig, SeedError> {
        let seed = self.seed.as_ref().map(Seed::from_file).transpose()?;
        Ok(EmulatorConfig {
            listen: self.listen,
            user: self.user.clone(),
            password: self.password.clone(),
            seed,
            legacy_arrays: self.legacy_arrays,
            faults: FaultConfig {
                random_seed: self.random_seed,
                latency_ms: self.latency_ms,
                rate_limit_per_minute: self.rate_limit,
                fail_rate: self.fail_rate,
                drop_rate: self.drop_rate,
                timeout_rate: self.timeout_rate,
                timeout_ms: self.timeout_ms,
            },
        })
    }
}

/// Starts an emulator from parsed flags, prints `listening on URL` as the
/// first line of standard output and serves until Ctrl-C.
///
/// # Errors
///
/// Returns [`ServeError`] when the seed is invalid or the address is taken.
pub async fn serve(args: Args) -> Result<(), ServeError> {
    let config = args.to_config()?;
    let emulator = crate::Emulator::start(config).await?;
    let url = format!("http://{}", emulator.addr());
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {url}")?;
        stdout.flush()?;
    }
    tracing::info!(%url, "emulator started");

    tokio::signal::ctrl_c().await?;
    tracing::info!("emulator stopping");
    emulator.shutdown().await;
    Ok(())
}

/// Parses command-line arguments (the first one is the program name) and
/// runs [`serve`].
///
/// # Errors
///
/// Returns the clap error for invalid flags, `--help` and `--version`, or the
/// error of [`serve`].
pub async fn run_cli(
    args: impl IntoIterator<Item = String>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use clap::Parser;
    let args = Args::try_parse_from(args)?;
    serve(args).await?;
    Ok(())
}
