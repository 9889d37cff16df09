//! Command-line interface of the agent.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use yingjian_shared::Catalogue;

use crate::client::Client;
use crate::config::AgentConfig;
use crate::error::{AgentError, AgentResult};
use crate::init::init_folder;
use crate::report::status_report;
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
    #[command(after_help = "Example:\n  yingjian-agent status --config agent.toml")]
    Status {
        #[command(flatten)]
        settings: Settings,
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
        let mut c = AgentConfig::load(self.config.as_deref())?;
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

pub async fn run(cli: Cli) -> AgentResult<()> {
    match cli.command {
        Command::Init { dept, settings } => {
            let config = settings.resolve()?;
            let folder = config.folder.clone();
            let catalogue = server_catalogue(&config).await.unwrap_or_else(|| Catalogue::builtin().clone());
            let department = catalogue.department(&dept).ok_or_else(|| {
                let known: Vec<&str> = catalogue.departments.iter().map(|d| d.name.as_str()).collect();
                AgentError::Config(format!("no department {dept:?}: use one of {}", known.join("、")))
            })?;
            let created = init_folder(&catalogue, department, &folder)?;
            for path in &created {
                println!("已创建 {}", path.display());
            }
            println!("{} 已为{}准备好（新建 {} 个文件夹）", folder.display(), department.name, created.len());
            Ok(())
        }
        Command::Run { settings } => {
            let mut agent = Agent::new(settings.resolve()?).await?;
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
            agent
                .run(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        }
        Command::Status { settings } => {
            let config = settings.resolve()?;
            let catalogue = server_catalogue(&config).await.unwrap_or_else(|| Catalogue::builtin().clone());
            let client =
                Client::new(&config.base_url()?, config.token()?, &host_name(), config.ca_cert.as_deref())?;
            print!("{}", status_report(&config, &catalogue, &client).await?);
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
