//! Mixing the decoded tracks of a call: a gain per party, optional split-ear
//! (customer left, agent right), and a limiter so that the sum never clips.

use super::SAMPLE_RATE;
use floorwalk_protocol::Role;

/// How the mix is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Everything in one channel.
    #[default]
    Mono,
    /// Stereo: the customer on the left, the agent on the right, anyone else
    /// in the middle.
    SplitEar,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Mono => 1,
            Layout::SplitEar => 2,
        }
    }
}

/// Linear gain per party (1.0 = as received).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gains {
    pub customer: f32,
    pub agent: f32,
    /// Other supervisors and bots.
    pub others: f32,
}

impl Default for Gains {
    fn default() -> Self {
        Self {
            customer: 1.0,
            agent: 1.0,
            others: 1.0,
        }
    }
}

impl Gains {
    pub fn of(&self, role: Role) -> f32 {
        match role {
            Role::Customer => self.customer,
            Role::Agent => self.agent,
            Role::Supervisor | Role::Bot | Role::Unknown => self.others,
        }
    }
}

/// Where the limiter holds the peaks (-1 dBFS).
const LIMIT: f32 = 0.891;
/// How fast the limiter lets go after a peak.
const RELEASE_SECONDS: f32 = 0.08;

/// A peak limiter with instant attack and a smooth release: loud moments are
/// turned down exactly enough, and the gain comes back without pumping.
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    envelope: f32,
    release: f32,
}

impl Default for Limiter {
    fn default() -> Self {
        Self {
            envelope: LIMIT,
            release: (-1.0 / (RELEASE_SECONDS * SAMPLE_RATE as f32)).exp(),
        }
    }
}

impl Limiter {
    /// Limits interleaved audio of `channels` channels in place; the channels
    /// share one gain so the stereo image stays put.
    pub fn process(&mut self, samples: &mut [f32], channels: usize) {
        for frame in samples.chunks_mut(channels.max(1)) {
            let peak = frame.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            self.envelope = if peak > self.envelope {
                peak
            } else {
                LIMIT + (self.envelope - LIMIT) * self.release
            };
            let gain = LIMIT / self.envelope.max(LIMIT);
            for s in frame {
                // NaN from a broken source must not poison the device.
                *s = if s.is_finite() { *s * gain } else { 0.0 };
            }
        }
    }
}

/// Mixes mono tracks into the output layout.
#[derive(Debug, Clone, Default)]
pub struct Mixer {
    pub layout: Layout,
    pub gains: Gains,
    limiter: Limiter,
}

impl Mixer {
    pub fn new(layout: Layout, gains: Gains) -> Self {
        Self {
            layout,
            gains,
            limiter: Limiter::default(),
        }
    }

    /// Mixes `tracks` (each mono, as long as a frame) into `out`, which holds
    /// `frame_len * channels` interleaved samples, then limits it.
    pub fn mix(&mut self, tracks: &[(Role, &[f32])], out: &mut [f32]) {
        out.fill(0.0);
        let channels = self.layout.channels();
        for (role, samples) in tracks {
            let gain = self.gains.of(*role);
            match (self.layout, role) {
                (Layout::Mono, _) => add(out, samples, 1, 0, gain),
                (Layout::SplitEar, Role::Customer) => add(out, samples, 2, 0, gain),
                (Layout::SplitEar, Role::Agent) => add(out, samples, 2, 1, gain),
                (Layout::SplitEar, _) => {
                    let centre = gain * std::f32::consts::FRAC_1_SQRT_2;
                    add(out, samples, 2, 0, centre);
                    add(out, samples, 2, 1, centre);
                }
            }
        }
        self.limiter.process(out, channels);
    }
}

fn add(out: &mut [f32], samples: &[f32], channels: usize, channel: usize, gain: f32) {
    for (o, s) in out.iter_mut().skip(channel).step_by(channels).zip(samples) {
        *o += s * gain;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{Level, sine};

    #[test]
    fn mono_sums_with_gains() {
        let mut mixer = Mixer::new(
            Layout::Mono,
            Gains {
                customer: 0.5,
                agent: 1.0,
                others: 0.0,
            },
        );
        let a = vec![0.2f32; 960];
        let b = vec![0.1f32; 960];
        let c = vec![0.3f32; 960];
        let mut out = vec![0.0; 960];
        mixer.mix(
            &[
                (Role::Customer, &a),
                (Role::Agent, &b),
                (Role::Supervisor, &c),
            ],
            &mut out,
        );
        assert!(out.iter().all(|s| (s - 0.2).abs() < 1e-6));
    }

    #[test]
    fn split_ear_puts_the_customer_left_and_the_agent_right() {
        let mut mixer = Mixer::new(Layout::SplitEar, Gains::default());
        let customer = sine(300.0, 0.3, 960);
        let agent = sine(500.0, 0.2, 960);
        let other = vec![0.1f32; 960];
        let mut out = vec![0.0; 1920];
        mixer.mix(
            &[(Role::Customer, &customer), (Role::Agent, &agent)],
            &mut out,
        );
        let left: Vec<f32> = out.iter().step_by(2).copied().collect();
        let right: Vec<f32> = out.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(left, customer);
        assert_eq!(right, agent);
        mixer.mix(&[(Role::Supervisor, &other)], &mut out);
        assert!(
            out.iter()
                .all(|s| (s - 0.1 * std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6)
        );
    }

    #[test]
    fn the_limiter_holds_peaks_and_lets_go() {
        let mut mixer = Mixer::default();
        let loud = sine(200.0, 1.0, 960);
        let mut out = vec![0.0; 960];
        mixer.mix(&[(Role::Customer, &loud), (Role::Agent, &loud)], &mut out);
        let level = Level::of(&out);
        assert!(level.peak <= LIMIT + 1e-6, "peak {}", level.peak);
        assert!(level.peak > 0.85, "not squashed: {}", level.peak);
        // Quiet audio afterwards passes unchanged once the release is over.
        let quiet = sine(200.0, 0.1, 960);
        for _ in 0..50 {
            mixer.mix(&[(Role::Customer, &quiet)], &mut out);
        }
        let diff = out
            .iter()
            .zip(&quiet)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-3, "{diff}");
        // Broken samples are silenced, never passed on.
        let broken = [f32::NAN; 960];
        mixer.mix(&[(Role::Agent, &broken)], &mut out);
        assert!(out.iter().all(|s| *s == 0.0));
    }
}
