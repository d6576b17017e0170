//! A kubeconfig pointing kubectl, Helm and kube at the sim.

use std::io;
use std::path::Path;

/// kube-apiserver would reject this token; the sim accepts any caller.
pub const TOKEN: &str = "kube-sim-dummy-token";

pub fn render(server_url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kube-sim
  cluster:
    server: {server_url}
users:
- name: kube-sim
  user:
    token: {TOKEN}
contexts:
- name: kube-sim
  context:
    cluster: kube-sim
    user: kube-sim
    namespace: default
current-context: kube-sim
preferences: {{}}
"
    )
}

pub fn write(path: &Path, server_url: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_names_the_server_and_context() {
        let text = render("http://127.0.0.1:1234");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["current-context"], "kube-sim");
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            "http://127.0.0.1:1234"
        );
        assert_eq!(doc["contexts"][0]["context"]["namespace"], "default");
        assert_eq!(doc["users"][0]["user"]["token"], TOKEN);
    }
}
