//! Ages as kube-apiserver prints them (k8s.io/apimachinery/pkg/util/duration.HumanDuration).

use jiff::{SignedDuration, Timestamp};

/// The age of an object created at `created` (RFC 3339), as seen at `now`. A missing or empty
/// timestamp is `<unknown>` and an unparsable one `<invalid>`, like metav1.Time does.
pub fn age(created: Option<&str>, now: Timestamp) -> String {
    match created {
        None | Some("") | Some("null") => "<unknown>".to_string(),
        Some(text) => match text.parse::<Timestamp>() {
            Ok(t) => human_duration(now.duration_since(t)),
            Err(_) => "<invalid>".to_string(),
        },
    }
}

/// Two to three significant figures: `5s`, `3m2s`, `4h`, `2d3h`, `3y20d`.
pub fn human_duration(d: SignedDuration) -> String {
    // Go truncates toward zero, and tolerates up to a second of clock skew as "now".
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        let days = hours / 24;
        return if h == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{h}h")
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let years = hours / 24 / 365;
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{dy}d")
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_human_duration() {
        let cases: &[(i64, &str)] = &[
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (599, "9m59s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (4 * 3600 + 30 * 60, "4h30m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (48 * 3600, "2d"),
            (2 * 86400 + 3 * 3600, "2d3h"),
            (7 * 86400 + 23 * 3600, "7d23h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (750 * 86400, "2y20d"),
            (8 * 365 * 86400, "8y"),
            (20 * 365 * 86400 + 100 * 86400, "20y"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                human_duration(SignedDuration::from_secs(*secs)),
                *want,
                "{secs}s"
            );
        }
    }

    #[test]
    fn sub_second_skew_truncates_toward_zero() {
        assert_eq!(human_duration(SignedDuration::from_millis(-1999)), "0s");
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
    }

    #[test]
    fn age_from_timestamps() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        assert_eq!(age(Some("2026-11-29T11:59:55Z"), now), "5s");
        assert_eq!(age(Some("2026-11-27T09:00:00Z"), now), "2d3h");
        assert_eq!(age(Some("2026-11-29T13:00:00+01:00"), now), "0s");
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(age(Some(""), now), "<unknown>");
        assert_eq!(age(Some("yesterday"), now), "<invalid>");
    }
}
