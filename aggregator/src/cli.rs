//! Command-line interface: parsing and dispatch; each command calls into the library.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use yingjian_shared::{Catalogue, chinese_numeral};

use crate::auth::{new_token, token_hash};
use crate::config::{Config, load_catalogue};
use crate::db::Recount;
use crate::error::{AppError, AppResult};
use crate::print::Of;
use crate::server::Server;
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(
    name = "yingjian-aggregator",
    version,
    about = "The Yingjian central server: collects evidence from the department agents",
    after_help = "Examples:\n  yingjian-aggregator serve\n  yingjian-aggregator token create --dept 公安局\n  yingjian-aggregator catalogue --json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (defaults: ./yingjian-data, 127.0.0.1:8080, the built-in catalogue).
    #[command(after_help = "Example:\n  yingjian-aggregator serve --config /etc/yingjian/aggregator.toml")]
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long, env = "YINGJIAN_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Create, list or revoke access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the catalogue in force, or validate a catalogue file.
    #[command(
        after_help = "Examples:\n  yingjian-aggregator catalogue\n  yingjian-aggregator catalogue --file 2022.toml"
    )]
    Catalogue {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Validate and print this catalogue file (TOML or JSON) instead of the built-in one.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The whole system on this machine: the server, an agent per department, sample files.
    ///
    /// At start it removes what an earlier demo made in DIR, and nothing else: DIR/data,
    /// DIR/.agents and one folder per department (DIR/公安局, …). Deadlines are set 10 and 17
    /// days from now; the city is 平顶山市.
    #[command(
        after_help = "Example:\n  cargo build --release --workspace && target/release/yingjian-aggregator demo"
    )]
    Demo {
        /// Folder for the demo: data, agent state and one evidence folder per department (those
        /// three are removed at start; anything else in it is left alone).
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        /// Address for the dashboard.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Build the submission bundle of the current state and print its path.
    #[command(
        after_help = "Examples:\n  yingjian-aggregator bundle --data /var/lib/yingjian --out /srv/bundles\n  yingjian-aggregator bundle --bagit"
    )]
    Bundle {
        #[command(flatten)]
        store: StoreArgs,
        /// Folder to write the zip into; the data folder's bundles/ by default.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Lay the same content out as a BagIt 1.0 bag (RFC 8493), for standard validators.
        #[arg(long)]
        bagit: bool,
    },
    /// Check a bundle (a zip, or the folder it was unpacked into) against its manifests and the
    /// fingerprint in its name: names every missing, extra or altered file.
    #[command(
        name = "verify-bundle",
        after_help = "Examples:\n  yingjian-aggregator verify-bundle yingjian-2021-20220117-173000-1a2b3c4d.zip\n  yingjian-aggregator verify-bundle ./平顶山市2021年度质量工作考核迎检材料"
    )]
    VerifyBundle {
        /// The bundle: a zip, or an unpacked folder.
        file: PathBuf,
        /// The language of what it prints: zh (Chinese, for the clerk who receives the bundle)
        /// or en.
        #[arg(long, value_enum, default_value_t = VerifyLang::Zh)]
        lang: VerifyLang,
    },
    /// Write the printable PDFs (纸质版): one per 考核领域, and one each for the 自评报告 and
    /// the 典型案例, each with a cover, its 目录 with 起止页, bookmarks and page numbers.
    #[command(after_help = "Example:\n  yingjian-aggregator print --data /var/lib/yingjian --out /srv/print")]
    Print {
        #[command(flatten)]
        store: StoreArgs,
        /// Folder to write the PDFs into; the data folder's print/ by default. Only a print
        /// there is the print of record, whose 起止页 the bundle's 目录 gives.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the office's report (完成情况, 仍缺材料, 待完善) as a workbook and a printable page.
    #[command(after_help = "Example:\n  yingjian-aggregator report --data /var/lib/yingjian --out .")]
    Report {
        #[command(flatten)]
        store: StoreArgs,
        /// Folder to write into; the data folder's reports/ by default.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Move a city's store (SQLite and the blob folder in DATA_DIR) into the PostgreSQL database
    /// and the object store that CONFIG names, verified; run again, it goes on where it stopped.
    #[command(
        after_help = "Example:\n  yingjian-aggregator migrate --from /var/lib/yingjian --to /etc/yingjian/aggregator.toml"
    )]
    Migrate {
        /// The data folder to move from.
        #[arg(long, value_name = "DATA_DIR")]
        from: PathBuf,
        /// The aggregator.toml that sets [database] url and [blobs] s3.
        #[arg(long, value_name = "CONFIG")]
        to: PathBuf,
    },
    /// Run one job of the server's worker (the server starts it; never by hand): a job as JSON
    /// on standard input, its reply as JSON on standard output.
    #[command(hide = true)]
    Worker(crate::worker::WorkerArgs),
    /// Re-hash every stored blob and report each one that no longer matches.
    #[command(after_help = "Example:\n  yingjian-aggregator scrub --data /var/lib/yingjian")]
    Scrub {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `verify-bundle --lang`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyLang {
    Zh,
    En,
}

impl From<VerifyLang> for crate::bundle::Lang {
    fn from(lang: VerifyLang) -> Self {
        match lang {
            VerifyLang::Zh => crate::bundle::Lang::Zh,
            VerifyLang::En => crate::bundle::Lang::En,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is kept).
    #[command(
        after_help = "Examples:\n  yingjian-aggregator token create --dept police --agent pc-1\n  yingjian-aggregator token create --office"
    )]
    Create {
        /// The department (id, name or alias) the token belongs to.
        #[arg(long, required_unless_present = "office", conflicts_with = "office")]
        dept: Option<String>,
        /// A name for the agent installation, e.g. the PC's name.
        #[arg(long, default_value = "default")]
        agent: String,
        /// A token for the coordinating office: sees every department.
        #[arg(long)]
        office: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (never the secrets).
    #[command(after_help = "Example:\n  yingjian-aggregator token list --data /var/lib/yingjian")]
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by the number `token list` shows.
    #[command(after_help = "Example:\n  yingjian-aggregator token revoke 7 --data /var/lib/yingjian")]
    Revoke {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives: a config file, a data folder, or the defaults.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Config file (aggregator.toml).
    #[arg(long, env = "YINGJIAN_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder; overrides the config file.
    #[arg(long, env = "YINGJIAN_DATA")]
    data: Option<PathBuf>,
}

impl StoreArgs {
    fn config(&self) -> AppResult<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(data) = &self.data {
            config.data.clone_from(data);
        }
        Ok(config)
    }

    fn open(&self) -> AppResult<AppState> {
        AppState::open(self.config()?)
    }
}

impl Cli {
    /// The worker's arguments, when this process is a worker: it must run before any async
    /// runtime starts a thread (see `worker::child_main`).
    pub fn worker(&self) -> Option<&crate::worker::WorkerArgs> {
        match &self.command {
            Command::Worker(args) => Some(args),
            _ => None,
        }
    }
}

/// Runs one command; what it prints for people goes to standard output.
pub async fn run(cli: Cli) -> AppResult<()> {
    match cli.command {
        Command::Worker(args) => match crate::worker::child_main(&args, crate::jobs::dispatch) {
            code if code == std::process::ExitCode::SUCCESS => Ok(()),
            _ => Err(AppError::internal("the worker job failed")),
        },
        Command::Serve { store, listen } => serve(store, listen).await,
        Command::Token { command } => token(command).await,
        Command::Catalogue { json, file } => catalogue(json, file),
        Command::Bundle { store, out, bagit } => bundle(store, out, bagit).await,
        Command::VerifyBundle { file, lang } => verify_bundle(&file, lang),
        Command::Print { store, out } => print(store, out).await,
        Command::Report { store, out } => report(store, out).await,
        Command::Demo { dir, listen } => crate::demo::run(&dir, listen, shutdown_signal()).await,
        Command::Migrate { from, to } => migrate(from, to).await,
        Command::Scrub { store } => scrub(store).await,
    }
}

/// Serves until a stop signal.
async fn serve(store: StoreArgs, listen: Option<SocketAddr>) -> AppResult<()> {
    let mut config = store.config()?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let address = config.listen;
    let scheme = crate::server::scheme(&config);
    let state = AppState::open(config)?;
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        AppError::Command(format!(
            "cannot listen on {address}: {e} (is another server running? choose another --listen)"
        ))
    })?;
    let address = listener.local_addr()?;
    let server = Server::new(state, listener)?;
    println!("yingjian-aggregator listening on {scheme}://{address}");
    server.run(shutdown_signal()).await
}

/// Prints the catalogue in force, as a table or as JSON.
fn catalogue(json: bool, file: Option<PathBuf>) -> AppResult<()> {
    let catalogue = match file {
        Some(path) => load_catalogue(&path)?,
        None => Catalogue::builtin().clone(),
    };
    if json {
        let text = serde_json::to_string_pretty(&catalogue).map_err(AppError::internal)?;
        println!("{text}");
    } else {
        print!("{}", catalogue_table(&catalogue));
    }
    Ok(())
}

/// Builds the bundle of the current state, with its progress in a terminal.
async fn bundle(store: StoreArgs, out: Option<PathBuf>, bagit: bool) -> AppResult<()> {
    let layout = if bagit { crate::bundle::Layout::BagIt } else { crate::bundle::Layout::Plain };
    let state = store.open()?;
    // Another folder is another shelf; the data folder's is the server's own.
    let shelf = out.map_or_else(|| state.bundles.clone(), crate::bundle::Bundles::new);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let built = shelf
        .build(&state, "cli", layout, move |done, total| {
            if terminal && total > 0 {
                eprint!("\rbundling {:>3}% ({} of {} MB)", done * 100 / total, done >> 20, total >> 20);
            }
        })
        .await?;
    if terminal {
        eprintln!();
    }
    println!("{}", built.path.display());
    Ok(())
}

/// Checks a bundle (a zip or a folder) and says what it found.
fn verify_bundle(file: &Path, lang: VerifyLang) -> AppResult<()> {
    let report = crate::bundle::verify(file).map_err(|e| AppError::Command(e.to_string()))?;
    let (lines, verdict) = report.describe(&file.display().to_string(), lang.into());
    for line in lines {
        println!("{line}");
    }
    if report.is_intact() {
        println!("{verdict}");
        Ok(())
    } else {
        Err(AppError::Command(verdict))
    }
}

/// Prints the paper version: into the printouts folder (the print of record), or a copy elsewhere.
async fn print(store: StoreArgs, out: Option<PathBuf>) -> AppResult<()> {
    let state = store.open()?;
    // Only the print into the printouts folder is the one the 目录's 起止页 follow.
    let official = state.printouts.dir().to_path_buf();
    let of = if out.as_ref().is_none_or(|o| *o == official) { Of::Record } else { Of::Copy };
    let dir = out.unwrap_or(official);
    let report = crate::print::build(&state, &dir, of).await?;
    for (path, pages) in &report.written {
        println!("{}\t{pages} pages", path.display());
    }
    for problem in &report.problems {
        eprintln!("placeholder: {problem}");
    }
    Ok(())
}

/// Writes the office's 完成情况 report (xlsx and HTML).
async fn report(store: StoreArgs, out: Option<PathBuf>) -> AppResult<()> {
    let state = store.open()?;
    let report = crate::bundle::report::build(&state).await?;
    let dir = out.unwrap_or_else(|| state.config.data.join("reports"));
    std::fs::create_dir_all(&dir)?;
    for (ext, bytes) in [("xlsx", &report.xlsx), ("html", &report.html)] {
        let path = dir.join(format!("{}-{}.{ext}", report.title, report.stamp));
        crate::durable::write(&path, bytes)?;
        println!("{}", path.display());
    }
    crate::durable::sync_folder(&dir)?;
    Ok(())
}

/// Moves a data folder into PostgreSQL and an object store.
async fn migrate(from: PathBuf, to: PathBuf) -> AppResult<()> {
    let moved = crate::migrate::run(&from, &to).await?;
    let (verb, tables) = match &moved.tables {
        crate::db::Copied::Copied(t) => ("copied", t),
        crate::db::Copied::AlreadyThere(t) => ("already there, verified", t),
    };
    println!("blobs: {} sent, {} already there (verified)", moved.blobs_sent, moved.blobs_there);
    let rows: Vec<String> = tables.iter().map(|(t, n)| format!("{t} {n}")).collect();
    println!("tables {verb}: {}", rows.join(", "));
    Ok(())
}

/// Checks every stored blob and the kept status counts; counts them again when wrong.
async fn scrub(store: StoreArgs) -> AppResult<()> {
    let state = store.open()?;
    let blobs = state.db.all_blobs().await?;
    let store = state.blobs.clone();
    let count = blobs.len();
    let (findings, unreferenced) = tokio::task::spawn_blocking(move || {
        let known: std::collections::HashSet<&str> = blobs.iter().map(|(sha, _)| sha.as_str()).collect();
        let stored = store.list()?;
        let unreferenced: Vec<String> = stored.into_iter().filter(|s| !known.contains(s.as_str())).collect();
        let findings: Vec<_> = blobs.iter().filter_map(|(sha, size)| store.verify(sha, *size)).collect();
        std::io::Result::Ok((findings, unreferenced))
    })
    .await
    .map_err(AppError::internal)??;
    for f in &findings {
        println!("{f}");
    }
    // Left by an upload whose record never came (a file changed while it was sent):
    // harmless, and listed so that the office knows what the folder holds.
    for sha in &unreferenced {
        println!("unreferenced: {sha}");
    }
    println!(
        "{count} blobs checked, {} damaged, {} stored without a record",
        findings.len(),
        unreferenced.len()
    );
    // The status counts the triggers keep, against a count of the records themselves.
    let (kept, counted) = state.db.kept_and_counted().await?;
    let wrong = kept.differences(&counted);
    for difference in &wrong {
        println!("{difference}");
    }
    if wrong.is_empty() {
        println!("status counts agree with the records");
    } else {
        state
            .db
            .count_against(state.deadlines.evidence, crate::facts::READER_VERSION, Recount::Always)
            .await?;
        println!("status counts: {} wrong, counted again from the records", wrong.len());
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(AppError::Command(format!(
            "{} blobs are damaged: restore the data folder from backup, or have the agents upload again",
            findings.len()
        )))
    }
}

async fn token(command: TokenCommand) -> AppResult<()> {
    match command {
        TokenCommand::Create { dept, agent, office, store } => {
            let state = store.open()?;
            let department = match (dept, office) {
                (Some(name), false) => Some(
                    state
                        .catalogue
                        .department(&name)
                        .ok_or_else(|| {
                            let known: Vec<String> = state
                                .catalogue
                                .departments
                                .iter()
                                .map(|d| format!("{} ({})", d.id, d.name))
                                .collect();
                            AppError::Command(format!(
                                "no department {name:?}: use one of {}",
                                known.join(", ")
                            ))
                        })?
                        .id
                        .clone(),
                ),
                _ => None,
            };
            let agent = if department.is_none() { "office".to_string() } else { agent };
            let token = new_token()?;
            state.db.insert_token(token_hash(&token), department, agent).await?;
            println!("{token}");
            Ok(())
        }
        TokenCommand::List { store } => {
            let state = store.open()?;
            for t in state.db.list_tokens().await? {
                let revoked = t.revoked.map(|r| format!("  revoked {r}")).unwrap_or_default();
                let owner = t.department.as_deref().unwrap_or("(office)");
                println!("{:>4}  {owner:<12} {:<16} created {}{revoked}", t.id, t.agent, t.created);
            }
            Ok(())
        }
        TokenCommand::Revoke { id, store } => {
            let state = store.open()?;
            if state.db.revoke_token(id).await? {
                println!("token {id} revoked");
                Ok(())
            } else {
                Err(AppError::Command(format!("no live token {id}: see `yingjian-aggregator token list`")))
            }
        }
    }
}

/// The catalogue as a table people can read in a terminal.
fn catalogue_table(c: &Catalogue) -> String {
    let mut out = String::new();
    let items = c.items().count();
    let _ = writeln!(out, "{} {} — {items} 项，共 {} 分", c.year, c.name, c.total_points);
    for area in &c.areas {
        let _ = writeln!(out, "\n{}、{}（{}分）", chinese_numeral(area.code), area.name, area.points);
        for kp in &area.key_points {
            let _ = writeln!(out, "  （{}）{}", chinese_numeral(kp.code), kp.name);
            for item in &kp.items {
                let score = item.scoring().label();
                let depts: Vec<&str> = item
                    .departments
                    .iter()
                    .map(|id| c.department(id).map_or(id.as_str(), |d| d.name.as_str()))
                    .collect();
                let _ = writeln!(
                    out,
                    "    {:<6}{:<10}{:<24}{}",
                    item.code,
                    score,
                    item.short_title,
                    depts.join("、")
                );
            }
        }
    }
    out
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Logs to standard error, `info` and up unless `RUST_LOG` says otherwise; colours only on a
/// terminal.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
