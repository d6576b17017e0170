//! Every status the IamRoles pass through, seen the way users see them (`kubectl get -w`): a
//! transient retry may last a fraction of a second, which polling would miss.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::harness::{World, condition, kubectl_binary};

/// One status as it was written.
#[derive(Clone, Debug)]
pub struct Seen {
    pub object: String,
    pub ready: String,
    pub reason: String,
    pub message: String,
    pub reconciling: String,
}

impl Seen {
    /// What a transient IAM failure must look like: not Ready because of it, and being retried.
    pub fn is_transient_retry(&self) -> bool {
        self.ready == "False" && self.reason == "IamTransient" && self.reconciling == "True"
    }
}

pub struct StatusWatch {
    child: Child,
    reader: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StatusWatch {
    pub fn start(world: &World) -> StatusWatch {
        let mut child = Command::new(kubectl_binary())
            .args([
                "get",
                "iamroles",
                "--all-namespaces",
                "--watch",
                "-o",
                "json",
            ])
            .env("KUBECONFIG", world.sim.kubeconfig())
            .env("HOME", world.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl get --watch runs");
        let stdout = child.stdout.take().expect("kubectl's stdout is piped");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            // kubectl prints one JSON document per change, back to back.
            let stream = serde_json::Deserializer::from_reader(BufReader::new(stdout));
            for document in stream.into_iter::<Value>() {
                let Ok(document) = document else { return };
                let objects = match document["items"].as_array() {
                    Some(items) => items.clone(),
                    None => vec![document],
                };
                let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
                sink.extend(objects.iter().filter_map(seen_in));
            }
        });
        StatusWatch {
            child,
            reader: Some(reader),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn transient_retries(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(Seen::is_transient_retry)
            .collect()
    }
}

fn seen_in(object: &Value) -> Option<Seen> {
    let ready = condition(object, "Ready")?;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
    Some(Seen {
        object: format!(
            "{}/{}",
            text(&object["metadata"]["namespace"]),
            text(&object["metadata"]["name"])
        ),
        ready: text(&ready["status"]),
        reason: text(&ready["reason"]),
        message: text(&ready["message"]),
        reconciling: condition(object, "Reconciling")
            .map(|c| text(&c["status"]))
            .unwrap_or_default(),
    })
}

impl Drop for StatusWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
