//! IAM's eventual consistency after CreateRole: for a while, the replica that answers the next
//! call may not know the role yet, and says `NoSuchEntity` (HTTP 404) to reads and writes alike.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Visibility {
    delay: Option<Duration>,
    created: HashMap<String, Instant>,
}

impl Visibility {
    /// Roles created from now on stay invisible for `delay`; `None` makes everything visible.
    pub fn set_delay(&mut self, delay: Option<Duration>) {
        self.delay = delay;
        if delay.is_none() {
            self.created.clear();
        }
    }

    /// IAM accepted a CreateRole for `role`.
    pub fn created(&mut self, role: &str, now: Instant) {
        if self.delay.is_some() {
            self.created.insert(role.to_string(), now);
        }
    }

    /// Whether this request must be told the role does not exist. CreateRole itself sees the
    /// truth: the name is taken.
    pub fn hides(&self, action: &str, role: Option<&str>, now: Instant) -> bool {
        let (Some(delay), Some(role)) = (self.delay, role) else {
            return false;
        };
        action != "CreateRole"
            && self
                .created
                .get(role)
                .is_some_and(|at| now.duration_since(*at) < delay)
    }
}

/// IAM's answer about a role it cannot see, with `{role}` to fill in.
pub const NOT_FOUND_MESSAGE: &str = "The role with name {role} cannot be found.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_for_the_delay_after_create() {
        let t0 = Instant::now();
        let secs = |s: u64| t0 + Duration::from_secs(s);
        let mut visibility = Visibility::default();
        visibility.created("before", t0);
        visibility.set_delay(Some(Duration::from_secs(3)));
        visibility.created("app", t0);
        let cases = [
            ("GetRole", Some("app"), 0, true),
            ("PutRolePolicy", Some("app"), 2, true),
            ("ListRolePolicies", Some("app"), 2, true),
            ("CreateRole", Some("app"), 1, false),
            ("GetRole", Some("app"), 3, false),
            ("GetRole", Some("other"), 0, false),
            ("GetRole", Some("before"), 0, false),
            ("ListRoles", None, 0, false),
        ];
        for (action, role, at, want) in cases {
            assert_eq!(
                visibility.hides(action, role, secs(at)),
                want,
                "{action} {role:?} at {at}s"
            );
        }
        visibility.set_delay(None);
        assert!(!visibility.hides("GetRole", Some("app"), t0));
    }
}
