//! `--record-dir`: what each call's customer and agent heard, as WAV files
//! (48 kHz mono 16-bit), one frame per 20 ms so a file's length is the time
//! that went by, silence included.
//!
//! [`Mixdown`] decodes and mixes one call's two ears on the hub's audio
//! tick; [`Recorder`] is a thread that owns the files, so disk writes never
//! hold up the hub. Headers are brought up to date every second, so the
//! files can be read while the simulator runs, and when a call ends or the
//! simulator stops.

use super::routing::Reach;
use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::codec::{CodecError, Decoder};
use floorwalk_audio::wav::to_i16;
use floorwalk_protocol::Role;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

const FRAME: usize = FRAME_SAMPLES as usize;
/// Update the headers this often (frames): once a second.
const FLUSH_EVERY: u64 = 50;
/// Upstream frames waiting for the mix, per supervisor, at most (200 ms);
/// the oldest go first when a console sends faster than real time.
const INBOUND_QUEUE: usize = 10;

struct Inbound {
    track: u32,
    decoder: Decoder,
    queue: VecDeque<(Reach, Vec<f32>)>,
}

/// One call's mix, frame by frame.
pub struct Mixdown {
    /// Decoders of the agent's and the customer's speech tracks.
    speech: [Decoder; 2],
    /// The monitoring notice's decoder.
    notice: Decoder,
    inbound: Vec<Inbound>,
    customer: Vec<f32>,
    agent: Vec<f32>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Mixdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mixdown")
            .field("inbound", &self.inbound.len())
            .finish_non_exhaustive()
    }
}

impl Mixdown {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            speech: [Decoder::new()?, Decoder::new()?],
            notice: Decoder::new()?,
            inbound: Vec::new(),
            customer: vec![0.0; FRAME],
            agent: vec![0.0; FRAME],
            scratch: vec![0.0; FRAME],
        })
    }

    /// A packet of the agent's or the customer's speech in this frame: the
    /// other party hears it.
    pub fn speech(&mut self, speaker: Role, packet: &[u8]) -> Result<(), CodecError> {
        let (decoder, ear) = match speaker {
            Role::Agent => (&mut self.speech[0], &mut self.customer),
            Role::Customer => (&mut self.speech[1], &mut self.agent),
            Role::Supervisor | Role::Bot | Role::Unknown => return Ok(()),
        };
        decoder.decode(packet, &mut self.scratch)?;
        add(ear, &self.scratch);
        Ok(())
    }

    /// A packet of the monitoring notice in this frame: the customer hears
    /// it, and only the customer.
    pub fn notice(&mut self, packet: &[u8]) -> Result<(), CodecError> {
        self.notice.decode(packet, &mut self.scratch)?;
        add(&mut self.customer, &self.scratch);
        Ok(())
    }

    /// A supervisor's frame, mixed in on a coming tick for those it reaches.
    pub fn upstream(&mut self, track: u32, reach: Reach, packet: &[u8]) -> Result<(), CodecError> {
        let at = match self.inbound.iter().position(|i| i.track == track) {
            Some(at) => at,
            None => {
                self.inbound.push(Inbound {
                    track,
                    decoder: Decoder::new()?,
                    queue: VecDeque::new(),
                });
                self.inbound.len() - 1
            }
        };
        let inbound = &mut self.inbound[at];
        let mut pcm = vec![0.0; FRAME];
        inbound.decoder.decode(packet, &mut pcm)?;
        if inbound.queue.len() >= INBOUND_QUEUE {
            inbound.queue.pop_front();
        }
        inbound.queue.push_back((reach, pcm));
        Ok(())
    }

    /// A supervisor left: what it still had queued is not heard.
    pub fn leave(&mut self, track: u32) {
        self.inbound.retain(|i| i.track != track);
    }

    /// Closes this frame: adds one queued frame per supervisor, hands the
    /// customer's and the agent's ears to `write`, and starts the next.
    pub fn finish(&mut self, write: impl FnOnce(&[f32], &[f32])) {
        for inbound in &mut self.inbound {
            let Some((reach, pcm)) = inbound.queue.pop_front() else {
                continue;
            };
            if reach.customer {
                add(&mut self.customer, &pcm);
            }
            if reach.agent {
                add(&mut self.agent, &pcm);
            }
        }
        write(&self.customer, &self.agent);
        self.customer.fill(0.0);
        self.agent.fill(0.0);
    }
}

fn add(into: &mut [f32], from: &[f32]) {
    for (sum, sample) in into.iter_mut().zip(from) {
        *sum += sample;
    }
}

enum Job {
    Open(Arc<str>),
    Frame {
        call: Arc<str>,
        customer: Vec<i16>,
        agent: Vec<i16>,
    },
    Close(Arc<str>),
}

/// The recording thread's handle.
#[derive(Debug)]
pub struct Recorder {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
}

impl Recorder {
    /// Creates `dir` if needed and starts the thread.
    pub fn start(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let (jobs, inbox) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sim-recorder".into())
            .spawn(move || record(&dir, &inbox))?;
        Ok(Self { jobs, thread })
    }

    /// Starts the files of `call`.
    pub fn open(&self, call: &Arc<str>) {
        self.send(Job::Open(Arc::clone(call)));
    }

    /// Appends one frame to each of `call`'s files.
    pub fn frame(&self, call: &Arc<str>, customer: &[f32], agent: &[f32]) {
        self.send(Job::Frame {
            call: Arc::clone(call),
            customer: customer.iter().map(|s| to_i16(*s)).collect(),
            agent: agent.iter().map(|s| to_i16(*s)).collect(),
        });
    }

    /// Finalises `call`'s files.
    pub fn close(&self, call: &Arc<str>) {
        self.send(Job::Close(Arc::clone(call)));
    }

    fn send(&self, job: Job) {
        // The thread only stops when this handle goes, or after a panic,
        // which it will have logged.
        let _ = self.jobs.send(job);
    }

    /// Finalises every open file and waits for the thread.
    pub fn finish(self) -> JoinHandle<()> {
        drop(self.jobs);
        self.thread
    }
}

type Wav = hound::WavWriter<std::io::BufWriter<std::fs::File>>;
/// A second of both ears fits in the write buffers.
const WRITE_BUFFER: usize = 128 * 1024;

struct Files {
    customer: Wav,
    agent: Wav,
    frames: u64,
}

fn record(dir: &Path, inbox: &mpsc::Receiver<Job>) {
    let mut open: HashMap<Arc<str>, Files> = HashMap::new();
    while let Ok(job) = inbox.recv() {
        match job {
            Job::Open(call) => match create(dir, &call) {
                Ok(files) => {
                    open.insert(call, files);
                }
                Err(e) => tracing::warn!(%call, %e, "cannot record the call"),
            },
            Job::Frame {
                call,
                customer,
                agent,
            } => {
                let Some(files) = open.get_mut(&call) else {
                    continue;
                };
                if let Err(e) = files.write(&customer, &agent) {
                    tracing::warn!(%call, %e, "recording stopped");
                    open.remove(&call);
                }
            }
            Job::Close(call) => {
                if let Some(files) = open.remove(&call) {
                    files.finalize(&call);
                }
            }
        }
    }
    for (call, files) in open {
        files.finalize(&call);
    }
}

/// `DIR/<call>-customer.wav` and `DIR/<call>-agent.wav`.
pub fn paths(dir: &Path, call: &str) -> [PathBuf; 2] {
    [
        dir.join(format!("{call}-customer.wav")),
        dir.join(format!("{call}-agent.wav")),
    ]
}

fn create(dir: &Path, call: &str) -> Result<Files, hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: floorwalk_audio::SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let create = |path: PathBuf| {
        let file = std::fs::File::create(path)?;
        hound::WavWriter::new(std::io::BufWriter::with_capacity(WRITE_BUFFER, file), spec)
    };
    let [customer, agent] = paths(dir, call);
    Ok(Files {
        customer: create(customer)?,
        agent: create(agent)?,
        frames: 0,
    })
}

impl Files {
    fn write(&mut self, customer: &[i16], agent: &[i16]) -> Result<(), hound::Error> {
        for (wav, samples) in [(&mut self.customer, customer), (&mut self.agent, agent)] {
            // The spec is 16-bit integer, as this writer needs, and it takes
            // exactly the frame it was made for.
            let mut writer = wav.get_i16_writer(FRAME_SAMPLES);
            for n in 0..FRAME {
                writer.write_sample(samples.get(n).copied().unwrap_or(0));
            }
            writer.flush()?;
        }
        self.frames += 1;
        if self.frames % FLUSH_EVERY == 0 {
            self.customer.flush()?;
            self.agent.flush()?;
        }
        Ok(())
    }

    fn finalize(self, call: &str) {
        for wav in [self.customer, self.agent] {
            if let Err(e) = wav.finalize() {
                tracing::warn!(%call, %e, "cannot finish the recording");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_audio::codec::Encoder;
    use floorwalk_audio::signal::{Level, sine};
    use floorwalk_protocol::Mode;

    fn packet(encoder: &mut Encoder, tone: &[f32], n: usize) -> Vec<u8> {
        encoder
            .encode(&tone[n * FRAME..(n + 1) * FRAME])
            .unwrap()
            .to_vec()
    }

    /// Mixes `frames` frames of a tone sent by a supervisor in `mode`;
    /// returns the level each ear heard (after the codec's warm-up).
    fn heard(mode: Mode, frames: usize) -> (f32, f32) {
        let mut mix = Mixdown::new().unwrap();
        let mut encoder = Encoder::voip().unwrap();
        let tone = sine(1000.0, 0.5, FRAME * frames);
        let (mut customer, mut agent) = (Vec::new(), Vec::new());
        for n in 0..frames {
            if mode.transmits() {
                mix.upstream(7, Reach::of(mode), &packet(&mut encoder, &tone, n))
                    .unwrap();
            }
            mix.finish(|c, a| {
                customer.extend_from_slice(c);
                agent.extend_from_slice(a);
            });
        }
        let skip = FRAME * 5;
        (
            Level::of(&customer[skip..]).rms,
            Level::of(&agent[skip..]).rms,
        )
    }

    #[test]
    fn each_ear_hears_what_the_mode_sends_it() {
        let (customer, agent) = heard(Mode::Whisper, 30);
        assert!(agent > 0.2 && customer == 0.0, "{customer} {agent}");
        let (customer, agent) = heard(Mode::Barge, 30);
        assert!(agent > 0.2 && customer > 0.2, "{customer} {agent}");
        let (customer, agent) = heard(Mode::Silent, 30);
        assert!(agent == 0.0 && customer == 0.0, "{customer} {agent}");
    }

    #[test]
    fn speech_reaches_the_other_party() {
        let mut mix = Mixdown::new().unwrap();
        let mut encoder = Encoder::voip().unwrap();
        let tone = sine(440.0, 0.5, FRAME * 20);
        let mut levels = Vec::new();
        for n in 0..20 {
            mix.speech(Role::Agent, &packet(&mut encoder, &tone, n))
                .unwrap();
            mix.finish(|c, a| levels.push((Level::of(c).rms, Level::of(a).rms)));
        }
        let (customer, agent) = levels[10];
        assert!(customer > 0.2 && agent == 0.0, "{levels:?}");
    }

    #[test]
    fn the_monitoring_notice_reaches_the_customer_only() {
        let mut mix = Mixdown::new().unwrap();
        let notice = floorwalk_audio::assets::MONITORING_NOTICE
            .packets()
            .unwrap();
        let (mut customer, mut agent) = (0.0f32, 0.0f32);
        for packet in &notice.packets {
            mix.notice(packet).unwrap();
            mix.finish(|c, a| {
                customer = customer.max(Level::of(c).peak);
                agent = agent.max(Level::of(a).peak);
            });
        }
        assert!(customer > 0.3 && agent == 0.0, "{customer} {agent}");
    }

    #[test]
    fn the_files_grow_by_a_frame_per_frame_and_are_readable_while_written() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start(dir.path().join("rec")).unwrap();
        let call: Arc<str> = Arc::from("c-4");
        recorder.open(&call);
        let loud = vec![0.5; FRAME];
        let quiet = vec![0.0; FRAME];
        for _ in 0..FLUSH_EVERY {
            recorder.frame(&call, &loud, &quiet);
        }
        let [customer, agent] = paths(&dir.path().join("rec"), "c-4");
        // The header is brought up to date while the call goes on.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while hound::WavReader::open(&customer).map_or(0, |r| r.duration())
            < (FLUSH_EVERY as u32) * FRAME_SAMPLES
        {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        recorder.frame(&call, &quiet, &loud);
        recorder.finish().join().unwrap();
        let read = |path: &Path| {
            let mut reader = hound::WavReader::open(path).unwrap();
            assert_eq!(reader.spec().sample_rate, 48_000);
            assert_eq!(reader.spec().channels, 1);
            reader
                .samples::<i16>()
                .map(|s| s.unwrap())
                .collect::<Vec<_>>()
        };
        let (customer, agent) = (read(&customer), read(&agent));
        assert_eq!(customer.len(), FRAME * 51);
        assert_eq!(agent.len(), FRAME * 51);
        assert_eq!(customer[0], to_i16(0.5));
        assert_eq!(customer[FRAME * 50], 0);
        assert_eq!(agent[FRAME * 50], to_i16(0.5));
    }
}
