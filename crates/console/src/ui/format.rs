//! Text for the screen: timers, masked numbers, short names, audio.

use crate::app::{AudioOut, METER_CELLS};
use floorwalk_audio::endpoint::Endpoint;
use floorwalk_protocol::{Mode, Timestamp};

/// Whole seconds from `since` to `now`, both truncated to the second so
/// that every timer on screen ticks together, once a second.
pub fn elapsed_secs(now: Timestamp, since: Timestamp) -> i64 {
    (now.millis().div_euclid(1000) - since.millis().div_euclid(1000)).max(0)
}

/// `mm:ss` under an hour, `h:mm:ss` from an hour.
pub fn clock(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// A queue wait: `m:ss`.
pub fn wait(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// An agent's time in a state, coarsely: `<1m`, `12m`, `2h05m`, `14h`.
pub fn age(now: Timestamp, since: Timestamp) -> String {
    match crate::app::age_minutes(now, since) {
        0 => "<1m".to_owned(),
        minutes @ 1..=59 => format!("{minutes}m"),
        minutes @ 60..600 => format!("{}h{:02}m", minutes / 60, minutes % 60),
        minutes => format!("{}h", minutes / 60),
    }
}

/// The customer as shown: phone numbers keep their country code and last
/// four digits (`+1 ••• ••• 0134`) unless revealing is configured. Names and
/// numbers the server already masked are shown as sent.
pub fn customer_shown(customer: &str, reveal: bool) -> String {
    let digits = customer.chars().filter(char::is_ascii_digit).count();
    let phone_like = customer
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if reveal || !phone_like || digits < 7 {
        return customer.to_owned();
    }
    // The country code: the digits right after a leading '+', when a
    // separator follows them.
    let keep_prefix = customer.strip_prefix('+').map_or(0, |rest| {
        let code = rest.chars().take_while(char::is_ascii_digit).count();
        let separated = rest[code..].starts_with(|c: char| !c.is_ascii_digit());
        if separated && code < digits {
            1 + code
        } else {
            1
        }
    });
    let mut seen_digits = 0;
    customer
        .char_indices()
        .map(|(i, c)| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen_digits += 1;
            if i < keep_prefix || seen_digits > digits - 4 {
                c
            } else {
                '•'
            }
        })
        .collect()
}

/// "Jorge Ortiz" → "J.Ortiz": short enough for the supervisors column.
pub fn short_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    match (parts.next(), parts.next_back()) {
        (Some(first), Some(last)) => {
            let initial: String = first.chars().take(1).collect();
            format!("{initial}.{last}")
        }
        (Some(only), None) => only.to_owned(),
        _ => "?".to_owned(),
    }
}

/// The ON AIR banner: who hears me. `None` for silent, where nobody does.
pub fn on_air(mode: Mode) -> Option<&'static str> {
    match mode {
        Mode::Silent => None,
        Mode::Whisper => Some("ON AIR · AGENT ONLY"),
        Mode::Barge => Some("ON AIR · AGENT + CUSTOMER"),
    }
}

/// A level meter: `cells` lit of [`METER_CELLS`], e.g. `▮▮▮▯▯▯▯▯`.
pub fn meter(cells: u8) -> String {
    let lit = cells.min(METER_CELLS);
    let mut text = "▮".repeat(usize::from(lit));
    text.push_str(&"▯".repeat(usize::from(METER_CELLS - lit)));
    text
}

/// The audio output for the header, and whether it is a warning:
/// `none`, `wav:PATH`, `default ▸ 48k`, `default…` while it opens;
/// `companion ▸ laptop 48k`, or `companion lost ▸ none` while the tunnel
/// to the companion is down.
pub fn audio_output(endpoint: &Endpoint, status: &AudioOut) -> (String, bool) {
    if let Endpoint::Companion(_) = endpoint {
        return match status {
            AudioOut::Opening => ("companion…".to_owned(), false),
            AudioOut::Failed { .. } => ("companion lost ▸ none".to_owned(), true),
            AudioOut::Ready { description } => (format!("companion ▸ {description}"), false),
        };
    }
    match status {
        AudioOut::Opening => (format!("{endpoint}…"), false),
        AudioOut::Failed { .. } => (format!("{endpoint} failed ▸ none"), true),
        AudioOut::Ready { description } => match endpoint {
            Endpoint::None | Endpoint::Wav(_) | Endpoint::Companion(_) => {
                (endpoint.to_string(), false)
            }
            Endpoint::Default | Endpoint::Device(_) => {
                let rate = device_rate(description).unwrap_or_else(|| description.clone());
                (format!("{endpoint} ▸ {rate}"), false)
            }
        },
    }
}

/// "48k" from a device description like "default (48000 Hz, 2 ch, …)".
fn device_rate(description: &str) -> Option<String> {
    let before = description.split(" Hz").next()?;
    if before.len() == description.len() {
        return None;
    }
    let hz: u32 = before.rsplit(['(', ' ']).next()?.parse().ok()?;
    Some(if hz % 1000 == 0 {
        format!("{}k", hz / 1000)
    } else {
        format!("{:.1}k", f64::from(hz) / 1000.0)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn banners_name_who_hears_me() {
        assert_eq!(on_air(Mode::Whisper), Some("ON AIR · AGENT ONLY"));
        assert_eq!(on_air(Mode::Barge), Some("ON AIR · AGENT + CUSTOMER"));
        assert_eq!(on_air(Mode::Silent), None);
    }

    #[test]
    fn meters() {
        for (cells, drawn) in [
            (0, "▯▯▯▯▯▯▯▯"),
            (3, "▮▮▮▯▯▯▯▯"),
            (8, "▮▮▮▮▮▮▮▮"),
            (200, "▮▮▮▮▮▮▮▮"),
        ] {
            assert_eq!(meter(cells), drawn, "{cells} cells");
        }
    }

    #[test]
    fn audio_output_labels() {
        let ready = |d: &str| AudioOut::Ready {
            description: d.into(),
        };
        let device = ready("default (48000 Hz, 2 ch, default buffer)");
        assert_eq!(
            audio_output(&Endpoint::Default, &device),
            ("default ▸ 48k".into(), false)
        );
        assert_eq!(
            audio_output(
                &Endpoint::Device("hw:1,0".into()),
                &ready("hw:1,0 (44100 Hz, 2 ch, 480-frame buffer)")
            ),
            ("device:hw:1,0 ▸ 44.1k".into(), false)
        );
        assert_eq!(
            audio_output(&Endpoint::Default, &ready("odd device")),
            ("default ▸ odd device".into(), false)
        );
        assert_eq!(
            audio_output(&Endpoint::None, &ready("none")),
            ("none".into(), false)
        );
        let wav = Endpoint::Wav("/tmp/x.wav".into());
        assert_eq!(
            audio_output(&wav, &ready("wav:/tmp/x.wav")),
            ("wav:/tmp/x.wav".into(), false)
        );
        assert_eq!(
            audio_output(
                &Endpoint::Companion("/tmp/c.sock".into()),
                &ready("laptop 48k")
            ),
            ("companion ▸ laptop 48k".to_owned(), false)
        );
        assert_eq!(
            audio_output(
                &Endpoint::Companion("/tmp/c.sock".into()),
                &AudioOut::Failed {
                    reason: "gone".into()
                }
            ),
            ("companion lost ▸ none".to_owned(), true)
        );
        assert_eq!(
            audio_output(&Endpoint::Default, &AudioOut::Opening),
            ("default…".into(), false)
        );
        let failed = AudioOut::Failed {
            reason: "no default device".into(),
        };
        assert_eq!(
            audio_output(&Endpoint::Default, &failed),
            ("default failed ▸ none".into(), true)
        );
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(252), "04:12");
        assert_eq!(clock(3599), "59:59");
        assert_eq!(clock(3600), "1:00:00");
        assert_eq!(clock(36_000 + 61), "10:01:01");
        assert_eq!(clock(-5), "00:00");
        assert_eq!(wait(42), "0:42");
        let at = |m: i64, s: i64| Timestamp((m * 60 + s) * 1000);
        assert_eq!(age(at(10, 59), at(10, 0)), "<1m");
        assert_eq!(age(at(11, 58), at(10, 59)), "<1m");
        assert_eq!(age(at(11, 59), at(10, 59)), "1m");
        assert_eq!(age(at(22, 0), at(10, 0)), "12m");
        assert_eq!(age(at(125, 0), at(0, 0)), "2h05m");
        assert_eq!(age(at(14 * 60 + 5, 0), at(0, 0)), "14h");
        assert_eq!(age(at(0, 0), at(5, 0)), "<1m");
    }

    #[test]
    fn timers_tick_on_whole_seconds() {
        let start = Timestamp(10_900);
        assert_eq!(elapsed_secs(Timestamp(10_950), start), 0);
        assert_eq!(elapsed_secs(Timestamp(11_000), start), 1);
        assert_eq!(elapsed_secs(Timestamp(5_000), start), 0);
    }

    #[test]
    fn numbers_are_masked_to_the_last_four_digits() {
        assert_eq!(customer_shown("+1 555 201 0134", false), "+1 ••• ••• 0134");
        assert_eq!(customer_shown("+44 7700 902210", false), "+44 •••• ••2210");
        assert_eq!(customer_shown("+15552010134", false), "+•••••••0134");
        assert_eq!(customer_shown("(555) 201-0134", false), "(•••) •••-0134");
        assert_eq!(customer_shown("+1 555 201 0134", true), "+1 555 201 0134");
        assert_eq!(customer_shown("Jordan Smith", false), "Jordan Smith");
        assert_eq!(customer_shown("+1 ••• ••• 0134", false), "+1 ••• ••• 0134");
        assert_eq!(customer_shown("", false), "");
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("Jorge Ortiz"), "J.Ortiz");
        assert_eq!(short_name("Ana María de la Cruz"), "A.Cruz");
        assert_eq!(short_name("QA"), "QA");
        assert_eq!(short_name("  "), "?");
    }
}
