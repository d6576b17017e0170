//! The hostile corpus (tests/hostile/corpus) through the running operator: every manifest the
//! CRD lets through but the engine refuses gets Ready=False with the reason and an Event, makes
//! no IAM write, and the good role next to them still converges. No credential leaks into the
//! operator's log, Events or status.

#[allow(dead_code, reason = "shared with the hostile test binary")]
#[path = "../hostile/corpus.rs"]
pub(crate) mod corpus;

use std::time::Duration;

use crate::harness::{SECRET_ACCESS_KEY, World, condition, repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_refusals_reach_status_and_events_and_never_iam() {
    let world = World::start().await;
    let good = std::fs::read_to_string(repo("tests/hostile/good.yaml")).expect("good.yaml");
    world.apply_yaml(&good);
    let cases: Vec<_> = corpus::load()
        .into_iter()
        .filter(|c| {
            c.header.layer == corpus::Layer::Engine
                && c.header.stage == corpus::Stage::Object
                // IamPolicy cases are run by tests/e2e/policies.rs.
                && !c.text.contains("\nkind: IamPolicy")
        })
        .collect();
    assert!(cases.len() >= 30, "only {} engine-layer cases", cases.len());
    let mut applied = Vec::new();
    for case in &cases {
        let output = world.kubectl_stdin(&["apply", "-f", "-"], &case.text);
        if output.status.success() {
            applied.push(case);
        } else {
            // Refused earlier than the engine (e.g. an object name kube-apiserver refuses): fine,
            // and nothing reached IAM either.
            println!(
                "{}: refused by the API server: {}",
                case.name,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    assert!(
        applied.len() >= 25,
        "most engine-layer cases pass the schema"
    );
    let good_name = rolesmith::manifest::parse(&good, "default").expect("good parses")[0]
        .metadata
        .name
        .clone()
        .unwrap_or_default();
    world.wait_ready("default", &good_name, "120s");

    let mut refused = 0;
    let mut normalized = Vec::new();
    for case in &applied {
        let name = rolesmith::manifest::parse(&case.text, "default")
            .ok()
            .and_then(|roles| roles.into_iter().next())
            .and_then(|role| role.metadata.name)
            .unwrap_or_else(|| panic!("{}: no name", case.name));
        // What the API server stored may differ from the file (it drops null values of
        // non-nullable fields, for one): the operator must refuse exactly what the engine
        // refuses of the *stored* object.
        let stored: rolesmith::api::IamRole =
            serde_json::from_value(world.get_json("default", &name)).expect("stored object reads");
        let unconfined = rolesmith::admission::Confinement::none();
        let context = rolesmith::admission::Context {
            confinement: &unconfined,
            ignore_tag_keys: &[],
            cluster_id: crate::harness::CLUSTER_ID,
            workloads: &Default::default(),
        };
        let input = rolesmith::desired::input(&stored);
        let engine_refuses = rolesmith::admission::admit(&input, &context).is_err();
        if !engine_refuses {
            normalized.push(name);
            continue;
        }
        refused += 1;
        let object = world
            .wait_for_object("default", &name, "refused", Duration::from_secs(60), |o| {
                condition(o, "Ready").is_some_and(|c| c["status"] == "False" && c["reason"] != "")
            })
            .await;
        let ready = condition(&object, "Ready").expect("Ready");
        let message = ready["message"].as_str().unwrap_or_default();
        for fragment in case.header.engine_fragments() {
            assert!(
                message.contains(fragment),
                "{}: {fragment:?} not in {message:?}",
                case.name
            );
        }
        assert!(ready["reason"] == "InvalidSpec", "{}: {ready}", case.name);
        assert!(!object.to_string().contains(SECRET_ACCESS_KEY));
    }
    println!(
        "{refused} refused by the operator; stored differently by the API server (then valid): {normalized:?}"
    );
    assert!(
        refused >= 25,
        "only {refused} cases reached the engine as written"
    );
    for name in &normalized {
        world.wait_ready("default", name, "60s");
    }
    let reasons = world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    let refusals = reasons
        .split_whitespace()
        .filter(|r| *r == "InvalidSpec" || *r == "InvalidObject")
        .count();
    assert!(
        refusals >= refused,
        "{refusals} refusal events for {refused} refused objects"
    );

    // IAM holds the good role only.
    let client = crate::support::sdk_client(&world.moto.endpoint).await;
    let roles = client.list_roles().send().await.expect("list roles");
    let names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(
        names.len(),
        1 + normalized.len(),
        "only the valid roles exist: {names:?}"
    );
    let events = world.kubectl_ok(&["get", "events", "-n", "default", "-o", "json"]);
    assert!(
        !events.contains(SECRET_ACCESS_KEY),
        "a credential leaked into an Event"
    );
    assert!(
        !world.operator_log().contains(SECRET_ACCESS_KEY),
        "a credential leaked into the log"
    );
}
