//! Service-linked roles through the IAM adapter: moto creates, lists and deletes them (its
//! deletion task always answers SUCCEEDED at once); a FAILED deletion, which moto never gives,
//! is IAM's answer injected by the fault proxy.

use rolesmith::iam::IamApi;
use rolesmith::plan::service_linked_role::{
    Deletion, DesiredServiceLinkedRole, deletion, is_the_role, service_role_path,
};

use crate::support::{Fault, FaultProxy, MOTO_ACCOUNT_ID, Moto, counted_iam};

fn desired(service: &str, suffix: Option<&str>) -> DesiredServiceLinkedRole {
    DesiredServiceLinkedRole {
        aws_service_name: service.into(),
        custom_suffix: suffix.map(str::to_string),
        description: "made by a test".into(),
    }
}

#[tokio::test]
async fn created_listed_by_service_and_deleted() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let beanstalk = desired("elasticbeanstalk.amazonaws.com", None);
    let role = iam.create_service_linked_role(&beanstalk).await.unwrap();
    assert_eq!(role.name, "AWSServiceRoleForElasticBeanstalk");
    assert_eq!(
        role.path,
        service_role_path("elasticbeanstalk.amazonaws.com")
    );
    assert_eq!(
        role.arn,
        format!(
            "arn:aws:iam::{MOTO_ACCOUNT_ID}:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk"
        )
    );
    let scaling = desired("autoscaling.amazonaws.com", Some("app"));
    let suffixed = iam.create_service_linked_role(&scaling).await.unwrap();
    assert_eq!(suffixed.name, "AWSServiceRoleForAutoScaling_app");

    // Each service's list holds its own roles only, found by the object's suffix.
    calls.reset();
    let listed = iam
        .list_service_linked_roles("elasticbeanstalk.amazonaws.com")
        .await
        .unwrap();
    assert_eq!(listed, vec![role.clone()]);
    assert_eq!(calls.count("ListRoles"), 1);
    let listed = iam
        .list_service_linked_roles("autoscaling.amazonaws.com")
        .await
        .unwrap();
    assert_eq!(listed, vec![suffixed.clone()]);
    assert!(is_the_role(&scaling, &listed[0].name));
    assert!(!is_the_role(
        &desired("autoscaling.amazonaws.com", None),
        &listed[0].name
    ));

    // A second create of the same role is IAM's refusal, never a second role.
    let again = iam
        .create_service_linked_role(&beanstalk)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");

    let task = iam
        .delete_service_linked_role(&role.name)
        .await
        .unwrap()
        .expect("a deletion task");
    let answer = iam
        .service_linked_role_deletion_status(&task)
        .await
        .unwrap();
    assert_eq!(deletion(&answer), Deletion::Done, "{answer:?}");
    assert!(
        iam.list_service_linked_roles("elasticbeanstalk.amazonaws.com")
            .await
            .unwrap()
            .is_empty()
    );
    // Gone already: no task, no error.
    assert_eq!(
        iam.delete_service_linked_role(&role.name).await.unwrap(),
        None
    );
}

/// moto's deletion tasks never fail. IAM's FAILED answer (the service still uses the role) is
/// injected by the proxy, as IAM writes it, and comes back with IAM's reason and where the role
/// is used.
#[tokio::test]
async fn a_failed_deletion_carries_iams_reason() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let (iam, _) = counted_iam(&proxy.endpoint).await;
    proxy.inject(Fault::reply(
        "GetServiceLinkedRoleDeletionStatus",
        FAILED_ANSWER,
    ));
    let answer = iam
        .service_linked_role_deletion_status("task/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk/1")
        .await
        .unwrap();
    assert_eq!(answer.status, "FAILED");
    assert_eq!(
        deletion(&answer),
        Deletion::Failed {
            reason: "The role is in use by an Elastic Beanstalk environment (still used in us-east-1: arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/prod)".into()
        }
    );
}

const FAILED_ANSWER: &str = r#"<GetServiceLinkedRoleDeletionStatusResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetServiceLinkedRoleDeletionStatusResult>
    <Status>FAILED</Status>
    <Reason>
      <Reason>The role is in use by an Elastic Beanstalk environment</Reason>
      <RoleUsageList>
        <member>
          <Region>us-east-1</Region>
          <Resources>
            <member>arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/prod</member>
          </Resources>
        </member>
      </RoleUsageList>
    </Reason>
  </GetServiceLinkedRoleDeletionStatusResult>
  <ResponseMetadata>
    <RequestId>6f8a1c9e-0000-4000-8000-fault0proxy0</RequestId>
  </ResponseMetadata>
</GetServiceLinkedRoleDeletionStatusResponse>
"#;
