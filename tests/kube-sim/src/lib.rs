//! A Kubernetes API server for tests and the local sandbox. Never shipped.
//!
//! `KubeSim::start()` serves it in-process on a random port of 127.0.0.1; the `kube-sim` binary
//! serves it standalone. Where it does not implement something a real kube-apiserver does, it
//! answers with a Status error naming what is missing instead of accepting silently.

pub mod builtin;
pub mod cel_eval;
pub mod conversion;
pub mod crd;
pub mod delete;
pub mod discovery;
pub mod handlers;
pub mod jsonpath;
pub mod kubeconfig;
pub mod meta;
pub mod openapi;
pub mod paging;
pub mod patch;
pub mod peers;
pub mod protobuf;
pub mod request;
pub mod resource;
pub mod router;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod smp;
pub mod ssa;
pub mod status;
pub mod store;
pub mod table;
pub mod watch;
pub mod write;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;

use server::{Listening, Shared};

pub struct KubeSim {
    shared: Arc<Shared>,
    port: u16,
    url: String,
    kubeconfig: PathBuf,
    // Keeps the kubeconfig's directory alive as long as the server.
    _dir: tempfile::TempDir,
    listening: tokio::sync::Mutex<Option<Listening>>,
}

impl KubeSim {
    /// Every request served so far (the most recent 200,000), oldest first.
    pub fn requests(&self) -> Vec<server::RecordedRequest> {
        self.shared.requests()
    }

    /// Serves on a random free port of 127.0.0.1.
    pub async fn start() -> io::Result<KubeSim> {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> io::Result<KubeSim> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let port = listener.local_addr()?.port();
        let url = format!("http://127.0.0.1:{port}");
        let dir = tempfile::Builder::new().prefix("kube-sim-").tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        kubeconfig::write(&kubeconfig, &url)?;
        let log = std::env::var("KUBE_SIM_LOG").is_ok_and(|v| v == "1");
        let shared = Arc::new(Shared::new(log));
        let listening = server::listen(listener, shared.clone());
        Ok(KubeSim {
            shared,
            port,
            url,
            kubeconfig,
            _dir: dir,
            listening: tokio::sync::Mutex::new(Some(listening)),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A kubeconfig for this server (cluster, user and context `kube-sim`, namespace default).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        kubeconfig::write(path, &self.url)
    }

    /// Forgets watch history: every resourceVersion clients hold now gets 410 Expired on watch.
    pub fn compact(&self) {
        self.shared.state().compact();
    }

    /// Closes every open watch (their responses end), as an apiserver restart would.
    pub fn drop_watches(&self) {
        self.shared.state().drop_watches();
    }

    /// An outage: stops accepting and closes every connection; the state is kept.
    pub async fn stop_listening(&self) {
        let current = self.listening.lock().await.take();
        if let Some(listening) = current {
            listening.stop().await;
        }
        self.shared.state().drop_watches();
    }

    /// Serves again on the same port after `stop_listening`.
    pub async fn resume_listening(&self) -> io::Result<()> {
        let mut slot = self.listening.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let listener =
            TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))).await?;
        *slot = Some(server::listen(listener, self.shared.clone()));
        Ok(())
    }

    pub async fn shutdown(self) {
        self.stop_listening().await;
    }
}
