//! The proxy's record of every request: when it came, which action and role it named, and what
//! the proxy answered. Tests count from it (writes per role, failures the proxy caused, requests
//! per second) and print it when they fail.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The IAM write actions rolesmith can issue.
pub const WRITE_ACTIONS: &[&str] = &[
    "CreateRole",
    "UpdateRole",
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "TagRole",
    "UntagRole",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "RemoveRoleFromInstanceProfile",
    "DeleteRole",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// IAM (moto) answered; its status code.
    Forwarded { status: u16 },
    /// The proxy answered with an IAM error instead of IAM.
    Injected { status: u16, code: String },
    /// The proxy closed the connection; IAM never saw the request.
    HungUp,
    /// IAM did the work (answering `status`), the proxy dropped the answer.
    LostAnswer { status: u16 },
    /// moto could not be reached.
    UpstreamFailed,
}

impl Answered {
    /// The proxy, not IAM, made this request fail.
    pub fn injected(&self) -> bool {
        matches!(
            self,
            Answered::Injected { .. } | Answered::HungUp | Answered::LostAnswer { .. }
        )
    }

    /// The code a caller saw, or "ok".
    pub fn label(&self) -> String {
        match self {
            Answered::Forwarded { status } if *status < 300 => "ok".to_string(),
            Answered::Forwarded { status } => format!("iam {status}"),
            Answered::Injected { status, code } => format!("{code} {status} (injected)"),
            Answered::HungUp => "hung up (injected)".to_string(),
            Answered::LostAnswer { status } => format!("answer {status} lost (injected)"),
            Answered::UpstreamFailed => "upstream unreachable".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Arrival, counted from the proxy's start.
    pub at: Duration,
    pub action: String,
    /// The request's RoleName, decoded.
    pub role: Option<String>,
    pub answer: Answered,
    /// From arrival to the answer (or hang-up): latency, fault delays and IAM's own time.
    pub took: Duration,
    /// The access key that signed the request.
    pub access_key: Option<String>,
    /// The account the request acts in: the account of the key that signed it (as moto's STS
    /// handed it out), or for AssumeRole the account of the role it assumes.
    pub account: Option<String>,
    /// AssumeRole's ExternalId and its first session tag (`key=value`), as sent.
    pub external_id: Option<String>,
    pub session_tag: Option<String>,
}

pub fn is_write(action: &str) -> bool {
    WRITE_ACTIONS.contains(&action)
}

/// Write requests per role, failed and retried ones included.
pub fn writes_per_role(entries: &[Entry]) -> BTreeMap<String, usize> {
    per_role(entries, |entry| is_write(&entry.action))
}

/// Requests per role that the proxy made fail.
pub fn injected_per_role(entries: &[Entry]) -> BTreeMap<String, usize> {
    per_role(entries, |entry| entry.answer.injected())
}

fn per_role(entries: &[Entry], keep: impl Fn(&Entry) -> bool) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in entries.iter().filter(|entry| keep(entry)) {
        if let Some(role) = &entry.role {
            *counts.entry(role.clone()).or_insert(0) += 1;
        }
    }
    counts
}

pub fn per_action(entries: &[Entry]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in entries {
        *counts.entry(entry.action.clone()).or_insert(0) += 1;
    }
    counts
}

/// Requests that arrived in `[from, to)`.
pub fn between(entries: &[Entry], from: Duration, to: Duration) -> usize {
    entries
        .iter()
        .filter(|entry| entry.at >= from && entry.at < to)
        .count()
}

/// The most requests that arrived within any one second (a sliding window).
pub fn peak_per_second(entries: &[Entry]) -> usize {
    let mut times: Vec<Duration> = entries.iter().map(|entry| entry.at).collect();
    times.sort();
    let mut peak = 0;
    let mut first = 0;
    for (last, at) in times.iter().enumerate() {
        while *at - times[first] >= Duration::from_secs(1) {
            first += 1;
        }
        peak = peak.max(last + 1 - first);
    }
    peak
}

/// One line per request, for a failing test's output.
pub fn render(entries: &[Entry]) -> String {
    let mut text = String::new();
    for entry in entries {
        let _ = writeln!(
            text,
            "{:>9.3}s {:<30} {:<40} {} after {}ms",
            entry.at.as_secs_f64(),
            entry.action,
            entry.role.as_deref().unwrap_or("-"),
            entry.answer.label(),
            entry.took.as_millis()
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, action: &str, role: Option<&str>, answer: Answered) -> Entry {
        Entry {
            at: Duration::from_millis(ms),
            action: action.to_string(),
            role: role.map(str::to_string),
            answer,
            took: Duration::from_millis(3),
            access_key: None,
            account: None,
            external_id: None,
            session_tag: None,
        }
    }

    fn ok() -> Answered {
        Answered::Forwarded { status: 200 }
    }

    fn throttled() -> Answered {
        Answered::Injected {
            status: 400,
            code: "Throttling".to_string(),
        }
    }

    fn sample() -> Vec<Entry> {
        vec![
            entry(0, "GetRole", Some("a"), Answered::Forwarded { status: 404 }),
            entry(10, "CreateRole", Some("a"), throttled()),
            entry(20, "CreateRole", Some("a"), ok()),
            entry(
                30,
                "PutRolePolicy",
                Some("a"),
                Answered::LostAnswer { status: 200 },
            ),
            entry(900, "PutRolePolicy", Some("a"), ok()),
            entry(950, "GetRole", Some("b"), Answered::HungUp),
            entry(1500, "AttachRolePolicy", Some("b"), ok()),
            entry(1600, "ListRoles", None, throttled()),
            entry(3000, "TagRole", Some("b"), Answered::UpstreamFailed),
        ]
    }

    #[test]
    fn counts() {
        let log = sample();
        let map = |pairs: &[(&str, usize)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(writes_per_role(&log), map(&[("a", 4), ("b", 2)]));
        assert_eq!(injected_per_role(&log), map(&[("a", 2), ("b", 1)]));
        assert_eq!(
            per_action(&log),
            map(&[
                ("AttachRolePolicy", 1),
                ("CreateRole", 2),
                ("GetRole", 2),
                ("ListRoles", 1),
                ("PutRolePolicy", 2),
                ("TagRole", 1),
            ])
        );
    }

    #[test]
    fn windows() {
        let log = sample();
        let cases = [
            (0, 1000, 6),
            (0, 10, 1),
            (10, 30, 2),
            (1000, 3000, 2),
            (1000, 3001, 3),
            (5000, 9000, 0),
        ];
        for (from, to, want) in cases {
            assert_eq!(
                between(&log, Duration::from_millis(from), Duration::from_millis(to)),
                want,
                "[{from}, {to})"
            );
        }
        assert_eq!(peak_per_second(&log), 6);
        assert_eq!(peak_per_second(&[]), 0);
        assert_eq!(peak_per_second(&log[5..]), 3);
    }

    #[test]
    fn labels_and_rendering() {
        let cases = [
            (ok(), "ok", false),
            (Answered::Forwarded { status: 409 }, "iam 409", false),
            (throttled(), "Throttling 400 (injected)", true),
            (Answered::HungUp, "hung up (injected)", true),
            (
                Answered::LostAnswer { status: 200 },
                "answer 200 lost (injected)",
                true,
            ),
            (Answered::UpstreamFailed, "upstream unreachable", false),
        ];
        for (answer, label, injected) in cases {
            assert_eq!(
                (answer.label().as_str(), answer.injected()),
                (label, injected)
            );
        }
        let text = render(&sample()[..2]);
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("0.010s CreateRole"), "{text}");
        assert!(
            text.contains("Throttling 400 (injected) after 3ms"),
            "{text}"
        );
    }
}
