//! The floorwalk console: everything between the supervisor's terminal and
//! the protocol-v1 feed.
//!
//! Modules by concern: `app` (key map and the pure update step: state in,
//! effects out), `ui` (pure views over the app), `feed` (the WebSocket
//! client), `audit` (journal and reports), `config`, and `runtime` (the
//! task that wires them to a terminal, the audio engine and the disk).
pub mod app;
pub mod audit;
pub mod config;
pub mod feed;
pub mod runtime;
pub mod ui;
