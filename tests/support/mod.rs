#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod console;
pub mod disk;
pub mod headless;
pub mod notice;
pub mod pty;
pub mod sim_process;
pub mod sshd;
pub mod wav;
