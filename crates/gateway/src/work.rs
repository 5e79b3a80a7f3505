//! What the gateway asks of Asterisk for a supervisor, step by step: the
//! call's ears (a spying snoop per party, each bridged with its own media
//! channel), a leg's voice (a whispering snoop per party, muted until the
//! mode opens it, bridged with the leg's microphone media channel), mode
//! switches, leaving, ending a call, and sweeping what a killed gateway
//! left. Every object made here is named with the gateway's prefix and
//! deleted on failure: a half-made join leaves nothing behind.
//!
//! No request here targets a call's own channels or bridges, except
//! snooping on them and [`end_call`]. The monitoring notice ([`announce`])
//! plays on a whispering snoop of its own, never on the customer's channel.

use crate::ari::{AriError, Channel, Rest};
use crate::media::{self, Lost, MediaSocket, Pump};
use floorwalk_protocol::Mode;
use floorwalk_server::FloorOutput;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Bytes;

/// How long a new channel may take to enter the Stasis application before
/// it can be bridged.
const STASIS_PATIENCE: Duration = Duration::from_secs(3);
/// Supervisor frames waiting for the microphone channel.
const TALK_QUEUE: usize = 16;
/// The longest monitoring notice the gateway waits for.
const NOTICE_PATIENCE: Duration = Duration::from_secs(8);

/// The two parties, as snoop targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Agent,
    Customer,
}

impl Party {
    pub const BOTH: [Party; 2] = [Party::Agent, Party::Customer];

    fn name(self) -> &'static str {
        match self {
            Party::Agent => "agent",
            Party::Customer => "customer",
        }
    }

    /// Whether a supervisor's voice reaches this party in `mode`
    /// (protocol v1, safety invariant 3).
    pub fn hears(self, mode: Mode) -> bool {
        match (self, mode) {
            (_, Mode::Silent) => false,
            (Party::Agent, _) => true,
            (Party::Customer, Mode::Barge) => true,
            (Party::Customer, Mode::Whisper) => false,
        }
    }
}

/// The Asterisk side of one call, for the work on it.
#[derive(Debug, Clone)]
pub struct CallChannels {
    pub call_id: String,
    pub agent: String,
    pub customer: String,
    pub agent_track: u32,
    pub customer_track: u32,
}

impl CallChannels {
    fn channel(&self, party: Party) -> &str {
        match party {
            Party::Agent => &self.agent,
            Party::Customer => &self.customer,
        }
    }

    fn track(&self, party: Party) -> u32 {
        match party {
            Party::Agent => self.agent_track,
            Party::Customer => self.customer_track,
        }
    }
}

/// Every object made under one name prefix (a call's ears, or a leg).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Objects {
    pub channels: Vec<String>,
    pub bridges: Vec<String>,
}

/// Where the work sends what it produces.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub audio: mpsc::Sender<FloorOutput>,
    pub lost: mpsc::UnboundedSender<Lost>,
}

/// A call's ears: one Opus track per party for every supervisor on it.
#[derive(Debug)]
pub struct Ears {
    pub objects: Objects,
    /// Kept for as long as the ears live: dropping them stops the audio.
    pub _pumps: Vec<Pump>,
}

/// A leg's voice.
#[derive(Debug)]
pub struct Voice {
    pub objects: Objects,
    pub talk: mpsc::Sender<Bytes>,
    pub pump: Pump,
}

/// Records what a piece of work made, so that a failure deletes exactly that.
struct Making<'a> {
    rest: &'a Rest,
    made: Objects,
}

impl<'a> Making<'a> {
    fn new(rest: &'a Rest) -> Self {
        Self {
            rest,
            made: Objects::default(),
        }
    }

    // Each object is counted as made before it is asked for: a request
    // that timed out may still be carried out by Asterisk.

    async fn bridge(&mut self, id: &str) -> Result<(), AriError> {
        self.made.bridges.push(id.to_owned());
        self.rest.create_bridge(id).await.map(drop)
    }

    async fn snoop(
        &mut self,
        app: &str,
        target: &str,
        id: &str,
        spy: &str,
        whisper: &str,
    ) -> Result<(), AriError> {
        self.made.channels.push(id.to_owned());
        self.rest
            .snoop(target, id, app, spy, whisper)
            .await
            .map(drop)
    }

    /// A media channel, connected.
    async fn media(&mut self, app: &str, id: &str, direction: &str) -> Result<MediaSocket, String> {
        self.made.channels.push(id.to_owned());
        let channel = self
            .rest
            .external_media(id, app, direction)
            .await
            .map_err(|e| e.to_string())?;
        let connection = connection_id(&channel)?;
        media::open(self.rest.access(), &connection).await
    }

    /// Bridges channels, waiting for them to be in Stasis.
    async fn join(&self, bridge: &str, channels: &[&str]) -> Result<(), AriError> {
        in_stasis(|| self.rest.add_channels(bridge, channels)).await
    }

    /// Gives up: the refusal goes back at once and what was made is removed
    /// behind it. On a slow Asterisk the removal waits out its own request
    /// deadlines, which must not hold the supervisor's answer past the
    /// core's command deadline (the sweep catches what the removal misses).
    fn fail<T>(self, step: &str, error: impl std::fmt::Display) -> Result<T, String> {
        let rest = self.rest.clone();
        let made = self.made;
        tokio::spawn(async move { remove(&rest, &made).await });
        Err(format!("{step}: {error}"))
    }
}

/// A request about a channel the gateway just made, repeated while
/// Asterisk says the channel is not in the Stasis application yet.
async fn in_stasis<F, Fut>(request: F) -> Result<(), AriError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), AriError>>,
{
    let deadline = tokio::time::Instant::now() + STASIS_PATIENCE;
    loop {
        match request().await {
            Err(e) if e.is_not_in_stasis() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

fn connection_id(channel: &Channel) -> Result<String, String> {
    channel
        .var("MEDIA_WEBSOCKET_CONNECTION_ID")
        .map(str::to_owned)
        .ok_or_else(|| {
            "Asterisk made a media channel without a MEDIA_WEBSOCKET_CONNECTION_ID (is chan_websocket loaded?)".to_owned()
        })
}

/// Makes a call's ears under `prefix`.
pub async fn ears(
    rest: &Rest,
    app: &str,
    prefix: &str,
    call: &CallChannels,
    sinks: &Sinks,
) -> Result<Ears, String> {
    let mut making = Making::new(rest);
    let mut pumps = Vec::new();
    for party in Party::BOTH {
        let bridge = format!("{prefix}{}", party.name());
        let spy = format!("{prefix}spy-{}", party.name());
        let ear = format!("{prefix}ear-{}", party.name());
        if let Err(e) = making.bridge(&bridge).await {
            return making.fail("cannot make the listening bridge", e);
        }
        if let Err(e) = making
            .snoop(app, call.channel(party), &spy, "in", "none")
            .await
        {
            return making.fail(&format!("cannot snoop on the {}", party.name()), e);
        }
        let socket = match making.media(app, &ear, "in").await {
            Ok(socket) => socket,
            Err(e) => {
                return making.fail("cannot open the listening media channel", e);
            }
        };
        if let Err(e) = making.join(&bridge, &[&spy, &ear]).await {
            return making.fail("cannot bridge the listening snoop", e);
        }
        match media::ear(
            socket,
            ear,
            call.call_id.clone(),
            call.track(party),
            sinks.audio.clone(),
            sinks.lost.clone(),
        ) {
            Ok(pump) => pumps.push(pump),
            Err(e) => return making.fail("cannot listen", e),
        }
    }
    Ok(Ears {
        objects: making.made,
        _pumps: pumps,
    })
}

/// Makes a leg's voice under `prefix`, open as far as `mode` says.
pub async fn voice(
    rest: &Rest,
    app: &str,
    prefix: &str,
    call: &CallChannels,
    mode: Mode,
    sinks: &Sinks,
) -> Result<Voice, String> {
    let mut making = Making::new(rest);
    let bridge = format!("{prefix}voice");
    let mic = format!("{prefix}mic");
    if let Err(e) = making.bridge(&bridge).await {
        return making.fail("cannot make the talking bridge", e);
    }
    let mut members = Vec::new();
    for party in Party::BOTH {
        let whisper = whisper_id(prefix, party);
        if let Err(e) = making
            .snoop(app, call.channel(party), &whisper, "none", "out")
            .await
        {
            return making.fail(
                &format!("cannot make the whisper path to the {}", party.name()),
                e,
            );
        }
        // Closed before anything can reach it.
        if let Err(e) = in_stasis(|| rest.mute_out(&whisper, true)).await {
            return making.fail("cannot close the whisper path", e);
        }
        members.push(whisper);
    }
    let socket = match making.media(app, &mic, "out").await {
        Ok(socket) => socket,
        Err(e) => {
            return making.fail("cannot open the microphone media channel", e);
        }
    };
    members.push(mic.clone());
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    if let Err(e) = making.join(&bridge, &members).await {
        return making.fail("cannot bridge the microphone", e);
    }
    if let Err(e) = open_paths(rest, prefix, None, mode).await {
        return making.fail("cannot open the whisper path", e);
    }
    let (talk, heard) = mpsc::channel(TALK_QUEUE);
    match media::mouth(socket, mic, heard, sinks.lost.clone()) {
        Ok(pump) => Ok(Voice {
            objects: making.made,
            talk,
            pump,
        }),
        Err(e) => making.fail("cannot talk", e),
    }
}

/// Plays the monitoring notice (Asterisk's sound `sound`) to the customer
/// of a call, and to nobody else, and returns once it has played to its
/// end: a snoop `{prefix}notice` on the customer's channel whispering into
/// what the customer hears (`whisper=out`), the sound played on it as
/// playback [`notice_playback`]`(prefix)`, whose `PlaybackFinished` state
/// the driver hands over through `finished`, then the snoop removed. Fails,
/// leaving nothing behind, when the playback does not end `done` (no such
/// sound, say) within [`NOTICE_PATIENCE`].
pub async fn announce(
    rest: &Rest,
    app: &str,
    prefix: &str,
    call: &CallChannels,
    sound: &str,
    finished: oneshot::Receiver<String>,
) -> Result<(), String> {
    let mut making = Making::new(rest);
    let snoop = format!("{prefix}notice");
    if let Err(e) = making
        .snoop(app, &call.customer, &snoop, "none", "out")
        .await
    {
        return making.fail("cannot reach the customer for the notice", e);
    }
    let media = format!("sound:{sound}");
    let playback = notice_playback(prefix);
    if let Err(e) = in_stasis(|| rest.play(&snoop, &media, &playback)).await {
        return making.fail("cannot play the monitoring notice", e);
    }
    let ended = match tokio::time::timeout(NOTICE_PATIENCE, finished).await {
        Ok(Ok(state)) if state == "done" => Ok(()),
        Ok(Ok(state)) => Err(format!(
            "the playback of sound `{sound}` ended `{state}` (is it in Asterisk's sounds directory?)"
        )),
        Ok(Err(_)) => Err("the gateway lost track of the playback".to_owned()),
        Err(_) => Err(format!("it did not end within {NOTICE_PATIENCE:?}")),
    };
    if let Err(e) = ended {
        return making.fail("the monitoring notice did not play", e);
    }
    remove(rest, &making.made).await;
    Ok(())
}

/// The id of the monitoring notice's playback of the leg under `prefix`.
pub fn notice_playback(prefix: &str) -> String {
    format!("{prefix}notice-play")
}

fn whisper_id(prefix: &str, party: Party) -> String {
    format!("{prefix}whisper-{}", party.name())
}

/// Opens the whisper paths `to` needs, then closes those only `from`
/// had: the new routing is in place before the old goes.
pub async fn open_paths(
    rest: &Rest,
    prefix: &str,
    from: Option<Mode>,
    to: Mode,
) -> Result<(), AriError> {
    for party in Party::BOTH {
        if party.hears(to) && !from.is_some_and(|m| party.hears(m)) {
            rest.mute_out(&whisper_id(prefix, party), false).await?;
        }
    }
    for party in Party::BOTH {
        if !party.hears(to) && from.is_some_and(|m| party.hears(m)) {
            rest.mute_out(&whisper_id(prefix, party), true).await?;
        }
    }
    Ok(())
}

/// Deletes objects; ones already gone are fine, other failures are
/// logged (the next sweep takes what is left).
pub async fn remove(rest: &Rest, objects: &Objects) {
    for channel in &objects.channels {
        match rest.hang_up(channel).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::warn!(%e, "cannot remove the gateway's channel"),
        }
    }
    for bridge in &objects.bridges {
        match rest.destroy_bridge(bridge).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::warn!(%e, "cannot remove the gateway's bridge"),
        }
    }
}

/// Ends a whole call: hangs up its customer and agent channels. The only
/// request of the gateway that touches a call's own channels.
pub async fn end_call(rest: &Rest, call: &CallChannels) -> Result<(), String> {
    let mut failures = Vec::new();
    for channel in [&call.customer, &call.agent] {
        match rest.hang_up(channel).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}
