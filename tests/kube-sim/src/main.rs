//! `kube-sim --port PORT --kubeconfig FILE`: serves until SIGINT or SIGTERM.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "A Kubernetes API server for tests and the local sandbox")]
struct Args {
    /// Port on 127.0.0.1 (default: a random free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a kubeconfig for the server.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let sim = kube_sim::KubeSim::start_on(args.port).await?;
    if let Some(path) = &args.kubeconfig {
        sim.write_kubeconfig(path)?;
    }
    println!("kube-sim listening on {}", sim.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
