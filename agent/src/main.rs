use clap::Parser;

fn main() -> std::process::ExitCode {
    match yingjian_agent::execute(yingjian_agent::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The clerk reads this: the message alone, in Chinese where the clerk must act.
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
