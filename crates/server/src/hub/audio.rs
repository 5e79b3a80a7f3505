//! The hub's audio: the parties' frames out to the supervisors on their
//! call, and supervisors' voices in, through the microphone gate.

use super::{ConnId, Hub, Outgoing, offer};
use crate::floor::{Floor, Talk};
use floorwalk_protocol::AudioFrame;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Bytes;

impl<F: Floor> Hub<F> {
    /// A frame of a call's party: to the supervisors on that call, and only
    /// if the track is one of the call's legs.
    pub(super) fn party_audio(&mut self, call_id: &str, frame: Bytes, now: Instant) {
        let track = match AudioFrame::decode(&frame) {
            Ok(decoded) => decoded.header.track,
            Err(e) => {
                tracing::warn!(%call_id, %e, "the floor sent a bad audio frame");
                return;
            }
        };
        let on_call = self
            .scope
            .call(call_id)
            .is_some_and(|call| call.legs.iter().any(|leg| leg.track == track));
        if !on_call {
            tracing::warn!(%call_id, track, "the floor sent audio of a track not on the call");
            return;
        }
        let speaker = self.legs.by_track(track).map(|(_, leg)| leg.desk);
        let listeners: Vec<usize> = self
            .legs
            .on_call(call_id)
            .map(|leg| leg.desk)
            .filter(|desk| Some(*desk) != speaker)
            .collect();
        for desk in listeners {
            self.post(desk, &frame, now);
        }
    }

    /// A frame from a console: only on the sender's own live leg, only in
    /// whisper or barge; then to the other supervisors on the call and to
    /// the floor for the parties.
    pub(super) fn upstream(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        let Some(desk) = self.conns.get(&conn).map(|c| c.desk) else {
            return;
        };
        let Ok(track) = AudioFrame::decode(&frame).map(|f| f.header.track) else {
            return;
        };
        let Some((leg_id, leg)) = self.legs.by_track(track).filter(|(_, l)| l.desk == desk) else {
            self.drops.not_yours += 1;
            tracing::debug!(conn, track, "upstream frame dropped: not the sender's leg");
            return;
        };
        if !leg.transmits() {
            self.drops.silent += 1;
            return;
        }
        let talk = Talk {
            call_id: leg.call_id.clone(),
            leg_id: leg_id.to_string(),
            mode: leg.mode,
            frame,
        };
        let others: Vec<usize> = self
            .legs
            .on_call(&talk.call_id)
            .map(|leg| leg.desk)
            .filter(|d| *d != desk)
            .collect();
        for other in others {
            self.post(other, &talk.frame, now);
        }
        self.floor.talk(talk);
    }

    /// Sends audio to a supervisor's subscribed consoles.
    fn post(&mut self, desk: usize, frame: &Bytes, now: Instant) {
        for &conn in &self.desks[desk].subscribers {
            let Some(frame) = self.courier.post(conn, frame.clone(), now) else {
                continue;
            };
            if !offer(&self.conns, conn, Outgoing::Audio(frame)) {
                self.too_slow.push(conn);
            }
        }
    }

    /// Hands out the held (impaired) frames that are due.
    pub(super) fn release(&mut self, now: Instant) {
        while let Some((conn, frame)) = self.courier.due(now) {
            if !offer(&self.conns, conn, Outgoing::Audio(frame)) && self.conns.contains_key(&conn) {
                self.too_slow.push(conn);
            }
        }
        self.drop_too_slow(now);
    }
}
