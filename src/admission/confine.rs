//! Namespace confinement: which role names and paths an IamRole in a namespace may claim.
//!
//! Ownership tags stop one object from taking another object's role, but not from *squatting* a
//! name another team will need, or from adopting an untagged admin role with `adopt: true`. So
//! by default a namespace may only name roles under its own prefix (`<namespace>.` — a dot can
//! never appear in a namespace name, so `team.` never covers `team-a.`; derived names
//! `<namespace>.<name>` always comply), and optionally only under its own path. Platform
//! namespaces can be exempted.

use super::problem::{Problem, Rule};

/// The rules, from the command line. Templates may contain `{namespace}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confinement {
    /// Every role name of a namespace starts with this (case-insensitively, as IAM compares
    /// names). Empty: no name confinement.
    pub name_prefix: String,
    /// Every role path of a namespace starts with this. Empty or `/`: no path confinement.
    pub path_prefix: String,
    /// Namespaces the rules do not apply to.
    pub exempt_namespaces: Vec<String>,
}

pub const DEFAULT_NAME_PREFIX: &str = "{namespace}.";

impl Default for Confinement {
    fn default() -> Self {
        Confinement {
            name_prefix: DEFAULT_NAME_PREFIX.to_string(),
            path_prefix: String::new(),
            exempt_namespaces: Vec::new(),
        }
    }
}

impl Confinement {
    /// No confinement at all (the CLI's default: its user already holds IAM credentials).
    pub fn none() -> Self {
        Confinement {
            name_prefix: String::new(),
            path_prefix: String::new(),
            exempt_namespaces: Vec::new(),
        }
    }

    fn exempt(&self, namespace: &str) -> bool {
        self.exempt_namespaces.iter().any(|n| n == namespace)
    }

    /// Every reason `role_name` / `path` are not this namespace's to use.
    pub fn check(&self, namespace: &str, role_name: &str, path: &str) -> Vec<Problem> {
        if self.exempt(namespace) {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if !self.name_prefix.is_empty() {
            let prefix = render(&self.name_prefix, namespace);
            let starts = role_name
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(&prefix));
            if !starts {
                problems.push(Problem::new(
                    "spec.roleName",
                    Rule::ConfinementNamePrefix,
                    format!(
                        "{role_name:?} is outside namespace {namespace}'s roles: names must start with {prefix:?} (operator flag --role-name-prefix); omit roleName to get {prefix}<name>"
                    ),
                ));
            }
        }
        let path_prefix = render(&self.path_prefix, namespace);
        if !path_prefix.is_empty() && path_prefix != "/" && !path.starts_with(&path_prefix) {
            problems.push(Problem::new(
                "spec.path",
                Rule::ConfinementPathPrefix,
                format!(
                    "{path:?} is outside namespace {namespace}'s roles: paths must start with {path_prefix:?} (operator flag --role-path-prefix)"
                ),
            ));
        }
        problems
    }
}

impl Confinement {
    /// Whether an object in `from` may refer to an IamPolicy in `to`: within a namespace always;
    /// across namespaces only from an unconfined namespace (exempt, or no name confinement at
    /// all), since an attachment grants the referenced policy's permissions to the referring
    /// role.
    pub fn may_refer(&self, from: &str, to: &str) -> bool {
        from == to || self.exempt(from) || self.name_prefix.is_empty()
    }

    /// Whether an object in `namespace` may take over something the whole account shares (an
    /// existing service-linked role): only from an unconfined namespace, since deleting the
    /// object then deletes it for everyone.
    pub fn may_take_shared(&self, namespace: &str) -> bool {
        self.exempt(namespace) || self.name_prefix.is_empty()
    }
}

fn render(template: &str, namespace: &str) -> String {
    template.replace("{namespace}", namespace)
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_across_namespaces() {
        let confined = Confinement {
            exempt_namespaces: vec!["platform".into()],
            ..Confinement::default()
        };
        // (from, to, allowed)
        for (from, to, want) in [
            ("team-a", "team-a", true),
            ("team-a", "team-b", false),
            ("platform", "team-b", true),
            ("team-a", "platform", false),
        ] {
            assert_eq!(confined.may_refer(from, to), want, "{from} -> {to}");
        }
        assert!(Confinement::none().may_refer("team-a", "team-b"));
    }

    use super::*;

    fn rules(name: &str, path: &str, exempt: &[&str]) -> Confinement {
        Confinement {
            name_prefix: name.into(),
            path_prefix: path.into(),
            exempt_namespaces: exempt.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn names_and_paths() {
        use Rule::{ConfinementNamePrefix as Name, ConfinementPathPrefix as Path};
        let default = Confinement::default();
        let none = Confinement::none();
        let paths = rules("", "/k8s/{namespace}/", &["platform"]);
        let both = rules("{namespace}-", "/k8s/{namespace}/", &[]);
        let cases: &[(&Confinement, &str, &str, &str, &[Rule])] = &[
            (&default, "team-a", "team-a.app", "/", &[]),
            (&default, "team-a", "TEAM-A.app", "/", &[]),
            (&default, "team-a", "team-b.app", "/", &[Name]),
            (&default, "team", "team-a.app", "/", &[Name]),
            (&default, "team-a", "admin", "/", &[Name]),
            (&default, "team-a", "team-a", "/", &[Name]),
            (&none, "team-a", "admin", "/", &[]),
            (&paths, "team-a", "anything", "/k8s/team-a/", &[]),
            (&paths, "team-a", "anything", "/k8s/team-a/sub/", &[]),
            (&paths, "team-a", "anything", "/", &[Path]),
            (&paths, "team-a", "anything", "/k8s/team-ab/", &[Path]),
            (&paths, "platform", "anything", "/", &[]),
            (&both, "a", "b-x", "/", &[Name, Path]),
        ];
        for (rules, namespace, name, path, want) in cases {
            let got: Vec<Rule> = rules
                .check(namespace, name, path)
                .iter()
                .map(|p| p.rule)
                .collect();
            assert_eq!(got, *want, "{namespace} {name} {path}");
        }
    }
}
