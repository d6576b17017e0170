use super::*;

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
}

#[test]
fn drift_checks_are_scraped_with_bounded_labels() {
    let metrics = Metrics::new(Arc::new(Health::default()));
    for drifted in [3, 1] {
        metrics.drift_checked(DriftCheckDone::Swept {
            elapsed: Duration::from_millis(1500),
            calls: 4,
            checked: 1200,
            drifted,
            roles_in_account: 1500,
        });
    }
    metrics.drift_checked(DriftCheckDone::PerRole {
        roles: 7,
        sweep_failed: true,
    });
    let text = metrics.encode().unwrap();
    let cases = [
        ("rolesmith_drift_checks_total{method=\"sweep\"}", 2.0),
        (
            "rolesmith_drift_checks_total{method=\"per_role_after_failed_sweep\"}",
            1.0,
        ),
        ("rolesmith_drift_sweep_duration_seconds_count", 2.0),
        ("rolesmith_drift_sweep_duration_seconds_sum", 3.0),
        ("rolesmith_drift_sweep_calls", 4.0),
        ("rolesmith_drift_sweep_roles_checked", 1200.0),
        ("rolesmith_drift_sweep_roles_drifted", 1.0),
        ("rolesmith_drift_sweep_roles_in_account", 1500.0),
        ("rolesmith_drift_roles_drifted_total", 11.0),
    ];
    for (series, want) in cases {
        assert_eq!(value(&text, series), want, "{series}");
    }
}
