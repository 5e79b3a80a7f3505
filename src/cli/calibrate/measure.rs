//! The arithmetic of a calibration: each join's measures, their medians,
//! 95th percentiles and maxima, the server's clock against ours, and the
//! verdict of each check. Pure: the run hands it what it saw.

use super::super::doctor::verdict::Verdict;
use floorwalk_protocol::{Mode, Timestamp};
use serde::Serialize;

/// What happened to the call across the leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aftermath {
    /// Still there after the leg left, recording as before.
    WentOn,
    /// Still there, but its recording changed.
    RecordingChanged,
    /// Ended by itself meanwhile (not by the leave): says nothing either way.
    EndedOnItsOwn,
    /// Ended with the supervisor's leave: a safety failure.
    EndedWithLeave,
}

/// One join and leave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub mode: Mode,
    pub call_id: String,
    pub leg_id: Option<String>,
    /// Why it could not be measured (a refused join, say).
    pub failure: Option<String>,
    pub join_reply_ms: Option<f64>,
    pub leave_reply_ms: Option<f64>,
    /// From the disconnect key to our leg's `leg_left`.
    pub release_ms: Option<f64>,
    /// From the disconnect key to the last audio frame of the call.
    pub last_audio_ms: Option<f64>,
    /// Microphone frames handed to the socket before and after the key.
    pub mic_before_key: u64,
    pub mic_after_key: u64,
    /// Audio frames that arrived after our `leg_left`.
    pub audio_after_left: u64,
    pub aftermath: Option<Aftermath>,
}

impl Sample {
    pub fn new(mode: Mode, call_id: &str) -> Self {
        Self {
            mode,
            call_id: call_id.to_owned(),
            leg_id: None,
            failure: None,
            join_reply_ms: None,
            leave_reply_ms: None,
            release_ms: None,
            last_audio_ms: None,
            mic_before_key: 0,
            mic_after_key: 0,
            audio_after_left: 0,
            aftermath: None,
        }
    }
}

/// A server time and our time when we read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub server: Timestamp,
    pub ours: Timestamp,
}

/// Median, 95th percentile (nearest rank) and maximum of some values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let rank = (0.95 * n as f64).ceil() as usize;
        Some(Stats {
            median,
            p95: sorted[rank.clamp(1, n) - 1],
            max: sorted[n - 1],
            n,
        })
    }
}

/// The shortest run a drift is measured over: clocks drift by tens of ppm,
/// which a shorter run cannot tell from the readings' own scatter (a
/// simulator stamping in 100 ms ticks shows thousands of ppm over 16 s).
pub const DRIFT_SPAN_MS: i64 = 60_000;

/// The server's clock against ours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Clock {
    /// Server minus ours, in ms (median of the readings; each reads low by
    /// the time the message took to arrive).
    pub offset_ms: f64,
    /// How fast the offset grows, in parts per million (least squares);
    /// `None` unless it stands out of the readings' scatter (beyond
    /// `drift_noise_ppm`).
    pub drift_ppm: Option<f64>,
    /// Three standard errors of the slope, in ppm: the drift the scatter of
    /// the readings could fake (`None` over less than [`DRIFT_SPAN_MS`]).
    pub drift_noise_ppm: Option<f64>,
    pub readings: usize,
    /// From the first reading to the last, in ms.
    pub span_ms: i64,
}

impl Clock {
    pub fn of(readings: &[ClockReading]) -> Option<Clock> {
        let first = readings.first()?.ours;
        let points: Vec<(f64, f64)> = readings
            .iter()
            .map(|r| {
                (
                    r.ours.millis_since(first) as f64,
                    r.server.millis_since(r.ours) as f64,
                )
            })
            .collect();
        let offsets: Vec<f64> = points.iter().map(|(_, offset)| *offset).collect();
        let offset_ms = Stats::of(&offsets)?.median;
        let span_ms = readings
            .iter()
            .map(|r| r.ours.millis_since(first))
            .max()
            .unwrap_or(0);
        let n = points.len() as f64;
        let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
        let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
        let sxy: f64 = points
            .iter()
            .map(|(x, y)| (x - mean_x) * (y - mean_y))
            .sum();
        let (mut drift_ppm, mut drift_noise_ppm) = (None, None);
        if points.len() >= 3 && span_ms >= DRIFT_SPAN_MS && sxx > 0.0 {
            let slope = sxy / sxx;
            let residuals: f64 = points
                .iter()
                .map(|(x, y)| (y - mean_y - slope * (x - mean_x)).powi(2))
                .sum();
            let standard_error = (residuals / (n - 2.0) / sxx).sqrt();
            let noise = 3.0 * standard_error * 1e6;
            drift_noise_ppm = Some(noise);
            drift_ppm = (slope.abs() * 1e6 > noise).then_some(slope * 1e6);
        }
        Some(Clock {
            offset_ms,
            drift_ppm,
            drift_noise_ppm,
            readings: readings.len(),
            span_ms,
        })
    }
}

/// The measures of a run, by name, in the order they print.
pub fn measures(samples: &[Sample], clock: Option<&Clock>) -> Vec<(&'static str, Option<Stats>)> {
    let take = |f: fn(&Sample) -> Option<f64>| -> Option<Stats> {
        Stats::of(&samples.iter().filter_map(f).collect::<Vec<_>>())
    };
    let talking = |s: &Sample| s.mode != Mode::Silent && s.failure.is_none();
    vec![
        ("join reply ms", take(|s| s.join_reply_ms)),
        ("leave reply ms", take(|s| s.leave_reply_ms)),
        ("key to leg_left ms", take(|s| s.release_ms)),
        ("key to last audio ms", take(|s| s.last_audio_ms)),
        (
            "mic frames after key",
            Stats::of(
                &samples
                    .iter()
                    .filter(|s| talking(s))
                    .map(|s| s.mic_after_key as f64)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "clock offset ms",
            clock.and_then(|c| Stats::of(&[c.offset_ms])),
        ),
        (
            "clock drift ppm",
            clock
                .and_then(|c| c.drift_ppm)
                .and_then(|d| Stats::of(&[d])),
        ),
    ]
}

/// One verdict per check, as `doctor` prints them.
pub fn checks(samples: &[Sample], clock: Option<&Clock>) -> Vec<(&'static str, Verdict)> {
    let measured: Vec<&Sample> = samples.iter().filter(|s| s.failure.is_none()).collect();
    let failures: Vec<String> = samples
        .iter()
        .filter_map(|s| {
            let why = s.failure.as_ref()?;
            Some(format!("{} in {}: {why}", s.call_id, s.mode))
        })
        .collect();
    let joins = if failures.is_empty() {
        Verdict::Ok(format!("{} joins and leaves measured", measured.len()))
    } else {
        Verdict::Failed(format!(
            "{} of {} joins failed: {}",
            failures.len(),
            samples.len(),
            failures.join("; ")
        ))
    };
    let released = measured.iter().filter(|s| s.release_ms.is_some()).count();
    let release = match Stats::of(
        &measured
            .iter()
            .filter_map(|s| s.release_ms)
            .collect::<Vec<_>>(),
    ) {
        _ if measured.is_empty() => Verdict::Unverified("nothing measured".into()),
        Some(stats) if released == measured.len() => Verdict::Ok(format!(
            "the server confirmed every leave with leg_left, {:.0} ms after the key (median; max {:.0} ms)",
            stats.median, stats.max
        )),
        _ => Verdict::Failed(format!(
            "only {released} of {} leaves were confirmed by leg_left",
            measured.len()
        )),
    };
    let talking: Vec<&&Sample> = measured.iter().filter(|s| s.mode != Mode::Silent).collect();
    let after: u64 = talking.iter().map(|s| s.mic_after_key).sum();
    let before: u64 = talking.iter().map(|s| s.mic_before_key).sum();
    let mic = if talking.is_empty() {
        Verdict::Unverified("no whisper or barge join measured".into())
    } else if after > 0 {
        Verdict::Failed(format!(
            "{after} microphone frames left after the disconnect key"
        ))
    } else if before == 0 {
        Verdict::Unverified("no microphone frame was sent before the key either".into())
    } else {
        Verdict::Ok(format!(
            "no microphone frame after the key ({before} sent before it, in {} joins)",
            talking.len()
        ))
    };
    let late: u64 = measured.iter().map(|s| s.audio_after_left).sum();
    let audio = if late == 0 {
        Verdict::Ok("no call audio arrived after leg_left".into())
    } else {
        Verdict::Failed(format!("{late} call audio frames arrived after leg_left"))
    };
    let counted = |a: Aftermath| measured.iter().filter(|s| s.aftermath == Some(a)).count();
    let (went_on, changed, ended, on_its_own) = (
        counted(Aftermath::WentOn),
        counted(Aftermath::RecordingChanged),
        counted(Aftermath::EndedWithLeave),
        counted(Aftermath::EndedOnItsOwn),
    );
    let recording = if ended > 0 || changed > 0 {
        Verdict::Failed(format!(
            "{ended} calls ended with the supervisor's leave, {changed} changed their recording"
        ))
    } else if went_on == 0 {
        Verdict::Unverified("no call was seen going on after a leave".into())
    } else {
        let own = if on_its_own > 0 {
            format!(" ({on_its_own} ended on their own meanwhile)")
        } else {
            String::new()
        };
        Verdict::Ok(format!(
            "recording stayed as it was and the call went on after {went_on} leaves{own}"
        ))
    };
    let clock = match clock {
        None => Verdict::Unverified("no server timestamps read".into()),
        Some(c) => {
            let drift = match (c.drift_ppm, c.drift_noise_ppm) {
                (Some(d), _) => format!("drift {d:+.1} ppm"),
                (None, Some(noise)) => {
                    format!("no drift beyond the readings' scatter of ±{noise:.0} ppm")
                }
                (None, None) => format!(
                    "drift not measured: it needs a run of {} s or more (more --calls)",
                    DRIFT_SPAN_MS / 1000
                ),
            };
            Verdict::Ok(format!(
                "server clock {:+.0} ms from this console ({drift}, {} readings over {:.1} s)",
                c.offset_ms,
                c.readings,
                c.span_ms as f64 / 1000.0
            ))
        }
    };
    vec![
        ("joins", joins),
        ("release", release),
        ("mic", mic),
        ("audio", audio),
        ("recording", recording),
        ("clock", clock),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_nearest_rank() {
        assert_eq!(Stats::of(&[]), None);
        let one = Stats::of(&[7.0]).unwrap();
        assert_eq!((one.median, one.p95, one.max, one.n), (7.0, 7.0, 7.0, 1));
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Stats::of(&values).unwrap();
        assert_eq!((s.median, s.p95, s.max, s.n), (10.5, 19.0, 20.0, 20));
        let s = Stats::of(&[300.0, 302.0, 299.0, f64::NAN]).unwrap();
        assert_eq!((s.median, s.max, s.n), (300.0, 302.0, 3));
    }

    #[test]
    fn the_clock_offset_is_a_median_and_the_drift_a_slope() {
        let t = Timestamp::from_millis;
        // The server runs 500 ms ahead and gains 1 ms every 10 s (100 ppm).
        let readings: Vec<ClockReading> = (0..=60)
            .map(|i| ClockReading {
                ours: t(i * 1000),
                server: t(i * 1000 + 500 + i / 10),
            })
            .collect();
        let clock = Clock::of(&readings).unwrap();
        assert_eq!(clock.offset_ms, 503.0);
        assert_eq!(clock.span_ms, 60_000);
        let drift = clock.drift_ppm.unwrap();
        assert!((drift - 100.0).abs() < 20.0, "{drift}");
        assert!(clock.drift_noise_ppm.unwrap() < drift, "{clock:?}");
        let short = Clock::of(&readings[..30]).unwrap();
        assert_eq!((short.drift_ppm, short.drift_noise_ppm), (None, None));
        assert_eq!(Clock::of(&[]), None);

        // A server that stamps in 100 ms steps and does not drift: its
        // scatter must not pass for a drift.
        let stepped: Vec<ClockReading> = (0..61)
            .map(|i| {
                let ours = i * 1010 + (i * i * 37) % 400;
                ClockReading {
                    ours: t(ours),
                    server: t((ours + 30) / 100 * 100),
                }
            })
            .collect();
        let clock = Clock::of(&stepped).unwrap();
        assert_eq!(clock.drift_ppm, None, "{clock:?}");
        assert!(clock.drift_noise_ppm.unwrap() > 100.0, "{clock:?}");
    }

    fn measured(mode: Mode, release: f64, after: u64) -> Sample {
        Sample {
            release_ms: Some(release),
            last_audio_ms: Some(release - 10.0),
            join_reply_ms: Some(2.0),
            leave_reply_ms: Some(1.0),
            mic_before_key: if mode == Mode::Silent { 0 } else { 40 },
            mic_after_key: after,
            aftermath: Some(Aftermath::WentOn),
            ..Sample::new(mode, "c-1")
        }
    }

    #[test]
    fn checks_pass_on_a_clean_run_and_each_fails_on_its_fault() {
        let clean = [
            measured(Mode::Silent, 300.0, 0),
            measured(Mode::Whisper, 305.0, 0),
            measured(Mode::Barge, 298.0, 0),
        ];
        let verdicts = checks(&clean, None);
        for (name, verdict) in &verdicts[..5] {
            assert!(matches!(verdict, Verdict::Ok(_)), "{name}: {verdict:?}");
        }
        assert!(matches!(verdicts[5].1, Verdict::Unverified(_)));
        let release = &measures(&clean, None)[2];
        assert_eq!(release.1.unwrap().median, 300.0);

        let mut leaky = clean.clone();
        leaky[1].mic_after_key = 2;
        leaky[2].aftermath = Some(Aftermath::EndedWithLeave);
        leaky[0].release_ms = None;
        leaky[0].audio_after_left = 3;
        let verdicts = checks(&leaky, None);
        for name in ["release", "mic", "audio", "recording"] {
            let (_, verdict) = verdicts.iter().find(|(n, _)| *n == name).unwrap();
            assert!(matches!(verdict, Verdict::Failed(_)), "{name}: {verdict:?}");
        }
        let mut refused = Sample::new(Mode::Barge, "c-9");
        refused.failure = Some("forbidden: not your team".into());
        let verdicts = checks(&[refused], None);
        assert!(matches!(&verdicts[0].1, Verdict::Failed(why) if why.contains("c-9 in barge")));
    }
}
