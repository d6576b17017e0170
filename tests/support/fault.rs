//! A fault-injecting HTTP proxy in front of moto. moto never throttles, never fails with a 5xx,
//! never drops a connection and knows no quota; real IAM does all of that. The proxy answers
//! chosen IAM actions with IAM's real error bodies (or hangs up, or stalls) and forwards
//! everything else to moto, counting every request it sees, SDK retries included.
//!
//! Plain threads and blocking sockets, so it works whatever runtime (if any) the test uses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with a request it intercepts.
#[derive(Clone, Debug)]
enum Answer {
    Error {
        status: u16,
        code: String,
        message: String,
        retry_after_ms: Option<u64>,
    },
    HangUp,
    Forward,
}

/// One scripted misbehaviour: for the next `times` requests of `action` ("*": any action).
#[derive(Clone, Debug)]
pub struct Fault {
    action: String,
    remaining: usize,
    delay: Duration,
    answer: Answer,
}

impl Fault {
    /// An IAM error answer, as IAM writes it (query-protocol XML).
    pub fn error(action: &str, status: u16, code: &str, message: &str) -> Fault {
        Fault::new(
            action,
            Answer::Error {
                status,
                code: code.to_string(),
                message: message.to_string(),
                retry_after_ms: None,
            },
        )
    }

    /// `Throttling: Rate exceeded`, HTTP 400: what IAM answers when an account's API rate is hit.
    pub fn throttling(action: &str) -> Fault {
        Fault::error(action, 400, "Throttling", "Rate exceeded")
    }

    /// Closes the connection without answering (a dropped connection).
    pub fn hang_up(action: &str) -> Fault {
        Fault::new(action, Answer::HangUp)
    }

    /// Forwards to moto, but only after `delay` (for timeouts and slow-IAM tests).
    pub fn slow(action: &str, delay: Duration) -> Fault {
        Fault::new(action, Answer::Forward).delayed(delay)
    }

    pub fn times(mut self, times: usize) -> Fault {
        self.remaining = times;
        self
    }

    pub fn always(self) -> Fault {
        self.times(usize::MAX)
    }

    pub fn delayed(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Adds `x-amz-retry-after` (milliseconds) to an error answer.
    pub fn retry_after_ms(mut self, milliseconds: u64) -> Fault {
        if let Answer::Error { retry_after_ms, .. } = &mut self.answer {
            *retry_after_ms = Some(milliseconds);
        }
        self
    }

    fn new(action: &str, answer: Answer) -> Fault {
        Fault {
            action: action.to_string(),
            remaining: 1,
            delay: Duration::ZERO,
            answer,
        }
    }

    fn matches(&self, action: &str) -> bool {
        self.remaining > 0 && (self.action == "*" || self.action == action)
    }
}

struct State {
    upstream_port: u16,
    faults: Mutex<Vec<Fault>>,
    seen: Mutex<Vec<String>>,
    stopping: AtomicBool,
}

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
        let upstream_port = upstream
            .strip_prefix("http://127.0.0.1:")
            .and_then(|port| port.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("upstream must be http://127.0.0.1:PORT, got {upstream}"));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(State {
            upstream_port,
            faults: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
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

    /// Faults are tried in the order they were injected; the first that matches is used up.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state.faults).push(fault);
    }

    pub fn clear(&self) {
        lock(&self.state.faults).clear();
    }

    /// Requests of `action` seen so far, each SDK retry counted.
    pub fn requests(&self, action: &str) -> usize {
        lock(&self.state.seen)
            .iter()
            .filter(|seen| *seen == action)
            .count()
    }

    /// Every action seen, in order.
    pub fn actions(&self) -> Vec<String> {
        lock(&self.state.seen).clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
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

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

/// One request per connection, answered with `Connection: close`: the SDK simply reconnects.
fn serve(state: &State, mut stream: TcpStream) {
    if state.stopping.load(Ordering::SeqCst) {
        return;
    }
    let Ok(request) = read_request(&stream) else {
        return;
    };
    let action = form_value(&request.body, "Action").unwrap_or_default();
    lock(&state.seen).push(action.clone());
    let fault = {
        let mut faults = lock(&state.faults);
        faults
            .iter_mut()
            .find(|fault| fault.matches(&action))
            .map(|fault| {
                fault.remaining -= 1;
                fault.clone()
            })
    };
    let (delay, answer) = fault.map_or((Duration::ZERO, Answer::Forward), |fault| {
        (fault.delay, fault.answer)
    });
    std::thread::sleep(delay);
    let _ = match answer {
        Answer::Error {
            status,
            code,
            message,
            retry_after_ms,
        } => stream.write_all(&error_response(status, &code, &message, retry_after_ms)),
        Answer::HangUp => stream.shutdown(Shutdown::Both),
        Answer::Forward => {
            forward(state.upstream_port, &request).and_then(|response| stream.write_all(&response))
        }
    };
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { head, body })
}

/// The value of one parameter of an `application/x-www-form-urlencoded` body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn forward(upstream_port: u16, request: &Request) -> std::io::Result<Vec<u8>> {
    let mut upstream = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream_port))?;
    let mut head = String::new();
    for line in &request.head {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&request.body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(response)
}

fn error_response(status: u16, code: &str, message: &str, retry_after_ms: Option<u64>) -> Vec<u8> {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    \
         <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>6f8a1c9e-0000-4000-8000-fault0proxy0</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message)
    );
    let retry_after = retry_after_ms
        .map(|ms| format!("x-amz-retry-after: {ms}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: 6f8a1c9e-0000-4000-8000-fault0proxy0\r\n{retry_after}Connection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
