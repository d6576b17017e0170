//! The EKS adapter (aws-sdk-eks) against the fake EKS endpoint in tests/fake-eks: moto
//! does not implement Pod Identity associations, so this fake, written to EKS's API model, is
//! what proves the adapter's requests and its reading of the answers and errors.

use std::collections::BTreeMap;

use rolesmith::eks::{AwsEks, EksApi, Slot};
use rolesmith::error::{Category, Error};

use fake_eks::FakeEks;

use crate::support::test_config;

fn slot<'a>(cluster: &'a str, namespace: &'a str, service_account: &'a str) -> Slot<'a> {
    Slot {
        cluster,
        namespace,
        service_account,
    }
}

const ROLE: &str = "arn:aws:iam::123456789012:role/team.app";

#[tokio::test]
async fn associations_are_created_found_and_deleted() {
    let fake = FakeEks::start("prod").await;
    let eks =
        AwsEks::with_static_credentials(&test_config(&fake.endpoint), "testing", "testing").await;
    assert_eq!(
        eks.find_association(slot("prod", "team", "worker"))
            .await
            .expect("list"),
        None
    );

    let tags = BTreeMap::from([("rolesmith.dev/owner".to_string(), "c/team/app".to_string())]);
    let made = eks
        .create_association(slot("prod", "team", "worker"), ROLE, &tags)
        .await
        .expect("created");
    assert_eq!(
        (
            made.namespace.as_str(),
            made.service_account.as_str(),
            made.role_arn.as_str()
        ),
        ("team", "worker", ROLE)
    );
    assert_eq!(fake.associations()[0].tags, tags);
    let found = eks
        .find_association(slot("prod", "team", "worker"))
        .await
        .expect("list")
        .expect("found");
    assert_eq!(found, made);

    // One association per ServiceAccount: a second one is refused, and worth another look.
    match eks
        .create_association(slot("prod", "team", "worker"), ROLE, &BTreeMap::new())
        .await
    {
        Err(Error::Iam { code, category, .. }) => {
            assert_eq!(code, "ResourceInUseException");
            assert_eq!(category, Category::IamTransient);
        }
        other => panic!("{other:?}"),
    }

    eks.delete_association("prod", &made.id)
        .await
        .expect("deleted");
    assert!(fake.associations().is_empty());
    // Already gone is not an error.
    eks.delete_association("prod", &made.id)
        .await
        .expect("idempotent");

    match eks
        .find_association(slot("staging", "team", "worker"))
        .await
    {
        Err(Error::Iam { code, action, .. }) => {
            assert_eq!(
                (action, code.as_str()),
                ("ListPodIdentityAssociations", "ResourceNotFoundException")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fake.calls()[..3],
        [
            "GET /clusters/prod/pod-identity-associations",
            "POST /clusters/prod/pod-identity-associations",
            "GET /clusters/prod/pod-identity-associations",
        ]
    );
}
