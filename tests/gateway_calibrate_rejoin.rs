//! Issue 12's calibration and rejoin notice against the real gateway and
//! the real Asterisk (one rig for both): `floorwalk calibrate` joins the
//! rig's call in silent and whisper, leaves, and passes every check with a
//! calibration written; then a join with `announce` plays the monitoring
//! notice (the rig's sound of that name, a tone) to the customer only,
//! before the leg listens, through an object of the gateway's that is gone
//! afterwards; the call stays up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/ari_proxy.rs"]
mod ari_proxy;
#[path = "support/asterisk.rs"]
mod asterisk;
#[path = "support/gateway.rs"]
mod gateway;
#[path = "support/sim_client.rs"]
mod sim_client;

use asterisk::{NOTICE_HZ, NOTICE_MS, PARTY_LEVEL};
use floorwalk_audio::signal::tone_amplitude;
use gateway::{APP, Rig, all_gone, command, objects, rig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SLIN16: u32 = 16_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calibrate_passes_and_an_announced_join_plays_the_notice_to_the_customer_only() {
    let Rig {
        proxy: _proxy,
        asterisk,
        events: _events,
        gateway,
        mut dana,
        call,
    } = rig("cal").await;
    let prefix = "floorwalk-cal-";

    // Calibrate, the real binary, on the rig's one call.
    let home = tempfile::tempdir().unwrap();
    let url = gateway.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_floorwalk"))
            .args(["calibrate", "--server", &url, "--calls", "1"])
            .args(["--modes", "silent,whisper", "--format", "json"])
            .env("FLOORWALK_TOKEN", "demo-dana")
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "calibrate failed: {text}\n{}",
        gateway.log()
    );
    let out: Value = serde_json::from_str(&text).unwrap();
    for check in out["checks"].as_array().unwrap() {
        assert_eq!(check["verdict"], "ok", "{check}");
    }
    assert_eq!(out["samples"].as_array().unwrap().len(), 2);
    assert!(out["calibration_file"].is_string());
    all_gone(&asterisk, prefix).await;
    gateway::parties_up(&asterisk, &call).await;

    // The announced join: the customer hears the notice, the agent not.
    let customer_ears = asterisk.listen(APP, &call.customer_phone).await;
    let agent_ears = asterisk.listen(APP, &call.agent_phone).await;
    let asked = Instant::now();
    let joined = command(
        &mut dana,
        json!({"type": "monitor", "call_id": call.id, "mode": "silent", "announce": true}),
    )
    .await;
    let answered = Instant::now();
    assert_eq!(joined["announced"], true, "{joined}");
    // The reply waits for the notice to end.
    assert!(
        answered - asked >= Duration::from_millis(u64::from(NOTICE_MS) - 200),
        "answered {:?} after asking",
        answered - asked
    );
    let customer = customer_ears.between(asked, answered);
    let agent = agent_ears.between(asked, answered);
    let heard = tone_amplitude(&customer, NOTICE_HZ, SLIN16);
    assert!(
        heard > PARTY_LEVEL / 4.0,
        "the customer did not hear the notice ({heard})"
    );
    let leaked = tone_amplitude(&agent, NOTICE_HZ, SLIN16);
    assert!(
        leaked < PARTY_LEVEL / 20.0,
        "the agent heard the notice ({leaked})"
    );
    // Its snoop went with it; the leg's own objects stay.
    let now = objects(&asterisk, prefix).await;
    assert!(!now.is_empty());
    assert!(now.iter().all(|id| !id.contains("notice")), "{now:?}");
    let leg = joined["leg_id"].as_str().unwrap().to_owned();
    command(&mut dana, json!({"type": "disconnect", "leg_id": leg})).await;
    all_gone(&asterisk, prefix).await;
    gateway::parties_up(&asterisk, &call).await;
}
