use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    rolesmith::commands::dispatch(rolesmith::cli::Cli::parse()).await
}
