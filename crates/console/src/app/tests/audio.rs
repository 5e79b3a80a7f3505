use super::*;
use crossterm::event::KeyEventKind;
use fixture::space;
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_audio::engine::{AudioEvent, Meters};
use floorwalk_audio::playback::{PartyLevels, TrackSpec};
use floorwalk_audio::ptt::{PttConfig, PttMode, PttSetting};
use floorwalk_audio::signal;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The talk key, at a monotonic time.
fn talk_key(app: &mut App, kind: KeyEventKind, at: Duration) -> Vec<Effect> {
    app.update(Input::Key(space(kind), at), NOW)
}

fn app_with(ptt: PttConfig, input: Endpoint) -> App {
    let settings = AppSettings {
        ptt,
        audio_input: input,
        ..fixture::settings()
    };
    fixture::connect(settings, fixture::me(), true, (80, 24)).0
}

fn level(rms: f32) -> signal::Level {
    signal::Level { peak: rms, rms }
}

#[test]
fn meters_light_one_cell_per_seven_and_a_half_db() {
    let at = |db: f32| meter_cells(level(10f32.powf(db / 20.0)));
    assert_eq!(meter_cells(signal::Level::default()), 0);
    assert_eq!(at(-70.0), 0);
    assert_eq!(at(-59.0), 1);
    assert_eq!(at(-20.0), 6);
    assert_eq!(at(-3.0), 8);
    assert_eq!(at(0.0), 8);
    assert_eq!(at(6.0), 8);
}

#[test]
fn the_talk_key_goes_to_push_to_talk_only_when_talking_is_possible() {
    let (mut app, _) = live_app(true);
    // Typing in the filter: the space is text.
    app.update(key('/'), NOW);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    assert_eq!(app.filter(), " ");
    assert!(!app.talking());
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    app.update(Input::Key(enter, ms(100)), NOW);

    // Out of the filter it talks, over a dialog too, which stays open.
    app.update(key('?'), NOW);
    assert!(talk_key(&mut app, KeyEventKind::Press, ms(1000)).is_empty());
    assert!(app.talking());
    assert_eq!(app.dialog(), Some(&Dialog::Help));
    talk_key(&mut app, KeyEventKind::Repeat, ms(1100));
    assert!(app.talking(), "a held key repeats");
    talk_key(&mut app, KeyEventKind::Release, ms(1200));
    assert!(!app.talking());
    assert_eq!(app.dialog(), Some(&Dialog::Help));

    // While talking every talk key event goes to push-to-talk, the filter
    // open or not, so a transmission can always be stopped.
    talk_key(&mut app, KeyEventKind::Press, ms(2000));
    app.update(key('/'), NOW);
    talk_key(&mut app, KeyEventKind::Press, ms(2050));
    assert!(app.talking());
    assert_eq!(app.filter(), " ", "not typed while talking");
    talk_key(&mut app, KeyEventKind::Release, ms(2100));
    assert!(!app.talking());

    // Not on a call: the key map says why, and nothing is sent.
    let (mut idle, _) = live_app(false);
    assert!(talk_key(&mut idle, KeyEventKind::Press, ms(0)).is_empty());
    assert_notice(&idle, "whisper or barge");
    assert!(!idle.talking());
}

#[test]
fn transmitting_needs_the_key_whisper_or_barge_and_a_microphone() {
    let (mut app, _) = live_app(true);
    assert_eq!(app.transmit_track(), None);
    assert!(
        app.audio_plan().microphone,
        "whisper opens the microphone ahead"
    );
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    assert!(app.talking());
    assert_eq!(app.transmit_track(), Some(31));
    assert_eq!(app.on_air(), Some(Mode::Whisper));
    // Switching to barge: the wider audience is shown at once.
    app.update(key('b'), NOW);
    assert_eq!(app.transmit_track(), Some(31));
    assert_eq!(app.on_air(), Some(Mode::Barge));
    // Switching to silent closes everything before the server answers,
    // and push-to-talk does not stay on for later.
    let effects = app.update(key('m'), NOW);
    assert!(matches!(
        effects[..],
        [Effect::Send {
            message: ClientMessage::SetMode {
                mode: Mode::Silent,
                ..
            },
            ..
        }]
    ));
    assert_eq!(app.transmit_track(), None);
    assert_eq!(app.on_air(), None);
    assert!(!app.talking());
    assert!(
        !app.audio_plan().microphone,
        "silent never opens the microphone"
    );
}

#[test]
fn silent_monitoring_never_talks() {
    let (mut app, _) = live_app(true);
    app.update(key('m'), NOW);
    assert!(talk_key(&mut app, KeyEventKind::Press, ms(0)).is_empty());
    assert!(!app.talking());
    assert_eq!(app.audio_plan().transmit, None);
    assert!(!app.audio_plan().microphone);
    assert_notice(&app, "Silent monitoring");
}

#[test]
fn disconnect_stops_transmitting_in_the_same_update() {
    let (mut app, _) = live_app(true);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    assert_eq!(app.audio_plan().transmit, Some(31));
    let effects = app.update(key('d'), NOW);
    assert!(matches!(
        effects[1],
        Effect::Send {
            message: ClientMessage::Disconnect { .. },
            ..
        }
    ));
    let plan = app.audio_plan();
    assert_eq!(plan.transmit, None);
    assert!(!plan.microphone);
    assert_eq!(
        plan.tracks.len(),
        2,
        "still listening until the server confirms"
    );
    assert!(!app.talking());
    // Talking again while leaving is refused with the reason.
    talk_key(&mut app, KeyEventKind::Press, ms(2000));
    assert!(!app.talking());
    assert_notice(&app, "leaving");
}

#[test]
fn the_plan_plays_the_other_legs_of_my_call_with_their_roles() {
    let (app, _) = live_app(true);
    let plan = app.audio_plan();
    assert_eq!(
        plan.tracks,
        [
            TrackSpec {
                track: 10,
                role: Role::Customer
            },
            TrackSpec {
                track: 11,
                role: Role::Agent
            },
        ]
    );
    assert_eq!(app.listening_call(), Some("c-9"));
    let (idle, _) = live_app(false);
    assert_eq!(idle.audio_plan(), AudioPlan::default());
    assert_eq!(idle.listening_call(), None);
}

#[test]
fn no_microphone_or_a_failed_one_means_no_talking() {
    let mut app = app_with(PttConfig::default(), Endpoint::None);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    assert!(!app.talking());
    assert_notice(&app, "No microphone");

    let (mut app, _) = live_app(true);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    assert!(app.talking());
    app.update(
        Input::Audio(AudioEvent::InputFailed {
            endpoint: "default".into(),
            reason: "device unplugged".into(),
        }),
        NOW,
    );
    assert!(!app.talking());
    assert_eq!(app.transmit_track(), None);
    assert_notice(&app, "device unplugged");
    talk_key(&mut app, KeyEventKind::Press, ms(3000));
    assert!(!app.talking());
    // Reopened (after leaving and joining again): usable again.
    app.update(Input::Audio(AudioEvent::InputClosed), NOW);
    app.update(
        Input::Audio(AudioEvent::InputReady {
            description: "default".into(),
        }),
        NOW,
    );
    talk_key(&mut app, KeyEventKind::Press, ms(6000));
    assert!(app.talking());
}

#[test]
fn toggle_mode_talks_from_one_press_to_the_next() {
    let toggle = PttConfig {
        setting: PttSetting::Toggle,
        ..PttConfig::default()
    };
    let mut app = app_with(toggle, Endpoint::Default);
    assert_eq!(app.ptt_mode(), PttMode::Toggle);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    talk_key(&mut app, KeyEventKind::Release, ms(100));
    assert_eq!(app.transmit_track(), Some(31));
    talk_key(&mut app, KeyEventKind::Press, ms(2000));
    assert_eq!(app.transmit_track(), None);
}

#[test]
fn a_stuck_transmission_stops_at_the_limit_and_says_so() {
    let limited = PttConfig {
        setting: PttSetting::Toggle,
        max_talk: Duration::from_secs(30),
        ..PttConfig::default()
    };
    let mut app = app_with(limited, Endpoint::Default);
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    app.update(Input::TalkTick(ms(29_000)), NOW);
    assert!(app.talking());
    app.update(Input::TalkTick(ms(30_000)), NOW);
    assert!(!app.talking());
    let text = notice_text(&app);
    assert!(text.contains("stopped after 30 s"), "{text}");
    assert!(text.contains("press space to talk again"), "{text}");
}

#[test]
fn auto_mode_shows_the_reading_in_use() {
    let auto = PttConfig {
        releases_expected: true,
        ..PttConfig::default()
    };
    let mut app = app_with(auto, Endpoint::Default);
    assert_eq!(app.ptt_mode(), PttMode::Native);
    app.mark_drawn(NOW);
    // A second press without a release between: releases are not coming.
    talk_key(&mut app, KeyEventKind::Press, ms(0));
    talk_key(&mut app, KeyEventKind::Press, ms(30));
    assert_eq!(app.ptt_mode(), PttMode::Repeat);
    assert!(app.needs_redraw(NOW));
    let (app, _) = live_app(true);
    assert_eq!(app.ptt_mode(), PttMode::Repeat, "no releases expected");
}

#[test]
fn meters_redraw_only_when_a_cell_changes_and_rest_off_calls() {
    let (mut app, _) = live_app(true);
    app.mark_drawn(NOW);
    let meters = |customer: f32, mic: f32| Meters {
        parties: PartyLevels {
            customer: level(customer),
            ..PartyLevels::default()
        },
        microphone: level(mic),
    };
    app.update(Input::Meters(meters(0.1, 0.0)), NOW);
    assert!(app.needs_redraw(NOW));
    assert_eq!(app.meters().customer, 6);
    app.mark_drawn(NOW);
    app.update(Input::Meters(meters(0.105, 0.0)), NOW);
    assert!(!app.needs_redraw(NOW), "the same cells");
    app.update(Input::Meters(meters(0.105, 0.5)), NOW);
    assert!(app.needs_redraw(NOW));
    // Leaving: once the server confirms, the meters rest.
    app.update(key('d'), NOW);
    app.update(
        Input::Feed(FeedEvent::Reply {
            req: "r-1".into(),
            outcome: ok_reply(),
            latency: ms(5),
        }),
        NOW,
    );
    assert!(!app.is_on_call());
    assert_eq!(app.meters(), MeterCells::default());
}

fn output_failed(reason: &str) -> Input {
    Input::Audio(AudioEvent::OutputFailed {
        endpoint: "default".into(),
        reason: reason.into(),
    })
}

#[test]
fn audio_events_show_and_the_console_goes_on() {
    assert_eq!(
        App::new(fixture::settings()).audio_out(),
        &AudioOut::Opening
    );
    let (mut app, _) = live_app(true);
    assert!(matches!(app.audio_out(), AudioOut::Ready { .. }));
    app.update(output_failed("the device vanished"), NOW);
    assert!(matches!(app.audio_out(), AudioOut::Failed { .. }));
    let text = notice_text(&app);
    assert!(text.contains("the device vanished"), "{text}");
    assert!(text.contains("goes on"), "{text}");
    assert!(app.is_on_call());

    // A device that cannot open at start shows in the header only, so
    // the start's own warnings keep the message line.
    let mut app = App::new(fixture::settings());
    app.warn("config file can be read by other users", NOW);
    app.update(output_failed("no default device"), NOW);
    assert!(matches!(app.audio_out(), AudioOut::Failed { .. }));
    assert_notice(&app, "config file");
}
