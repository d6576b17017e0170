use super::*;

fn spec(id: &str, namespaces: &[&str], default: bool) -> AwsAccountSpec {
    AwsAccountSpec {
        account_id: id.to_string(),
        assume_role: None,
        allowed_namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
        default,
    }
}

fn outcome(result: Result<Chosen<'_>, Error>) -> String {
    match result {
        Ok(Chosen::Own) => "own".to_string(),
        Ok(Chosen::Account(name)) => name.to_string(),
        Err(error) => error.category().as_str().to_string(),
    }
}

#[test]
fn choosing_the_account() {
    let b = spec("111111111111", &["team-b"], false);
    let all = spec("222222222222", &["*"], false);
    let none = spec("333333333333", &[], false);
    let default_a = spec("444444444444", &["team-a", "team-b"], true);
    let default_b = spec("555555555555", &["*"], true);
    let known = |name, spec| Known { name, spec };
    let plain = [known("b", &b), known("all", &all), known("none", &none)];
    let with_default = [known("b", &b), known("def", &default_a)];
    let two_defaults = [known("def", &default_a), known("def2", &default_b)];
    // name, accountRef, namespace, AwsAccounts, expected
    type Case<'a> = (&'a str, Option<&'a str>, &'a str, &'a [Known<'a>], &'a str);
    let cases: Vec<Case> = vec![
        ("no AwsAccounts: the operator's own", None, "x", &[], "own"),
        ("no ref, no default: own", None, "team-b", &plain, "own"),
        ("named and allowed", Some("b"), "team-b", &plain, "b"),
        (
            "named, not allowed",
            Some("b"),
            "team-a",
            &plain,
            "AccountNotAllowed",
        ),
        (
            "star allows every namespace",
            Some("all"),
            "anything",
            &plain,
            "all",
        ),
        (
            "empty list allows none",
            Some("none"),
            "team-b",
            &plain,
            "AccountNotAllowed",
        ),
        (
            "missing AwsAccount",
            Some("gone"),
            "team-b",
            &plain,
            "AccountUnavailable",
        ),
        (
            "default used without ref",
            None,
            "team-a",
            &with_default,
            "def",
        ),
        (
            "default does not allow",
            None,
            "team-c",
            &with_default,
            "AccountNotAllowed",
        ),
        (
            "ref wins over default",
            Some("b"),
            "team-b",
            &with_default,
            "b",
        ),
        (
            "two defaults: neither",
            None,
            "team-a",
            &two_defaults,
            "AccountUnavailable",
        ),
        (
            "two defaults, named one still works",
            Some("def2"),
            "team-z",
            &two_defaults,
            "def2",
        ),
    ];
    for (name, account_ref, namespace, accounts, want) in cases {
        assert_eq!(
            outcome(choose(account_ref, namespace, accounts)),
            want,
            "{name}"
        );
    }
}

#[test]
fn a_role_stays_in_its_account() {
    let arn_b = "arn:aws:iam::111111111111:role/x";
    let cases = [
        (None, None, "123456789012", true),
        (Some("111111111111"), None, "111111111111", true),
        (Some("111111111111"), None, "123456789012", false),
        (None, Some(arn_b), "111111111111", true),
        (None, Some(arn_b), "123456789012", false),
        (
            Some("111111111111"),
            Some("arn:aws:iam::999999999999:role/x"),
            "111111111111",
            true,
        ),
    ];
    for (account_id, arn, chosen, ok) in cases {
        let lives = home(account_id, arn);
        let result = stays_home(lives.as_deref(), chosen);
        assert_eq!(result.is_ok(), ok, "{account_id:?} {arn:?} → {chosen}");
        if let Err(error) = result {
            assert_eq!(error.category(), Category::AccountNotAllowed);
        }
    }
}
