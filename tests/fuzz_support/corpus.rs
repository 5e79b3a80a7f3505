//! Valid inputs the mutations start from: a recorded event stream plus one
//! message of every type, client commands, config and tokens files, and
//! real Opus packets.

use floorwalk_audio::FRAME_SAMPLES;
use floorwalk_audio::codec::Encoder;
use std::sync::OnceLock;

const STREAM: &str = include_str!("../fixtures/floor-stream.jsonl");

const MORE_SERVER: &[&str] = &[
    r#"{"type":"hello","protocol":1,"server":"floorwalk-sim/0.1.0","session":"s-8f2c","now":"2026-11-21T09:14:03.250Z","heartbeat_ms":5000,"lease_ms":15000,"supervisor":{"id":"sup-1","name":"Dana Ruiz","teams":["billing","retention"],"can_end_calls":true}}"#,
    r#"{"type":"reply","req":"r-1","ok":true,"result":{"leg_id":"l-31","track":31}}"#,
    r#"{"type":"reply","req":"r-3","ok":true,"result":{"already_left":true}}"#,
    r#"{"type":"reply","req":"r-2","ok":false,"error":{"code":"not_your_leg","message":"that leg is not yours"}}"#,
    r#"{"type":"notice","level":"warn","text":"maintenance at 22:00"}"#,
    r#"{"type":"leg_left","seq":7,"call_id":"c-9","leg_id":"l-31","at":"2026-11-21T09:15:00.000Z","reason":"lease_expired"}"#,
    r#"{"type":"call_ended","seq":8,"call_id":"c-9","at":"2026-11-21T09:16:00.000+01:00","reason":"transferred"}"#,
    r#"{"type":"transcript","seq":9,"call_id":"c-9","leg_id":"l-90","at":"2026-11-21T09:16:00.123456Z","text":"…and the refund","final":false}"#,
];

/// Valid server messages, one per line of the fixture plus the rest.
pub fn server_messages() -> &'static [&'static str] {
    static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
    ALL.get_or_init(|| STREAM.lines().chain(MORE_SERVER.iter().copied()).collect())
}

pub const CLIENT_MESSAGES: &[&str] = &[
    r#"{"type":"subscribe","session":null,"last_seq":null}"#,
    r#"{"type":"subscribe","session":"s-8f2c","last_seq":1041}"#,
    r#"{"type":"monitor","req":"r-1","call_id":"c-9","mode":"silent"}"#,
    r#"{"type":"set_mode","req":"r-2","leg_id":"l-31","mode":"whisper"}"#,
    r#"{"type":"disconnect","req":"r-3","leg_id":"l-31"}"#,
    r#"{"type":"end_call","req":"r-4","call_id":"c-9","confirm":"c-9"}"#,
];

pub const CONFIG_EXAMPLE: &str = include_str!("../../.config-example.toml");

pub const CONFIG_SMALL: &str = r#"server = "ws://127.0.0.1:9000/v1/supervisor"
token_file = "~/token"
ca_file = "ca.pem"
audit_dir = "audit"
log_file = "/tmp/floorwalk.log"
command_timeout_ms = 250
reveal_customer_numbers = true

[keys]
disconnect = ["d", "ctrl-x"]
end_call = "shift-e"
quit = ["q", "f10"]

[audio]
output = "wav:out.wav"
input = "none"
"#;

/// The keys a config may have, and `token` (which it refuses: the token is
/// never in the file), for additions that are almost right.
pub fn config_keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = super::config_keys::config_keys();
        keys.push("token");
        keys
    })
}

pub const ACCOUNTS: &str = r#"[[supervisor]]
token = "s3cret-dana"
id = "sup-1"
name = "Dana Ruiz"
teams = ["billing", "retention"]
can_end_calls = true

[[supervisor]]
token = "s3cret-jorge"
id = "sup-2"
name = "Jorge Ortiz"
teams = ["sales"]
"#;

pub const ACCOUNT_KEYS: &[&str] = &[
    "supervisor",
    "token",
    "id",
    "name",
    "teams",
    "can_end_calls",
];

/// Real Opus packets: a second of a voice-like tone and of silence,
/// encoded by the console's own encoder.
pub fn opus_packets() -> &'static [Vec<u8>] {
    static PACKETS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    PACKETS.get_or_init(|| {
        let mut encoder = Encoder::voip().unwrap();
        let n = FRAME_SAMPLES as usize;
        (0..100)
            .map(|frame| {
                let pcm: Vec<f32> = (0..n)
                    .map(|i| {
                        if frame >= 50 {
                            return 0.0;
                        }
                        let t = (frame * n + i) as f32 / 48_000.0;
                        let f = 180.0 + 40.0 * (t * 3.0).sin();
                        0.4 * (t * f * std::f32::consts::TAU).sin()
                            + 0.1 * (t * 3.1 * f * std::f32::consts::TAU).sin()
                    })
                    .collect();
                encoder.encode(&pcm).unwrap().to_vec()
            })
            .collect()
    })
}
