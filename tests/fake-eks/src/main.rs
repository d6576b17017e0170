//! `fake-eks [--host ADDRESS] --port PORT --cluster NAME`: the fake EKS Pod Identity endpoint as
//! a process, for the local sandbox (`scripts/sandbox.sh`) and the kind workflow. Serves until
//! killed; 127.0.0.1 unless `--host` says otherwise.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut host = "127.0.0.1".to_string();
    let mut port = 0u16;
    let mut clusters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--port", Some(value)) => match value.parse() {
                Ok(value) => port = value,
                Err(_) => return usage(&format!("--port {value:?} is not a port number")),
            },
            ("--cluster", Some(value)) => clusters.push(value),
            ("--host", Some(value)) => host = value,
            _ => return usage(&format!("unknown or incomplete argument {flag:?}")),
        }
    }
    if clusters.is_empty() {
        return usage("name at least one --cluster");
    }
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("fake-eks: cannot listen on {host}:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let app = fake_eks::app(&clusters);
    println!(
        "fake-eks: serving clusters {clusters:?} on http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fake-eks: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "fake-eks: {problem}\nusage: fake-eks [--host ADDRESS] [--port PORT] --cluster NAME [--cluster NAME…]"
    );
    ExitCode::FAILURE
}
