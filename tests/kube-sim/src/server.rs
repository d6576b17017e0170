//! The HTTP/1.1 side: accepting connections (one task each, keep-alive), turning hyper requests
//! into handler calls, and streaming watch responses as chunked newline-delimited JSON.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

use crate::handlers;
use crate::request::{Reply, Request};
use crate::store::State;
use crate::watch;

type Body = BoxBody<Bytes, Infallible>;

pub struct Shared {
    state: Mutex<State>,
    log: bool,
    /// The most recent requests, for tests that check what a client did (e.g. against RBAC).
    requests: Mutex<std::collections::VecDeque<RecordedRequest>>,
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub user_agent: String,
}

/// Enough for any test scenario; older requests are forgotten first.
const RECORDED_REQUESTS: usize = 200_000;

impl Shared {
    pub fn new(log: bool) -> Self {
        Shared {
            state: Mutex::new(State::new()),
            log,
            requests: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .map(|requests| requests.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, request: RecordedRequest) {
        if let Ok(mut requests) = self.requests.lock() {
            if requests.len() >= RECORDED_REQUESTS {
                requests.pop_front();
            }
            requests.push_back(request);
        }
    }

    /// A handler that panicked cannot leave the state half-written (handlers build the new
    /// object before storing it), so a poisoned lock is still safe to use.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An accept loop; dropping `stop` (or sending on it) ends it and every connection it accepted.
pub struct Listening {
    stop: signal::Sender<bool>,
    task: JoinHandle<()>,
}

impl Listening {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub fn listen(listener: TcpListener, shared: Arc<Shared>) -> Listening {
    let (stop, stop_rx) = signal::channel(false);
    let task = tokio::spawn(accept_loop(listener, shared, stop_rx));
    Listening { stop, task }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: signal::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, shared.clone(), stop.clone()));
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: signal::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(serve(shared, req).await) }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

async fn serve(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: Request::parse_query(parts.uri.query()),
        content_type: header(hyper::header::CONTENT_TYPE),
        accept: header(hyper::header::ACCEPT),
        user_agent: header(hyper::header::USER_AGENT),
        body,
    };
    shared.record(RecordedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        query: parts.uri.query().unwrap_or("").to_string(),
        user_agent: request.user_agent.clone(),
    });
    let reply = handlers::handle(&mut shared.state(), &request);
    if shared.log {
        let code = match &reply {
            Reply::Json { code, .. } | Reply::Text { code, .. } => code.to_string(),
            Reply::Watch(_) => "WATCH".to_string(),
        };
        eprintln!(
            "kube-sim: {} {}?{} -> {code} | Accept={} | CT={}",
            request.method,
            request.path,
            parts.uri.query().unwrap_or(""),
            request.accept,
            request.content_type
        );
    }
    respond(reply)
}

fn respond(reply: Reply) -> Response<Body> {
    let builder = Response::builder();
    let result = match reply {
        Reply::Json {
            code,
            body,
            content_type,
            warnings,
        } => {
            let mut builder = builder
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .header("Content-Type", content_type);
            for w in warnings {
                builder =
                    builder.header("Warning", format!("299 - {}", serde_json::Value::String(w)));
            }
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            builder.body(Full::new(Bytes::from(bytes)).boxed())
        }
        Reply::Text { code, body } => builder
            .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header("Content-Type", "text/plain")
            .body(Full::new(Bytes::from(body)).boxed()),
        Reply::Watch(setup) => {
            let rx = watch::spawn(*setup);
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|line| (Ok::<_, Infallible>(Frame::data(line)), rx))
            });
            builder
                .status(StatusCode::OK)
                .header("Content-Type", "application/json")
                .body(StreamBody::new(stream).boxed())
        }
    };
    result.unwrap_or_else(|_| {
        let mut fallback = Response::new(Full::new(Bytes::from_static(b"internal error")).boxed());
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
