use clap::Parser;

fn main() -> std::process::ExitCode {
    match yingjian_agent::execute(yingjian_agent::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
