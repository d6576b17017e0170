use super::*;

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn key(name: &str, note: &str) -> Key {
    Key {
        kind: Some("IamRole".into()),
        namespace: Some("team".into()),
        name: Some(name.into()),
        uid: Some(format!("uid-{name}")),
        warning: true,
        reason: "IamRejected".into(),
        action: "Apply".into(),
        note: note.into(),
    }
}

fn event(time: jiff::Timestamp) -> Event {
    Event {
        event_time: Some(MicroTime(time)),
        metadata: ObjectMeta {
            name: Some("app.1".into()),
            ..ObjectMeta::default()
        },
        ..Event::default()
    }
}

/// A word-for-word repeat within 6 minutes continues the series; another note, another object
/// or a repeat after the window is a new Event.
#[test]
fn repeats_within_the_window_continue_the_series() {
    let mut recent = Recent::default();
    recent.remember(key("app", "refused"), event(at(0)), at(0));
    let second = recent
        .repeat(&key("app", "refused"), at(60))
        .expect("a repeat");
    assert_eq!(second.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(second.metadata.name.as_deref(), Some("app.1"));
    recent.remember(key("app", "refused"), second, at(60));
    // The window runs from the last time it was seen.
    let third = recent
        .repeat(&key("app", "refused"), at(400))
        .expect("a repeat");
    assert_eq!(third.series.as_ref().map(|s| s.count), Some(3));
    assert!(recent.repeat(&key("app", "other words"), at(61)).is_none());
    assert!(recent.repeat(&key("api", "refused"), at(61)).is_none());
    assert!(
        recent
            .repeat(&key("app", "refused"), at(60 + 360))
            .is_none()
    );
}

/// Memory is bounded by count and by age, whatever the number of objects.
#[test]
fn at_most_the_remembered_number_and_nothing_older_than_the_window() {
    let mut recent = Recent::default();
    for i in 0..REMEMBERED + 500 {
        recent.remember(key(&format!("r{i}"), "n"), event(at(0)), at(0));
    }
    assert!(
        recent.repeat(&key("r0", "n"), at(1)).is_none(),
        "the oldest went"
    );
    assert!(
        recent
            .repeat(&key(&format!("r{}", REMEMBERED + 499), "n"), at(1))
            .is_some()
    );
    assert_eq!(recent.events.len(), REMEMBERED);
    assert_eq!(recent.order.len(), REMEMBERED);
    // A repeat queues its key again; the stale place does not evict it.
    recent.remember(key("r600", "n"), event(at(2)), at(2));
    for i in 0..REMEMBERED - 1 {
        recent.remember(key(&format!("s{i}"), "n"), event(at(3)), at(3));
    }
    assert!(recent.repeat(&key("r600", "n"), at(4)).is_some());
    assert_eq!(recent.events.len(), REMEMBERED);
    recent.remember(key("late", "n"), event(at(400)), at(400));
    assert_eq!(recent.events.len(), 1, "older than the window: gone");
    assert_eq!(recent.order.len(), 1);
}
