use clap::Parser;

fn main() -> std::process::ExitCode {
    yingjian_aggregator::init_logging();
    let cli = yingjian_aggregator::Cli::parse();
    // A worker confines itself while it is the only thread: before any runtime starts.
    if let Some(args) = cli.worker() {
        return yingjian_aggregator::worker::child_main(args, yingjian_aggregator::jobs::dispatch);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(yingjian_aggregator::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
