//! Which requests a fault answers, and how. Deciding is a pure step (rules, request facts and the
//! clock in; an answer out), so every combination is table-tested without sockets.
//!
//! Probabilistic rules draw from fastrand seeded by (proxy seed, rule, role, action, n-th such
//! request): the same test sees the same failures for the same role whatever order the
//! operator's workers happen to send their requests in.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

/// What the proxy does with a request a rule caught. Messages may hold `{action}` and `{role}`,
/// filled in from the request (IAM's AccessDenied and NoSuchEntity name both).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Error {
        status: u16,
        code: String,
        message: String,
        retry_after_ms: Option<u64>,
    },
    /// A successful answer with this XML body, for answers moto never gives (a service-linked
    /// role's deletion that FAILED).
    Reply {
        body: String,
    },
    /// Closes the connection before IAM sees the request.
    HangUp,
    /// IAM does the work, then the connection drops before the answer arrives.
    ForwardThenHangUp,
    Forward,
}

impl Answer {
    fn filled(&self, action: &str, role: Option<&str>) -> Answer {
        match self {
            Answer::Error {
                status,
                code,
                message,
                retry_after_ms,
            } => Answer::Error {
                status: *status,
                code: code.clone(),
                message: message
                    .replace("{action}", action)
                    .replace("{role}", role.unwrap_or("")),
                retry_after_ms: *retry_after_ms,
            },
            other => other.clone(),
        }
    }
}

/// One scripted misbehaviour. By default it answers the next matching request once; `times`,
/// `always`, `with_probability`, `in_bursts`, `during` and `for_role` shape it.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Action names; `*` matches every action.
    actions: Vec<String>,
    role: Option<String>,
    /// Only requests in this AWS account (see [`super::FaultProxy`]'s account of a request).
    account: Option<String>,
    remaining: usize,
    delay: Duration,
    answer: Answer,
    probability: f64,
    burst: usize,
    window: Option<Duration>,
}

/// An account id moto uses, so error messages look like the ones IAM sends about moto's roles.
const ACCOUNT: &str = "123456789012";

impl Fault {
    /// An IAM error answer, as IAM writes it (query-protocol XML).
    pub fn error(action: &str, status: u16, code: &str, message: &str) -> Fault {
        Fault::new(
            action,
            Answer::Error {
                status,
                code: code.to_string(),
                message: message.to_string(),
                retry_after_ms: None,
            },
        )
    }

    /// IAM's successful answer (HTTP 200) with `body`, the whole XML document, in place of IAM's.
    pub fn reply(action: &str, body: &str) -> Fault {
        Fault::new(
            action,
            Answer::Reply {
                body: body.to_string(),
            },
        )
    }

    /// `Throttling: Rate exceeded`, HTTP 400: what IAM answers when an account's API rate is hit.
    pub fn throttling(action: &str) -> Fault {
        Fault::error(action, 400, "Throttling", "Rate exceeded")
    }

    /// IAM's 500 for a failure on its side.
    pub fn service_failure(action: &str) -> Fault {
        Fault::error(
            action,
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    /// Two writers touched the same role at once (HTTP 409); the SDK does not retry it.
    pub fn concurrent_modification(action: &str) -> Fault {
        Fault::error(
            action,
            409,
            "ConcurrentModification",
            "The request was rejected because multiple requests to change this object were \
             submitted simultaneously. Wait a few minutes and submit your request again.",
        )
    }

    /// A quota, e.g. `("AttachRolePolicy", "PoliciesPerRole", 10)`.
    pub fn limit_exceeded(action: &str, quota: &str, limit: u32) -> Fault {
        Fault::error(
            action,
            409,
            "LimitExceeded",
            &format!("Cannot exceed quota for {quota}: {limit}"),
        )
    }

    /// `detail` as IAM words it, e.g. "Value at 'roleName' failed to satisfy constraint: Member
    /// must have length less than or equal to 64".
    pub fn validation_error(action: &str, detail: &str) -> Fault {
        Fault::error(
            action,
            400,
            "ValidationError",
            &format!("1 validation error detected: {detail}"),
        )
    }

    pub fn malformed_policy(action: &str, message: &str) -> Fault {
        Fault::error(action, 400, "MalformedPolicyDocument", message)
    }

    /// What IAM answers while a principal named in a trust policy is not visible yet.
    pub fn invalid_principal(action: &str, principal_arn: &str) -> Fault {
        Fault::malformed_policy(
            action,
            &format!("Invalid principal in policy: \"AWS\":\"{principal_arn}\""),
        )
    }

    /// DeleteRole while the role still has policies attached.
    pub fn delete_conflict() -> Fault {
        Fault::error(
            "DeleteRole",
            409,
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        )
    }

    /// The operator's own identity lacks `iam:<action>`, worded as IAM words it (HTTP 403).
    pub fn access_denied(action: &str) -> Fault {
        Fault::error(
            action,
            403,
            "AccessDenied",
            &format!(
                "User: arn:aws:iam::{ACCOUNT}:user/rolesmith is not authorized to perform: \
                 iam:{{action}} on resource: role {{role}} because no identity-based policy allows \
                 the iam:{{action}} action"
            ),
        )
    }

    /// Closes the connection without answering (a dropped connection).
    pub fn hang_up(action: &str) -> Fault {
        Fault::new(action, Answer::HangUp)
    }

    /// Forwards to IAM, then drops the connection: the write happened, the caller cannot know.
    pub fn lose_answer(action: &str) -> Fault {
        Fault::new(action, Answer::ForwardThenHangUp)
    }

    /// Forwards to moto, but only after `delay` (for timeouts and slow-IAM tests).
    pub fn slow(action: &str, delay: Duration) -> Fault {
        Fault::new(action, Answer::Forward).delayed(delay)
    }

    /// Replaces the actions this fault applies to.
    pub fn on(mut self, actions: &[&str]) -> Fault {
        self.actions = actions.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Only requests naming this role (form field RoleName).
    pub fn for_role(mut self, role: &str) -> Fault {
        self.role = Some(role.to_string());
        self
    }

    /// Only requests in this account: made with credentials of the account, or an AssumeRole
    /// of a role in it.
    pub fn for_account(mut self, account: &str) -> Fault {
        self.account = Some(account.to_string());
        self
    }

    pub fn times(mut self, times: usize) -> Fault {
        self.remaining = times;
        self
    }

    pub fn always(self) -> Fault {
        self.times(usize::MAX)
    }

    pub fn delayed(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }

    /// Each matching request is answered by this fault with probability `p` (else it passes).
    pub fn with_probability(mut self, p: f64) -> Fault {
        self.probability = p.clamp(0.0, 1.0);
        self
    }

    /// Once it fires for a role and action, it also answers the next `length - 1` requests of
    /// that role and action: outages last longer than the SDK's retries.
    pub fn in_bursts(mut self, length: usize) -> Fault {
        self.burst = length.max(1);
        self
    }

    /// Active from its injection for `window`, then inert.
    pub fn during(mut self, window: Duration) -> Fault {
        self.window = Some(window);
        self
    }

    /// Adds `x-amz-retry-after` (milliseconds) to an error answer.
    pub fn retry_after_ms(mut self, milliseconds: u64) -> Fault {
        if let Answer::Error { retry_after_ms, .. } = &mut self.answer {
            *retry_after_ms = Some(milliseconds);
        }
        self
    }

    fn new(action: &str, answer: Answer) -> Fault {
        Fault {
            actions: vec![action.to_string()],
            role: None,
            account: None,
            remaining: 1,
            delay: Duration::ZERO,
            answer,
            probability: 1.0,
            burst: 1,
            window: None,
        }
    }

    fn applies_to(&self, action: &str, role: Option<&str>, account: Option<&str>) -> bool {
        let action_matches = self.actions.iter().any(|a| a == "*" || a == action);
        let role_matches = self
            .role
            .as_deref()
            .is_none_or(|wanted| role == Some(wanted));
        let account_matches = self
            .account
            .as_deref()
            .is_none_or(|wanted| account == Some(wanted));
        action_matches && role_matches && account_matches
    }
}

/// A fault as injected: its deadline and what it has done to each (role, action) so far.
struct Rule {
    fault: Fault,
    serial: u64,
    expires: Option<Instant>,
    matched: HashMap<(String, String), u64>,
    burst_left: HashMap<(String, String), usize>,
}

/// The injected faults, tried in injection order; the first that fires answers.
pub struct Rules {
    seed: u64,
    next_serial: u64,
    rules: Vec<Rule>,
}

impl Rules {
    pub fn new(seed: u64) -> Rules {
        Rules {
            seed,
            next_serial: 0,
            rules: Vec::new(),
        }
    }

    pub fn push(&mut self, fault: Fault, now: Instant) {
        self.rules.push(Rule {
            expires: fault.window.map(|window| now + window),
            fault,
            serial: self.next_serial,
            matched: HashMap::new(),
            burst_left: HashMap::new(),
        });
        self.next_serial += 1;
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The delay and answer for this request, or None to forward it untouched.
    pub fn decide(
        &mut self,
        action: &str,
        role: Option<&str>,
        now: Instant,
    ) -> Option<(Duration, Answer)> {
        self.decide_in(action, role, None, now)
    }

    /// [`Rules::decide`] for a request in `account`.
    pub fn decide_in(
        &mut self,
        action: &str,
        role: Option<&str>,
        account: Option<&str>,
        now: Instant,
    ) -> Option<(Duration, Answer)> {
        let seed = self.seed;
        for rule in &mut self.rules {
            if rule.fault.remaining == 0
                || rule.expires.is_some_and(|deadline| now >= deadline)
                || !rule.fault.applies_to(action, role, account)
            {
                continue;
            }
            // An account's fault draws per account too: the same role name in two accounts
            // draws on its own. Other faults draw as they always did.
            let who = match &rule.fault.account {
                Some(_) => format!("{}@{}", role.unwrap_or(""), account.unwrap_or("")),
                None => role.unwrap_or("").to_string(),
            };
            let key = (who, action.to_string());
            let n = rule.matched.entry(key.clone()).or_insert(0);
            *n += 1;
            let in_burst = rule.burst_left.get(&key).is_some_and(|left| *left > 0);
            let fires = in_burst
                || rule.fault.probability >= 1.0
                || draw(seed, rule.serial, &key, *n) < rule.fault.probability;
            if !fires {
                continue;
            }
            if in_burst {
                if let Some(left) = rule.burst_left.get_mut(&key) {
                    *left -= 1;
                }
            } else if rule.fault.burst > 1 {
                rule.burst_left.insert(key, rule.fault.burst - 1);
            }
            rule.fault.remaining -= 1;
            return Some((rule.fault.delay, rule.fault.answer.filled(action, role)));
        }
        None
    }
}

/// A number in [0, 1) that depends only on its inputs.
fn draw(seed: u64, serial: u64, key: &(String, String), n: u64) -> f64 {
    let mut hasher = DefaultHasher::new();
    (serial, key, n).hash(&mut hasher);
    fastrand::Rng::with_seed(seed ^ hasher.finish()).f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(answer: Option<(Duration, Answer)>) -> String {
        match answer {
            None => "pass".to_string(),
            Some((_, Answer::Error { code, .. })) => code,
            Some((_, Answer::Reply { .. })) => "reply".to_string(),
            Some((_, Answer::HangUp)) => "hang-up".to_string(),
            Some((_, Answer::ForwardThenHangUp)) => "lose".to_string(),
            Some((delay, Answer::Forward)) => format!("slow {}ms", delay.as_millis()),
        }
    }

    /// A request: action, role, seconds after injection.
    type Req = (&'static str, Option<&'static str>, u64);

    /// A table row: name, faults, requests, expected answers.
    type Case = (&'static str, Vec<Fault>, Vec<Req>, Vec<&'static str>);

    /// Runs `requests` against freshly injected faults.
    fn run(faults: &[Fault], requests: &[Req]) -> Vec<String> {
        let start = Instant::now();
        let mut rules = Rules::new(7);
        for fault in faults {
            rules.push(fault.clone(), start);
        }
        requests
            .iter()
            .map(|(action, role, at)| {
                code(rules.decide(action, *role, start + Duration::from_secs(*at)))
            })
            .collect()
    }

    #[test]
    fn an_account_fault_answers_only_that_account() {
        let start = Instant::now();
        let mut rules = Rules::new(7);
        rules.push(
            Fault::access_denied("AssumeRole")
                .for_account("222222222222")
                .always(),
            start,
        );
        let answers: Vec<String> = [
            ("AssumeRole", Some("222222222222")),
            ("AssumeRole", Some("111111111111")),
            ("AssumeRole", None),
            ("AssumeRole", Some("222222222222")),
        ]
        .iter()
        .map(|(action, account)| code(rules.decide_in(action, None, *account, start)))
        .collect();
        assert_eq!(answers, ["AccessDenied", "pass", "pass", "AccessDenied"]);
    }

    #[test]
    fn matching_counting_and_windows() {
        let r = Some("app");
        let cases: Vec<Case> = vec![
            (
                "one shot by default",
                vec![Fault::throttling("GetRole")],
                vec![("GetRole", r, 0), ("GetRole", r, 0)],
                vec!["Throttling", "pass"],
            ),
            (
                "other actions pass",
                vec![Fault::throttling("GetRole").always()],
                vec![("ListRolePolicies", r, 0), ("GetRole", r, 0)],
                vec!["pass", "Throttling"],
            ),
            (
                "star matches everything, times counts",
                vec![Fault::hang_up("*").times(2)],
                vec![("GetRole", r, 0), ("TagRole", None, 0), ("GetRole", r, 0)],
                vec!["hang-up", "hang-up", "pass"],
            ),
            (
                "several actions",
                vec![
                    Fault::invalid_principal("CreateRole", "arn:aws:iam::1:role/x")
                        .on(&["CreateRole", "UpdateAssumeRolePolicy"])
                        .always(),
                ],
                vec![
                    ("CreateRole", r, 0),
                    ("UpdateAssumeRolePolicy", r, 0),
                    ("PutRolePolicy", r, 0),
                ],
                vec!["MalformedPolicyDocument", "MalformedPolicyDocument", "pass"],
            ),
            (
                "one role only",
                vec![Fault::lose_answer("*").for_role("app").always()],
                vec![
                    ("GetRole", Some("other"), 0),
                    ("GetRole", r, 0),
                    ("ListRoles", None, 0),
                ],
                vec!["pass", "lose", "pass"],
            ),
            (
                "a window closes",
                vec![
                    Fault::throttling("*")
                        .always()
                        .during(Duration::from_secs(3)),
                ],
                vec![
                    ("GetRole", r, 0),
                    ("GetRole", r, 2),
                    ("GetRole", r, 3),
                    ("GetRole", r, 9),
                ],
                vec!["Throttling", "Throttling", "pass", "pass"],
            ),
            (
                "the first rule that fires wins; a spent one steps aside",
                vec![
                    Fault::slow("GetRole", Duration::from_millis(5)),
                    Fault::service_failure("*").always(),
                ],
                vec![("GetRole", r, 0), ("GetRole", r, 0)],
                vec!["slow 5ms", "ServiceFailure"],
            ),
            (
                "probability 0 never fires",
                vec![Fault::throttling("*").always().with_probability(0.0)],
                vec![("GetRole", r, 0), ("GetRole", r, 0), ("GetRole", r, 0)],
                vec!["pass", "pass", "pass"],
            ),
        ];
        for (name, faults, requests, want) in cases {
            assert_eq!(run(&faults, &requests), want, "{name}");
        }
    }

    #[test]
    fn messages_name_the_action_and_the_role() {
        let mut rules = Rules::new(1);
        let now = Instant::now();
        rules.push(Fault::access_denied("AttachRolePolicy"), now);
        let Some((
            _,
            Answer::Error {
                status, message, ..
            },
        )) = rules.decide("AttachRolePolicy", Some("app"), now)
        else {
            panic!("AccessDenied expected");
        };
        assert_eq!(status, 403);
        assert_eq!(
            message,
            "User: arn:aws:iam::123456789012:user/rolesmith is not authorized to perform: \
             iam:AttachRolePolicy on resource: role app because no identity-based policy allows \
             the iam:AttachRolePolicy action"
        );
    }

    #[test]
    fn probability_is_close_to_the_rate_and_reproducible() {
        let requests: Vec<(String, u64)> =
            (0..2000).map(|i| (format!("role-{}", i % 50), 0)).collect();
        let outcomes = |seed: u64| {
            let now = Instant::now();
            let mut rules = Rules::new(seed);
            rules.push(Fault::throttling("*").always().with_probability(0.3), now);
            requests
                .iter()
                .map(|(role, _)| rules.decide("GetRole", Some(role), now).is_some())
                .collect::<Vec<bool>>()
        };
        let first = outcomes(42);
        let fired = first.iter().filter(|f| **f).count();
        assert!((500..700).contains(&fired), "{fired} of 2000 at p = 0.3");
        assert_eq!(first, outcomes(42), "same seed, same failures");
        assert_ne!(first, outcomes(43), "another seed, other failures");
    }

    #[test]
    fn draws_do_not_depend_on_other_roles_requests() {
        let now = Instant::now();
        let fault = Fault::service_failure("*").always().with_probability(0.5);
        let alone = {
            let mut rules = Rules::new(9);
            rules.push(fault.clone(), now);
            (0..20)
                .map(|_| rules.decide("GetRole", Some("a"), now).is_some())
                .collect::<Vec<_>>()
        };
        let interleaved = {
            let mut rules = Rules::new(9);
            rules.push(fault, now);
            (0..20)
                .map(|_| {
                    rules.decide("GetRole", Some("b"), now);
                    rules.decide("GetRole", Some("a"), now).is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(alone, interleaved);
    }

    #[test]
    fn a_burst_outlasts_the_sdk_retries() {
        let now = Instant::now();
        let mut rules = Rules::new(3);
        rules.push(
            Fault::service_failure("*")
                .always()
                .with_probability(0.2)
                .in_bursts(3),
            now,
        );
        let fired: Vec<bool> = (0..400)
            .map(|_| rules.decide("PutRolePolicy", Some("app"), now).is_some())
            .collect();
        // Every run of failures is a whole number of bursts (3 long, or back-to-back bursts).
        let mut run = 0;
        for &f in fired.iter().chain(std::iter::once(&false)) {
            if f {
                run += 1;
            } else {
                assert_eq!(run % 3, 0, "{fired:?}");
                run = 0;
            }
        }
        assert!(fired.iter().any(|f| *f));
    }
}
