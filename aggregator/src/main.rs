use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    yingjian_aggregator::init_logging();
    let cli = yingjian_aggregator::Cli::parse();
    match yingjian_aggregator::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
