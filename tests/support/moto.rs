//! A private moto server per test: real IAM wire behaviour (query protocol, XML errors, markers)
//! on 127.0.0.1, killed when the test drops it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Python imports moto in about a second on an idle machine; on two cores shared with compilers
/// it can take much longer, and a slow start is not a failure.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Another process may grab the port between our probe and moto's bind.
const START_ATTEMPTS: usize = 3;

pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    port: u16,
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts moto_server from the project's virtualenv. Panics (never skips) when it is missing.
    pub fn start() -> Moto {
        let server = venv().join("bin").join("moto_server");
        assert!(
            server.is_file(),
            "{} not found: run scripts/venv.sh (or make test) to create the test tools",
            server.display()
        );
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let mut moto = Moto::spawn(&server);
            match moto.wait_until_ready() {
                Ok(()) => return moto,
                Err(why) => failures.push(format!("{why}\n{}", moto.log())),
            }
        }
        panic!("moto_server did not start:\n{}", failures.join("\n---\n"));
    }

    /// The moto_server process, for the benchmark's CPU accounting.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Forgets every role, policy and profile (POST /moto-api/reset).
    pub fn reset(&self) {
        let status = http(self.port, "POST", "/moto-api/reset").unwrap_or_else(|error| {
            panic!("moto reset failed: {error}\n{}", self.log());
        });
        assert_eq!(status, 200, "moto reset answered {status}");
    }

    fn spawn(server: &PathBuf) -> Moto {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("temp file for moto's log");
        let output = |log: &tempfile::NamedTempFile| {
            Stdio::from(log.reopen().expect("reopen moto's log file"))
        };
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // AWS-managed policy ARNs (arn:aws:iam::aws:policy/…) exist only with this.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(output(&log))
            .stderr(output(&log))
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", server.display()));
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log,
        }
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto_server exited with {status}"));
            }
            // Any HTTP answer means the server loop runs; moto builds its backends lazily.
            if http(self.port, "GET", "/moto-api/").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "moto_server did not answer within {START_TIMEOUT:?}"
        ))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$ROLESMITH_VENV`, else the workspace's `.venv`.
fn venv() -> PathBuf {
    match std::env::var_os("ROLESMITH_VENV") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// A bodyless HTTP/1.1 request; returns the status code.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:.80}")))
}
