//! Guardrail findings on IamPolicy documents, as on IamRoles' inline policies: a policy that
//! grants `*` on `*`, or everything but a NotAction on `*`, is legal and created, with a warning
//! that says why it is risky; and the operator's credentials stay out of the output.

use crate::cli::{self, Env};
use crate::corpus;
use crate::support::{FaultProxy, Moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risky_iampolicy_documents_are_created_with_a_warning() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let secret = "SecretKeyFindings0123456789abcdefghijklmn";
    let env = Env {
        endpoint: &proxy.endpoint,
        secret_access_key: secret,
        extra: vec![("RUST_LOG", "trace")],
    };
    for (file, warning) in [
        (
            "findings/iampolicy-admin.yaml",
            "allows every action on every resource",
        ),
        (
            "findings/iampolicy-notaction.yaml",
            "allows every action except those in NotAction",
        ),
    ] {
        let path = corpus::hostile_path(file);
        let path = path.to_string_lossy();
        let run = cli::rolesmith(&["apply", "-f", &path, "-o", "json"], &env).await;
        assert_eq!(run.code, Some(0), "{}", run.describe());
        let results = run
            .results()
            .unwrap_or_else(|e| panic!("{e}\n{}", run.describe()));
        let warnings = results[0]["warnings"].to_string();
        assert!(warnings.contains(warning), "{file}: {warnings}");
        assert_eq!(
            results[0]["operations"][0]["operation"], "CreatePolicy",
            "{file}"
        );
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{file}"
        );
    }
    assert_eq!(proxy.requests("CreatePolicy"), 2);
}
