#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn ptt(setting: PttSetting, releases_expected: bool) -> Ptt {
    Ptt::new(PttConfig {
        setting,
        releases_expected,
        ..PttConfig::default()
    })
}

/// Plays a key script and ticks every 10 ms up to `until`; returns each
/// change with its time.
fn script(p: &mut Ptt, events: &[(u64, KeyKind)], until: u64) -> Vec<(u64, PttChange)> {
    let mut changes = Vec::new();
    let mut events = events.iter().peekable();
    for t in (0..=until).step_by(10) {
        while let Some((at, kind)) = events.next_if(|(at, _)| *at <= t) {
            if let Some(c) = p.key(*kind, ms(*at)) {
                changes.push((*at, c));
            }
        }
        if let Some(c) = p.tick(ms(t)) {
            changes.push((t, c));
        }
    }
    changes
}

/// A held key as a legacy terminal sends it: a press, then after the repeat
/// delay a press every `interval` ms until `release_at`.
fn legacy_hold(
    start: u64,
    release_at: u64,
    delay: u64,
    interval: u64,
    kind: KeyKind,
) -> Vec<(u64, KeyKind)> {
    let mut v = vec![(start, KeyKind::Press)];
    let mut t = start + delay;
    while t < release_at {
        v.push((t, kind));
        t += interval;
    }
    v
}

#[test]
fn native_mode_talks_from_press_to_release() {
    let mut p = ptt(PttSetting::Native, true);
    let mut keys = legacy_hold(100, 2100, 500, 33, KeyKind::Repeat);
    keys.push((2100, KeyKind::Release));
    let changes = script(&mut p, &keys, 3000);
    assert_eq!(
        changes,
        vec![
            (100, PttChange::Started),
            (2100, PttChange::Stopped(StopReason::Released))
        ]
    );
    assert_eq!(p.mode(), PttMode::Native);
}

#[test]
fn native_mode_holds_without_repeats_until_the_release() {
    let mut p = ptt(PttSetting::Native, true);
    let changes = script(
        &mut p,
        &[(0, KeyKind::Press), (5000, KeyKind::Release)],
        6000,
    );
    assert_eq!(changes[1], (5000, PttChange::Stopped(StopReason::Released)));
}

#[test]
fn repeat_mode_infers_the_release_from_the_end_of_the_repeats() {
    let mut p = ptt(PttSetting::Repeat, false);
    let keys = legacy_hold(0, 2000, 600, 33, KeyKind::Press);
    let last = keys.last().unwrap().0;
    let changes = script(&mut p, &keys, 3000);
    assert_eq!(changes[0], (0, PttChange::Started));
    assert_eq!(changes.len(), 2, "{changes:?}");
    let (at, change) = changes[1];
    assert_eq!(change, PttChange::Stopped(StopReason::ReleaseInferred));
    // Not during the repeat delay, and soon after the last repeat.
    assert!(
        at > last && at <= last + 150 + 10,
        "stopped at {at}, last repeat {last}"
    );
    assert_eq!(p.mode(), PttMode::Repeat);
}

#[test]
fn repeat_mode_gives_a_tap_the_first_repeat_delay() {
    let mut p = ptt(PttSetting::Repeat, false);
    let changes = script(&mut p, &[(0, KeyKind::Press)], 2000);
    assert_eq!(
        changes[1].1,
        PttChange::Stopped(StopReason::ReleaseInferred)
    );
    assert!((750..=770).contains(&changes[1].0), "{changes:?}");
}

#[test]
fn toggle_mode_ignores_auto_repeat_and_releases() {
    let mut p = ptt(PttSetting::Toggle, false);
    let mut keys = legacy_hold(0, 1500, 500, 33, KeyKind::Press);
    keys.push((1500, KeyKind::Release));
    keys.extend(legacy_hold(4000, 4900, 500, 33, KeyKind::Press));
    let changes = script(&mut p, &keys, 6000);
    assert_eq!(
        changes,
        vec![
            (0, PttChange::Started),
            (4000, PttChange::Stopped(StopReason::Toggled))
        ]
    );
    assert_eq!(p.mode(), PttMode::Toggle);
}

#[test]
fn auto_switches_to_native_when_a_release_is_seen() {
    let mut p = ptt(PttSetting::Auto, false);
    assert_eq!(p.mode(), PttMode::Repeat);
    let mut keys = vec![(0, KeyKind::Press), (200, KeyKind::Release)];
    // Next hold: kitty-style repeats, then the release ends it at once.
    keys.extend(legacy_hold(1000, 4000, 400, 33, KeyKind::Repeat));
    keys.push((4000, KeyKind::Release));
    let changes = script(&mut p, &keys, 5000);
    assert_eq!(
        changes,
        vec![
            (0, PttChange::Started),
            (200, PttChange::Stopped(StopReason::Released)),
            (1000, PttChange::Started),
            (4000, PttChange::Stopped(StopReason::Released)),
        ]
    );
    assert_eq!(p.mode(), PttMode::Native);
}

#[test]
fn auto_falls_back_to_repeat_timing_under_tmux() {
    // The terminal claimed releases, but tmux eats them: repeats come as
    // presses and no release ever arrives.
    let mut p = ptt(PttSetting::Auto, true);
    assert_eq!(p.mode(), PttMode::Native);
    let keys = legacy_hold(0, 2000, 500, 33, KeyKind::Press);
    let last = keys.last().unwrap().0;
    let changes = script(&mut p, &keys, 3000);
    assert_eq!(p.mode(), PttMode::Repeat);
    assert_eq!(changes[0], (0, PttChange::Started));
    assert_eq!(
        changes[1].1,
        PttChange::Stopped(StopReason::ReleaseInferred)
    );
    assert!(changes[1].0 <= last + 160);
}

#[test]
fn auto_falls_back_when_a_tap_never_releases() {
    let mut p = ptt(PttSetting::Auto, true);
    let changes = script(&mut p, &[(0, KeyKind::Press)], 2000);
    assert_eq!(
        changes[1].1,
        PttChange::Stopped(StopReason::ReleaseInferred)
    );
    assert_eq!(p.mode(), PttMode::Repeat);
}

#[test]
fn a_stuck_key_times_out_and_its_repeats_do_not_restart_it() {
    let mut p = Ptt::new(PttConfig {
        setting: PttSetting::Repeat,
        max_talk: Duration::from_secs(10),
        ..PttConfig::default()
    });
    let mut keys = legacy_hold(0, 15_000, 500, 33, KeyKind::Press);
    keys.push((16_000, KeyKind::Press));
    let changes = script(&mut p, &keys, 17_000);
    assert_eq!(
        changes,
        vec![
            (0, PttChange::Started),
            (10_000, PttChange::Stopped(StopReason::TimedOut)),
            (16_000, PttChange::Started),
            (16_760, PttChange::Stopped(StopReason::ReleaseInferred)),
        ]
    );
}

#[test]
fn toggle_times_out_too() {
    let mut p = Ptt::new(PttConfig {
        setting: PttSetting::Toggle,
        max_talk: Duration::from_secs(30),
        ..PttConfig::default()
    });
    let changes = script(&mut p, &[(0, KeyKind::Press)], 31_000);
    assert_eq!(
        changes[1],
        (30_000, PttChange::Stopped(StopReason::TimedOut))
    );
}

#[test]
fn cancel_stops_at_once_and_only_when_talking() {
    let mut p = ptt(PttSetting::Native, true);
    assert_eq!(p.cancel(), None);
    assert_eq!(p.key(KeyKind::Press, ms(0)), Some(PttChange::Started));
    assert!(p.is_transmitting());
    assert_eq!(p.cancel(), Some(PttChange::Stopped(StopReason::Cancelled)));
    assert!(!p.is_transmitting());
    assert_eq!(p.key(KeyKind::Release, ms(50)), None);
}

#[test]
fn settings_parse() {
    assert_eq!("toggle".parse::<PttSetting>(), Ok(PttSetting::Toggle));
    assert_eq!("auto".parse::<PttSetting>(), Ok(PttSetting::Auto));
    assert!(
        "hold"
            .parse::<PttSetting>()
            .unwrap_err()
            .contains("auto, native, repeat or toggle")
    );
}

#[test]
fn toggle_takes_a_quick_second_press_when_a_release_came_between() {
    let mut p = ptt(PttSetting::Toggle, true);
    let keys = [
        (0, KeyKind::Press),
        (80, KeyKind::Release),
        (300, KeyKind::Press),
    ];
    let changes = script(&mut p, &keys, 1000);
    assert_eq!(
        changes,
        vec![
            (0, PttChange::Started),
            (300, PttChange::Stopped(StopReason::Toggled))
        ]
    );
}
