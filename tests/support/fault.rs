//! A fault-injecting HTTP proxy in front of moto. moto never throttles, never fails with a 5xx,
//! never drops a connection, knows no quota and is never eventually consistent; real IAM does all
//! of that. The proxy answers chosen requests with IAM's real error bodies (or hangs up, loses the
//! answer, stalls, or pretends a new role does not exist yet) and forwards everything else to
//! moto, logging every request it sees, SDK retries included.
//!
//! Plain threads and blocking sockets, so it works whatever runtime (if any) the test uses.

pub mod log;
mod pages;
mod rules;
mod visibility;
mod wire;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use self::log::{Answered, Entry};
pub use self::rules::Fault;

use self::rules::{Answer, Rules};
use self::visibility::{NOT_FOUND_MESSAGE, Visibility};

/// The seed of `FaultProxy::start`: tests are reproducible unless they ask for another.
const DEFAULT_SEED: u64 = 0x5eed_f00d;

/// A bulk read: its action and its request without the marker.
type BulkRead = (String, Vec<u8>);

struct State {
    upstream_port: u16,
    started: Instant,
    rules: Mutex<Rules>,
    visibility: Mutex<Visibility>,
    latency: Mutex<Duration>,
    /// Bulk reads answered this many roles a page (None: as moto answers, all at once).
    page_size: Mutex<Option<usize>>,
    /// moto's whole answer to the first page of a bulk read, by action and request: the later
    /// pages are cut from it, as IAM pages one snapshot (and moto is asked once per read, not
    /// once per page: it scans the whole account for each answer).
    first_pages: Mutex<BTreeMap<BulkRead, Vec<u8>>>,
    log: Mutex<Vec<Entry>>,
    /// Access keys moto's STS handed out, and the account each acts in.
    keys: Mutex<BTreeMap<String, String>>,
    stopping: AtomicBool,
}

/// The account of moto's own credentials (any key its STS did not hand out).
pub const HOME_ACCOUNT: &str = "123456789012";

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: give this to the IAM client instead of moto's endpoint.
    pub endpoint: String,
    port: u16,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// `upstream` is moto's endpoint, `http://127.0.0.1:PORT`.
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_seeded(upstream, DEFAULT_SEED)
    }

    /// Probabilistic faults draw from `seed`.
    pub fn start_seeded(upstream: &str, seed: u64) -> FaultProxy {
        let upstream_port = upstream
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("upstream must be http://127.0.0.1:PORT, got {upstream}"));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(State {
            upstream_port,
            started: Instant::now(),
            rules: Mutex::new(Rules::new(seed)),
            visibility: Mutex::new(Visibility::default()),
            latency: Mutex::new(Duration::ZERO),
            page_size: Mutex::new(None),
            first_pages: Mutex::new(BTreeMap::new()),
            log: Mutex::new(Vec::new()),
            keys: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
        });
        let acceptor_state = Arc::clone(&state);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if acceptor_state.stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let state = Arc::clone(&acceptor_state);
                    std::thread::spawn(move || serve(&state, stream));
                }
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            state,
            acceptor: Some(acceptor),
        }
    }

    /// Faults are tried in the order they were injected; the first that fires answers. A
    /// `during` window starts now.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state.rules).push(fault, Instant::now());
    }

    /// Every role created from now on answers `NoSuchEntity` to everything but CreateRole for
    /// `delay` after its CreateRole went through.
    pub fn delay_visibility(&self, delay: Duration) {
        lock(&self.state.visibility).set_delay(Some(delay));
    }

    /// ListRoles and GetAccountAuthorizationDetails answer `size` roles a page, with markers,
    /// as real IAM may (moto answers everything in one page).
    pub fn cut_pages(&self, size: usize) {
        *lock(&self.state.page_size) = Some(size.max(1));
    }

    /// Every request waits this long before it is answered, on top of any fault's delay.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.state.latency) = latency;
    }

    /// Ends every misbehaviour: faults, delayed visibility and latency. The log stays.
    pub fn clear(&self) {
        lock(&self.state.rules).clear();
        lock(&self.state.visibility).set_delay(None);
        *lock(&self.state.latency) = Duration::ZERO;
    }

    /// Time since the proxy started, on the clock of [`Entry::at`].
    pub fn elapsed(&self) -> Duration {
        self.state.started.elapsed()
    }

    /// Every request answered so far, in the order they were answered.
    pub fn log(&self) -> Vec<Entry> {
        lock(&self.state.log).clone()
    }

    /// The account each access key acts in, as moto's STS handed the keys out.
    pub fn key_accounts(&self) -> BTreeMap<String, String> {
        lock(&self.state.keys).clone()
    }

    /// Requests of `action` seen so far, each SDK retry counted.
    pub fn requests(&self, action: &str) -> usize {
        lock(&self.state.log)
            .iter()
            .filter(|entry| entry.action == action)
            .count()
    }

    /// Every action seen, in order.
    pub fn actions(&self) -> Vec<String> {
        lock(&self.state.log)
            .iter()
            .map(|entry| entry.action.clone())
            .collect()
    }

    /// Write requests per role (RoleName), failed and retried ones included.
    pub fn writes_per_role(&self) -> BTreeMap<String, usize> {
        log::writes_per_role(&self.log())
    }

    /// Requests per role that failed because of the proxy (any action).
    pub fn injected_per_role(&self) -> BTreeMap<String, usize> {
        log::injected_per_role(&self.log())
    }

    pub fn counts_per_action(&self) -> BTreeMap<String, usize> {
        log::per_action(&self.log())
    }

    /// Requests that arrived in `[from, to)` (proxy clock).
    pub fn requests_between(&self, from: Duration, to: Duration) -> usize {
        log::between(&self.log(), from, to)
    }

    /// The most requests that arrived within one second.
    pub fn peak_per_second(&self) -> usize {
        log::peak_per_second(&self.log())
    }

    /// The whole log, one line per request.
    pub fn dump(&self) -> String {
        log::render(&self.log())
    }

    /// Writes the log to a file in the temp directory and returns its path.
    pub fn dump_to_file(&self) -> std::io::Result<std::path::PathBuf> {
        let path = std::env::temp_dir().join(format!("rolesmith-fault-proxy-{}.log", self.port));
        std::fs::write(&path, self.dump())?;
        Ok(path)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // A failing test gets the whole story without asking for it.
        if std::thread::panicking() {
            match self.dump_to_file() {
                Ok(path) => eprintln!(
                    "fault proxy: {} requests logged to {}",
                    lock(&self.state.log).len(),
                    path.display()
                ),
                Err(error) => eprintln!("fault proxy: cannot write its log: {error}"),
            }
        }
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Test state stays readable after a panicking connection thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One request per connection, answered with `Connection: close`: the SDK simply reconnects.
/// The log entry is written before the caller sees the answer, so a caller that counts right
/// after its call returns finds it.
fn serve(state: &State, mut stream: TcpStream) {
    if state.stopping.load(Ordering::SeqCst) {
        return;
    }
    let Ok(request) = wire::read_request(&stream) else {
        return;
    };
    let arrived = Instant::now();
    let action = wire::form_value(&request.body, "Action").unwrap_or_default();
    let role = wire::form_value(&request.body, "RoleName");
    let access_key = wire::access_key(&request.head);
    let assumed_account = (action == "AssumeRole")
        .then(|| wire::form_value(&request.body, "RoleArn"))
        .flatten()
        .and_then(|arn| arn.split(':').nth(4).map(str::to_string));
    let account = assumed_account.clone().or_else(|| {
        access_key.as_ref().map(|key| {
            lock(&state.keys)
                .get(key)
                .cloned()
                .unwrap_or_else(|| HOME_ACCOUNT.to_string())
        })
    });
    let external_id = wire::form_value(&request.body, "ExternalId");
    let session_tag = wire::form_value(&request.body, "Tags.member.1.Key").map(|key| {
        let value = wire::form_value(&request.body, "Tags.member.1.Value");
        format!("{key}={}", value.unwrap_or_default())
    });
    let (delay, answer) = decide(state, &action, role.as_deref(), account.as_deref(), arrived);
    // Read first: a guard held through the sleep would make every request wait in line.
    let latency = *lock(&state.latency);
    std::thread::sleep(latency + delay);
    let record = |answer: Answered| {
        lock(&state.log).push(Entry {
            at: arrived.duration_since(state.started),
            action: action.clone(),
            role: role.clone(),
            answer,
            took: arrived.elapsed(),
            access_key: access_key.clone(),
            account: account.clone(),
            external_id: external_id.clone(),
            session_tag: session_tag.clone(),
        });
    };
    let _ = match answer {
        Answer::Error {
            status,
            code,
            message,
            retry_after_ms,
        } => {
            record(Answered::Injected {
                status,
                code: code.clone(),
            });
            stream.write_all(&wire::error_response(
                status,
                &code,
                &message,
                retry_after_ms,
            ))
        }
        Answer::Reply { body } => {
            record(Answered::Injected {
                status: 200,
                code: "Reply".to_string(),
            });
            stream.write_all(&wire::success_response(&body))
        }
        Answer::HangUp => {
            record(Answered::HungUp);
            stream.shutdown(Shutdown::Both)
        }
        Answer::ForwardThenHangUp => match wire::forward(state.upstream_port, &request) {
            Ok((status, _)) => {
                note_created(state, &action, role.as_deref(), status);
                record(Answered::LostAnswer { status });
                stream.shutdown(Shutdown::Both)
            }
            Err(error) => {
                record(Answered::UpstreamFailed);
                Err(error)
            }
        },
        Answer::Forward => match forward_paged(state, &action, request) {
            Ok((status, response)) => {
                note_created(state, &action, role.as_deref(), status);
                if let (200, Some(target)) = (status, &assumed_account)
                    && let Some(key) = wire::xml_value(&response, "AccessKeyId")
                {
                    lock(&state.keys).insert(key, target.clone());
                }
                record(Answered::Forwarded { status });
                stream.write_all(&response)
            }
            Err(error) => {
                record(Answered::UpstreamFailed);
                Err(error)
            }
        },
    };
}

/// Forwards to moto; a bulk read is cut to the proxy's page size when one is set.
fn forward_paged(
    state: &State,
    action: &str,
    request: wire::Request,
) -> std::io::Result<(u16, Vec<u8>)> {
    let size = *lock(&state.page_size);
    let (Some(size), Some(list)) = (size, pages::list_element(action)) else {
        return wire::forward(state.upstream_port, &request);
    };
    let (body, offset) = pages::take_marker(&request.body);
    let head = request
        .head
        .iter()
        .map(|line| {
            if line.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {}", body.len())
            } else {
                line.clone()
            }
        })
        .collect();
    let key = (action.to_string(), body.clone());
    if offset > 0
        && let Some(whole) = lock(&state.first_pages).get(&key)
    {
        return Ok((200, pages::cut(whole, list, offset, size)));
    }
    let (status, response) = wire::forward(state.upstream_port, &wire::Request { head, body })?;
    if status != 200 {
        return Ok((status, response));
    }
    let page = pages::cut(&response, list, offset, size);
    lock(&state.first_pages).insert(key, response);
    Ok((status, page))
}

/// A role IAM cannot see yet answers NoSuchEntity before any rule is consulted.
fn decide(
    state: &State,
    action: &str,
    role: Option<&str>,
    account: Option<&str>,
    now: Instant,
) -> (Duration, Answer) {
    if lock(&state.visibility).hides(action, role, now) {
        let message = NOT_FOUND_MESSAGE.replace("{role}", role.unwrap_or(""));
        return (
            Duration::ZERO,
            Answer::Error {
                status: 404,
                code: "NoSuchEntity".to_string(),
                message,
                retry_after_ms: None,
            },
        );
    }
    lock(&state.rules)
        .decide_in(action, role, account, now)
        .unwrap_or((Duration::ZERO, Answer::Forward))
}

fn note_created(state: &State, action: &str, role: Option<&str>, status: u16) {
    if let (true, Some(role)) = (action == "CreateRole" && status == 200, role) {
        lock(&state.visibility).created(role, Instant::now());
    }
}
