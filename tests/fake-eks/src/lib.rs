//! A fake EKS endpoint for Pod Identity associations, on 127.0.0.1. moto does not implement
//! CreatePodIdentityAssociation (it answers 404), so the tests that need one (in-process,
//! [`FakeEks`]) and the local sandbox (the `fake-eks` binary) talk to this. It
//! follows the EKS API model as aws-sdk-eks sends it (REST-JSON): `POST` and `GET
//! /clusters/{name}/pod-identity-associations` (create; list, filtered by the `namespace` and
//! `serviceAccount` query parameters), `GET` and `DELETE
//! /clusters/{name}/pod-identity-associations/{associationId}` (describe, delete); answers
//! `{"association": …}` / `{"associations": […]}`, and errors as a status with the
//! `x-amzn-ErrorType` header and a `{"message"}` body: ResourceNotFoundException (404) for an
//! unknown cluster or association, ResourceInUseException (409) for a second association of a
//! ServiceAccount, InvalidParameterException (400) for a missing field. Requests are not
//! signature-checked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// One association the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Default)]
struct Fake {
    clusters: Vec<String>,
    associations: BTreeMap<String, Association>,
    next_id: u64,
    /// "METHOD path" of every request, in order.
    calls: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

pub struct FakeEks {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEks {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeEks {
    /// Serves `cluster` (other cluster names are not found) on a free port.
    pub async fn start(cluster: &str) -> FakeEks {
        let (app, state) = routes(&[cluster.to_string()]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the fake EKS");
        let port = listener.local_addr().expect("bound address").port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEks {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            server,
        }
    }

    pub fn associations(&self) -> Vec<Association> {
        self.lock().associations.values().cloned().collect()
    }

    /// An association made by someone else (not through rolesmith).
    pub fn add(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) -> String {
        let mut fake = self.lock();
        let id = fake.new_id();
        fake.associations.insert(
            id.clone(),
            Association {
                id: id.clone(),
                cluster: cluster.into(),
                namespace: namespace.into(),
                service_account: service_account.into(),
                role_arn: role_arn.into(),
                tags: BTreeMap::new(),
            },
        );
        id
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Fake> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The fake's routes for `clusters` (the `fake-eks` binary serves them).
pub fn app(clusters: &[String]) -> Router {
    routes(clusters).0
}

/// The routes and the state they share.
fn routes(clusters: &[String]) -> (Router, Shared) {
    let state: Shared = Arc::new(Mutex::new(Fake {
        clusters: clusters.to_vec(),
        ..Fake::default()
    }));
    let app = Router::new()
        .route(
            "/clusters/{cluster}/pod-identity-associations",
            get(list).post(create),
        )
        .route(
            "/clusters/{cluster}/pod-identity-associations/{id}",
            get(describe).delete(delete),
        )
        .with_state(state.clone());
    (app, state)
}

impl Fake {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("a-{:017x}", self.next_id)
    }

    /// The error answer for a cluster the fake does not serve.
    fn unknown(&self, cluster: &str) -> Option<Response> {
        if self.clusters.iter().any(|c| c == cluster) {
            None
        } else {
            Some(error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("No cluster found for name: {cluster}."),
            ))
        }
    }
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-errortype", code.parse().expect("header value"));
    headers.insert(
        "content-type",
        "application/json".parse().expect("header value"),
    );
    (status, headers, json!({"message": message}).to_string()).into_response()
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn full(association: &Association) -> Value {
    json!({
        "clusterName": association.cluster,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "roleArn": association.role_arn,
        "associationArn": arn(association),
        "associationId": association.id,
        "tags": association.tags,
    })
}

fn arn(association: &Association) -> String {
    format!(
        "arn:aws:eks:us-east-1:123456789012:podidentityassociation/{}/{}",
        association.cluster, association.id
    )
}

fn query(raw: Option<String>) -> BTreeMap<String, String> {
    raw.unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

async fn create(State(state): State<Shared>, Path(cluster): Path<String>, body: Bytes) -> Response {
    let mut fake = lock(&state);
    fake.calls.push(format!(
        "POST /clusters/{cluster}/pod-identity-associations"
    ));
    if let Some(response) = fake.unknown(&cluster) {
        return response;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |name: &str| {
        request[name]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (Some(namespace), Some(service_account), Some(role_arn)) = (
        field("namespace"),
        field("serviceAccount"),
        field("roleArn"),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            "namespace, serviceAccount and roleArn are required",
        );
    };
    if let Some(existing) = fake.associations.values().find(|a| {
        a.cluster == cluster && a.namespace == namespace && a.service_account == service_account
    }) {
        let message = format!("Association already exists: {}", existing.id);
        return error(StatusCode::CONFLICT, "ResourceInUseException", &message);
    }
    let tags = request["tags"]
        .as_object()
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let id = fake.new_id();
    let association = Association {
        id: id.clone(),
        cluster,
        namespace,
        service_account,
        role_arn,
        tags,
    };
    let body = json!({"association": full(&association)});
    fake.associations.insert(id, association);
    ok(body)
}

async fn list(
    State(state): State<Shared>,
    Path(cluster): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut fake = lock(&state);
    fake.calls
        .push(format!("GET /clusters/{cluster}/pod-identity-associations"));
    if let Some(response) = fake.unknown(&cluster) {
        return response;
    }
    let filters = query(raw);
    let matches = |wanted: Option<&String>, value: &str| wanted.is_none_or(|w| w == value);
    let associations: Vec<Value> = fake
        .associations
        .values()
        .filter(|a| a.cluster == cluster)
        .filter(|a| matches(filters.get("namespace"), &a.namespace))
        .filter(|a| matches(filters.get("serviceAccount"), &a.service_account))
        .map(|a| {
            json!({
                "clusterName": a.cluster,
                "namespace": a.namespace,
                "serviceAccount": a.service_account,
                "associationArn": arn(a),
                "associationId": a.id,
            })
        })
        .collect();
    ok(json!({"associations": associations}))
}

async fn describe(
    State(state): State<Shared>,
    Path((cluster, id)): Path<(String, String)>,
) -> Response {
    let mut fake = lock(&state);
    fake.calls.push(format!(
        "GET /clusters/{cluster}/pod-identity-associations/{id}"
    ));
    if let Some(response) = fake.unknown(&cluster) {
        return response;
    }
    match fake.associations.get(&id).filter(|a| a.cluster == cluster) {
        Some(association) => ok(json!({"association": full(association)})),
        None => not_found(&id),
    }
}

async fn delete(
    State(state): State<Shared>,
    Path((cluster, id)): Path<(String, String)>,
) -> Response {
    let mut fake = lock(&state);
    fake.calls.push(format!(
        "DELETE /clusters/{cluster}/pod-identity-associations/{id}"
    ));
    if let Some(response) = fake.unknown(&cluster) {
        return response;
    }
    match fake.associations.remove(&id) {
        Some(association) => ok(json!({"association": full(&association)})),
        None => not_found(&id),
    }
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("No Pod Identity Association found for id: {id}."),
    )
}
