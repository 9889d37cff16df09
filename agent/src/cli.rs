//! Command-line interface of the agent.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use yingjian_shared::Catalogue;

use crate::client::Client;
use crate::config::{AgentConfig, default_config_path};
use crate::error::AgentResult;
use crate::init::{department_named, init_folder};
use crate::report::{receipt_report, status_report};
use crate::service;
use crate::setup::{Setup, setup};
use crate::sync::{Agent, host_name};

#[derive(Debug, Parser)]
#[command(
    name = "yingjian-agent",
    version,
    about = "The Yingjian agent: uploads a department's evidence folder to the aggregator",
    after_help = "Examples:\n  yingjian-agent init --dept 公安局 --folder D:\\迎检材料\n  yingjian-agent run --config agent.toml\n  yingjian-agent status --config agent.toml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the department's item folders, 自评报告/ and 典型案例/ (safe to run again).
    #[command(after_help = "Example:\n  yingjian-agent init --dept 公安局 --folder ./迎检材料")]
    Init {
        /// The department: id, name or alias.
        #[arg(long)]
        dept: String,
        /// `--folder` is the evidence folder to lay out.
        #[command(flatten)]
        settings: Settings,
    },
    /// Watch the folder and upload until stopped.
    #[command(
        after_help = "Example:\n  yingjian-agent run --server http://10.1.2.3:8080 --token yj_… --folder ./迎检材料 --state ./state"
    )]
    Run {
        #[command(flatten)]
        settings: Settings,
    },
    /// What is synced, pending, failed or unsorted, and what the department still lacks.
    #[command(
        after_help = "Examples:\n  yingjian-agent status --config agent.toml\n  yingjian-agent status --receipt --config agent.toml"
    )]
    Status {
        /// The receipt (回执) instead: every file the server holds from the department.
        #[arg(long)]
        receipt: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Set this PC up in one step (what the installers run): write the config file where
    /// `run` and `status` look for it, and lay out the evidence folder for the token's
    /// department.
    #[command(
        after_help = "Example:\n  yingjian-agent setup --server http://10.1.2.3:8080 --token yj_…\n\nThe config file goes to C:\\ProgramData\\Yingjian\\agent.toml on Windows, ~/.config/yingjian/agent.toml elsewhere;\nthe folder to C:\\迎检材料 on Windows, the desktop's 迎检材料 elsewhere."
    )]
    Setup {
        /// The aggregator's address, e.g. http://10.1.2.3:8080.
        #[arg(long)]
        server: String,
        /// This installation's token (or YINGJIAN_TOKEN in the environment).
        #[arg(long, env = "YINGJIAN_TOKEN", hide_env_values = true)]
        token: String,
        /// The department (id, name or alias); learned from the server when not given.
        #[arg(long)]
        dept: Option<String>,
        /// The evidence folder to lay out.
        #[arg(long)]
        folder: Option<PathBuf>,
        /// The agent's own state folder.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Extra CA certificate (PEM) to trust for an https:// server.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Where to write the config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The agent as a Windows service: started at boot, restarted on failure.
    #[command(subcommand)]
    Service(ServiceCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Install the service (as administrator) for this config file, and start it.
    #[command(
        after_help = "Example:\n  yingjian-agent service install --config C:\\ProgramData\\Yingjian\\agent.toml"
    )]
    Install {
        #[arg(long)]
        config: PathBuf,
    },
    /// Stop and remove the service.
    Uninstall,
    /// What the service manager starts (not for a console).
    Run {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct Settings {
    /// Config file (agent.toml); flags override it.
    #[arg(long, env = "YINGJIAN_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// The aggregator's address, e.g. http://10.1.2.3:8080.
    #[arg(long)]
    server: Option<String>,
    /// This installation's token (better: YINGJIAN_TOKEN in the environment).
    #[arg(long, env = "YINGJIAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The evidence folder.
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Folder for the agent's own state (agent.sqlite3).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Settle time in milliseconds.
    #[arg(long)]
    settle_ms: Option<u64>,
    /// Poll the folder instead of using native events (network shares).
    #[arg(long)]
    poll: bool,
    /// Extra CA certificate (PEM) to trust for an https:// server.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

impl Settings {
    fn resolve(self) -> AgentResult<AgentConfig> {
        // Without --config, the file `setup` wrote, if there is one.
        let config = self.config.or_else(|| default_config_path().ok().filter(|p| p.is_file()));
        let mut c = AgentConfig::load(config.as_deref())?;
        if let Some(v) = self.server {
            c.server = v;
        }
        if self.token.is_some() {
            c.token = self.token;
        }
        if let Some(v) = self.folder {
            c.folder = v;
        }
        if let Some(v) = self.state {
            c.state = v;
        }
        if let Some(v) = self.settle_ms {
            c.settle_ms = v;
        }
        c.poll |= self.poll;
        if self.ca_cert.is_some() {
            c.ca_cert = self.ca_cert;
        }
        Ok(c)
    }
}

/// Runs a command: the service's run under the service manager's dispatcher, everything else on
/// a Tokio runtime. `run` and the service also log to a rolling file in the state folder.
pub fn execute(cli: Cli) -> AgentResult<()> {
    if let Command::Service(ServiceCommand::Run { config }) = &cli.command {
        return service::run(config);
    }
    // `run` logs to its state folder as well, once it knows where that is.
    if !matches!(cli.command, Command::Run { .. }) {
        init_logging(None);
    }
    tokio::runtime::Runtime::new()?.block_on(run(cli))
}

async fn run(cli: Cli) -> AgentResult<()> {
    match cli.command {
        Command::Init { dept, settings } => {
            let config = settings.resolve()?;
            let folder = config.folder.clone();
            let catalogue = server_catalogue(&config).await.unwrap_or_else(|| Catalogue::builtin().clone());
            let department = department_named(&catalogue, &dept)?;
            let created = init_folder(&catalogue, department, &folder)?;
            for path in &created {
                println!("已创建 {}", path.display());
            }
            println!("{} 已为{}准备好（新建 {} 个文件夹）", folder.display(), department.name, created.len());
            Ok(())
        }
        Command::Run { settings } => {
            let config = settings.resolve()?;
            init_logging(Some(&config.log_folder()));
            let mut agent = Agent::new(config).await?;
            // A first run over a large folder hashes many files: show how far it is in a terminal.
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                agent = agent.with_progress(Box::new(|left| {
                    if left == 0 {
                        eprintln!("\rhashing: done              ");
                    } else {
                        eprint!("\rhashing: {left} files to go ");
                    }
                }));
            }
            agent.run(stop_signal()).await
        }
        Command::Setup { server, token, dept, folder, state, ca_cert, config } => {
            // An installer passes what it was not given as empty (`DEPT=`).
            let dept = dept.filter(|d| !d.trim().is_empty());
            print!("{}", setup(Setup { server, token, dept, folder, state, ca_cert, config }).await?);
            Ok(())
        }
        Command::Service(ServiceCommand::Install { config }) => service::install(&config),
        Command::Service(ServiceCommand::Uninstall) => service::uninstall(),
        Command::Service(ServiceCommand::Run { .. }) => unreachable!("run by `execute`"),
        Command::Status { receipt, settings } => {
            let config = settings.resolve()?;
            let catalogue = server_catalogue(&config).await.unwrap_or_else(|| Catalogue::builtin().clone());
            let client =
                Client::new(&config.base_url()?, config.token()?, &host_name(), config.ca_cert.as_deref())?;
            if receipt {
                print!("{}", receipt_report(&catalogue, &client).await?);
            } else {
                print!("{}", status_report(&config, &catalogue, &client).await?);
            }
            Ok(())
        }
    }
}

async fn server_catalogue(config: &AgentConfig) -> Option<Catalogue> {
    let client =
        Client::new(&config.base_url().ok()?, config.token().ok()?, &host_name(), config.ca_cert.as_deref())
            .ok()?;
    tokio::time::timeout(std::time::Duration::from_secs(5), client.catalogue()).await.ok()?.ok()
}

/// Ctrl-C; on Windows also the console window closed and the session ending.
async fn stop_signal() {
    #[cfg(windows)]
    {
        use tokio::signal::windows::{ctrl_close, ctrl_shutdown};
        let (Ok(mut close), Ok(mut shutdown)) = (ctrl_close(), ctrl_shutdown()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = close.recv() => {}
            _ = shutdown.recv() => {}
        }
    }
    #[cfg(not(windows))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Logs `info` and up (unless `RUST_LOG` says otherwise) to standard error, coloured only on a
/// terminal, and, given a folder, to a file there rolled over daily, the last 14 days kept: a
/// service has no console, and a clerk's PC is looked at after the fact.
pub fn init_logging(folder: Option<&std::path::Path>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let file = folder.and_then(|folder| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("agent")
            .filename_suffix("log")
            .max_log_files(LOG_DAYS)
            .build(folder)
            // An unusable state folder is told once, by the agent itself, in the clerk's words.
            .ok()
    });
    let file = file.map(|appender| tracing_subscriber::fmt::layer().with_writer(appender).with_ansi(false));
    // A second call (the tests start several agents in one process) keeps the first.
    let _ = tracing_subscriber::registry().with(filter).with(console).with(file).try_init();
}

/// Daily log files kept.
const LOG_DAYS: usize = 14;

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
