//! floorwalk: a terminal console for contact-center supervisors.
//!
//! Modules by concern: `protocol` (wire types), `state` (the floor and its
//! reducer), `feed` (WebSocket client), `app` (key map and the pure update
//! step), `ui` (pure views), `audio` (engine threads), `audit` (journal and
//! reports), `sim` (the simulator server), `config`, and `console` (the
//! runtime that wires them to a terminal).
pub mod app;
pub mod audio;
pub mod audit;
pub mod config;
pub mod console;
pub mod feed;
pub mod protocol;
pub mod sim;
pub mod state;
pub mod ui;
