use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    yingjian_agent::init_logging();
    match yingjian_agent::run(yingjian_agent::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
