//! Service-linked roles through kubectl: created by IAM and deleted through the object; an
//! existing one refused without `adopt`, taken with it (and not from a confined namespace); a
//! deletion IAM reports as FAILED keeps the object, with IAM's reason, until it succeeds. moto
//! never fails a deletion: that answer comes from the fault proxy, as IAM writes it.

use std::time::{Duration, Instant};

use rolesmith::iam::IamApi;
use rolesmith::plan::service_linked_role::DesiredServiceLinkedRole;
use serde_json::Value;

use crate::harness::{OperatorOptions, World, condition, tail};
use crate::support::{Fault, FaultProxy};

const BEANSTALK: &str = "AWSServiceRoleForElasticBeanstalk";

fn slr(namespace: &str, name: &str, service: &str, adopt: bool) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamServiceLinkedRole
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  awsServiceName: {service}
  description: made through kubectl
  adopt: {adopt}
"#
    )
}

fn get(world: &World, namespace: &str, name: &str) -> Option<Value> {
    let output = world.kubectl(&[
        "get",
        "iamservicelinkedrole",
        name,
        "-n",
        namespace,
        "-o",
        "json",
    ]);
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).expect("kubectl prints JSON"))
}

/// Polls the object until `check` holds (None: the object is gone).
async fn wait_for(
    world: &World,
    namespace: &str,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let object = get(world, namespace, name);
        if check(object.as_ref()) {
            return object;
        }
        assert!(
            Instant::now() < deadline,
            "{namespace}/{name}: {what} not reached; status: {}\noperator log:\n{}",
            object.map(|o| o["status"].clone()).unwrap_or_default(),
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ready_reason(object: Option<&Value>) -> Option<String> {
    let ready = condition(object?, "Ready")?;
    Some(format!(
        "{}/{}",
        ready["status"].as_str()?,
        ready["reason"].as_str()?
    ))
}

async fn listed(world: &World, service: &str) -> Vec<String> {
    world
        .iam
        .list_service_linked_roles(service)
        .await
        .expect("IAM answers")
        .into_iter()
        .map(|role| role.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_then_deleted_with_the_object() {
    let world = World::start().await;
    world.apply_yaml(&slr(
        "default",
        "beanstalk",
        "elasticbeanstalk.amazonaws.com",
        false,
    ));
    world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamservicelinkedrole/beanstalk",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    let object = get(&world, "default", "beanstalk").expect("exists");
    assert_eq!(object["status"]["roleName"], BEANSTALK);
    assert!(object["status"]["adopted"].is_null(), "{object}");
    assert_eq!(
        listed(&world, "elasticbeanstalk.amazonaws.com").await,
        [BEANSTALK]
    );
    let printed = world.kubectl_ok(&["get", "iamslr", "-n", "default"]);
    assert!(
        printed.contains(BEANSTALK) && printed.contains("elasticbeanstalk.amazonaws.com"),
        "{printed}"
    );

    world.kubectl_ok(&[
        "delete",
        "iamservicelinkedrole",
        "beanstalk",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    assert!(
        listed(&world, "elasticbeanstalk.amazonaws.com")
            .await
            .is_empty()
    );
    assert!(world.events_about("beanstalk").contains(BEANSTALK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_role_needs_adopt_from_an_unconfined_namespace() {
    let world = World::start().await;
    let existing = world
        .iam
        .create_service_linked_role(&DesiredServiceLinkedRole {
            aws_service_name: "autoscaling.amazonaws.com".into(),
            ..Default::default()
        })
        .await
        .expect("made by someone else");

    // Without adopt: refused, nothing written.
    world.apply_yaml(&slr(
        "default",
        "scaling",
        "autoscaling.amazonaws.com",
        false,
    ));
    let refused = wait_for(&world, "default", "scaling", "refused", |o| {
        ready_reason(o).as_deref() == Some("False/OwnershipConflict")
    })
    .await
    .expect("exists");
    let message = condition(&refused, "Ready").expect("Ready")["message"].to_string();
    assert!(message.contains("spec.adopt: true"), "{message}");
    assert!(condition(&refused, "Stalled").is_some_and(|c| c["status"] == "True"));
    assert!(refused["status"]["roleName"].is_null(), "{refused}");

    // From a confined namespace, adopt is refused too: the role is the account's.
    world.kubectl_ok(&["create", "namespace", "team-x"]);
    world.apply_yaml(&slr("team-x", "scaling", "autoscaling.amazonaws.com", true));
    wait_for(&world, "team-x", "scaling", "forbidden", |o| {
        ready_reason(o).as_deref() == Some("False/OutsideNamespaceRoles")
    })
    .await;

    // With adopt, from an unconfined namespace: recorded as this object's.
    world.apply_yaml(&slr(
        "default",
        "scaling",
        "autoscaling.amazonaws.com",
        true,
    ));
    let adopted = wait_for(&world, "default", "scaling", "adopted", |o| {
        ready_reason(o).as_deref() == Some("True/Synced")
    })
    .await
    .expect("exists");
    assert_eq!(adopted["status"]["roleName"], existing.name.as_str());
    assert_eq!(adopted["status"]["adopted"], true);
    assert_eq!(
        listed(&world, "autoscaling.amazonaws.com").await,
        std::slice::from_ref(&existing.name)
    );

    // The confined namespace's object never owned it: deleting it leaves the role.
    world.kubectl_ok(&[
        "delete",
        "iamservicelinkedrole",
        "scaling",
        "-n",
        "team-x",
        "--timeout=60s",
    ]);
    assert_eq!(
        listed(&world, "autoscaling.amazonaws.com").await,
        std::slice::from_ref(&existing.name)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deletion_keeps_the_object_with_iams_reason() {
    let mut world = World::start().await;
    world.kill_operator();
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: vec!["--unconfined-namespaces".into(), "default".into()],
        ..OperatorOptions::default()
    });
    world.apply_yaml(&slr(
        "default",
        "beanstalk",
        "elasticbeanstalk.amazonaws.com",
        false,
    ));
    wait_for(&world, "default", "beanstalk", "Ready", |o| {
        ready_reason(o).as_deref() == Some("True/Synced")
    })
    .await;

    // IAM takes the deletion, then reports it FAILED: the service still uses the role.
    proxy.inject(Fault::reply("DeleteServiceLinkedRole", DELETE_ANSWER).always());
    proxy.inject(Fault::reply("GetServiceLinkedRoleDeletionStatus", FAILED_ANSWER).always());
    world.kubectl_ok(&[
        "delete",
        "iamservicelinkedrole",
        "beanstalk",
        "-n",
        "default",
        "--wait=false",
    ]);
    let held = wait_for(&world, "default", "beanstalk", "deletion FAILED", |o| {
        o.is_some_and(|o| o["status"]["deletion"]["status"] == "FAILED")
    })
    .await
    .expect("the finalizer keeps it");
    let reason = held["status"]["deletion"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("in use by an Elastic Beanstalk environment"),
        "{held}"
    );
    assert!(reason.contains("us-east-1"), "{held}");
    assert!(
        condition(&held, "Stalled").is_some_and(|c| c["status"] == "True"),
        "{held}"
    );
    assert!(
        world
            .events_about("beanstalk")
            .contains("in use by an Elastic Beanstalk environment"),
        "{}",
        world.events_about("beanstalk")
    );
    assert_eq!(
        listed(&world, "elasticbeanstalk.amazonaws.com").await,
        [BEANSTALK]
    );

    // The service lets go: the next attempt (with backoff) deletes it, and the object goes.
    proxy.clear();
    wait_for(&world, "default", "beanstalk", "gone", |o| o.is_none()).await;
    assert!(
        listed(&world, "elasticbeanstalk.amazonaws.com")
            .await
            .is_empty()
    );
}

const DELETE_ANSWER: &str = r#"<DeleteServiceLinkedRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <DeleteServiceLinkedRoleResult>
    <DeletionTaskId>task/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk/e2e</DeletionTaskId>
  </DeleteServiceLinkedRoleResult>
  <ResponseMetadata><RequestId>6f8a1c9e-0000-4000-8000-fault0proxy0</RequestId></ResponseMetadata>
</DeleteServiceLinkedRoleResponse>
"#;

const FAILED_ANSWER: &str = r#"<GetServiceLinkedRoleDeletionStatusResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetServiceLinkedRoleDeletionStatusResult>
    <Status>FAILED</Status>
    <Reason>
      <Reason>The role is in use by an Elastic Beanstalk environment</Reason>
      <RoleUsageList>
        <member>
          <Region>us-east-1</Region>
          <Resources><member>arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/prod</member></Resources>
        </member>
      </RoleUsageList>
    </Reason>
  </GetServiceLinkedRoleDeletionStatusResult>
  <ResponseMetadata><RequestId>6f8a1c9e-0000-4000-8000-fault0proxy0</RequestId></ResponseMetadata>
</GetServiceLinkedRoleDeletionStatusResponse>
"#;

/// Bad input stops at the API server: the schema's pattern and the immutability rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_refuses_what_iam_would() {
    let world = World::start().await;
    let refused = |yaml: &str| {
        let output = world.kubectl_stdin(&["apply", "-f", "-"], yaml);
        assert!(!output.status.success(), "accepted: {yaml}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let message = refused(&slr("default", "bad", "Elastic Beanstalk", false));
    assert!(message.contains("awsServiceName"), "{message}");
    let message = refused(&slr(
        "default",
        "bad",
        "elasticbeanstalk.example.com",
        false,
    ));
    assert!(message.contains("awsServiceName"), "{message}");

    world.apply_yaml(&slr(
        "default",
        "kept",
        "elasticbeanstalk.amazonaws.com",
        false,
    ));
    let message = refused(&slr("default", "kept", "autoscaling.amazonaws.com", false));
    assert!(message.contains("awsServiceName is immutable"), "{message}");
    let suffixed =
        slr("default", "kept", "elasticbeanstalk.amazonaws.com", false) + "  customSuffix: app\n";
    let message = refused(&suffixed);
    assert!(message.contains("customSuffix is immutable"), "{message}");
}

/// Two objects for one role: the second is refused even with adopt (deleting either would
/// delete the other's role). And a create whose answer is lost (IAM made the role, the
/// operator never heard) still ends with the role recorded as the object's own, not refused as
/// someone else's: status said `creating` before the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_role_one_object_even_when_an_answer_is_lost() {
    let mut world = World::start().await;
    world.kill_operator();
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: vec!["--unconfined-namespaces".into(), "default".into()],
        ..OperatorOptions::default()
    });
    proxy.inject(Fault::lose_answer("CreateServiceLinkedRole"));
    world.apply_yaml(&slr(
        "default",
        "first",
        "elasticbeanstalk.amazonaws.com",
        false,
    ));
    let first = wait_for(&world, "default", "first", "Ready", |o| {
        ready_reason(o).as_deref() == Some("True/Synced")
    })
    .await
    .expect("exists");
    assert_eq!(first["status"]["roleName"], BEANSTALK);
    assert!(first["status"]["adopted"].is_null(), "{first}");
    assert!(first["status"]["creating"].is_null(), "{first}");
    // The answer really was lost: IAM made the role and the operator never heard.
    assert!(
        proxy
            .log()
            .iter()
            .any(|e| e.action == "CreateServiceLinkedRole" && e.answer.label().contains("lost")),
        "{}",
        proxy.dump()
    );

    world.apply_yaml(&slr(
        "default",
        "second",
        "elasticbeanstalk.amazonaws.com",
        true,
    ));
    let second = wait_for(&world, "default", "second", "refused", |o| {
        ready_reason(o).as_deref() == Some("False/OwnershipConflict")
    })
    .await
    .expect("exists");
    let message = condition(&second, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("IamServiceLinkedRole default/first"),
        "{message}"
    );
    // Deleting the refused one leaves the role to the first.
    world.kubectl_ok(&[
        "delete",
        "iamservicelinkedrole",
        "second",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    assert_eq!(
        listed(&world, "elasticbeanstalk.amazonaws.com").await,
        [BEANSTALK]
    );
}
