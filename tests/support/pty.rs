//! Runs the real `floorwalk` binary in a pseudo-terminal and reads its
//! screen through a terminal emulator (vt100), as a supervisor would see it.

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct PtyApp {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
}

impl PtyApp {
    /// Starts `floorwalk ARGS` in a `cols`×`rows` terminal, with a private
    /// home so the journal and config go to a temporary directory.
    pub fn spawn(args: &[&str], home: &Path, cols: u16, rows: u16) -> Self {
        Self::spawn_with_env(args, home, cols, rows, &[])
    }

    pub fn spawn_with_env(
        args: &[&str],
        home: &Path,
        cols: u16,
        rows: u16,
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn_program(env!("CARGO_BIN_EXE_floorwalk"), args, home, cols, rows, env)
    }

    /// Starts any program (e.g. `ssh -tt ... floorwalk console`) the same way.
    pub fn spawn_program(
        program: &str,
        args: &[&str],
        home: &Path,
        cols: u16,
        rows: u16,
        env: &[(&str, &str)],
    ) -> Self {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home);
        cmd.env("XDG_DATA_HOME", home.join("data"));
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn floorwalk");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            parser,
            raw,
            writer,
            child,
            master: pair.master,
        }
    }

    pub fn screen_text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `check`, failing with the screen
    /// shown when it does not within `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.screen_text();
            if check(&text) {
                return text;
            }
            if start.elapsed() > limit {
                panic!("timed out waiting for {what}; the screen shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for_text(&self, needle: &str, limit: Duration) -> String {
        self.wait_for(&format!("{needle:?}"), limit, |s| s.contains(needle))
    }

    /// Selects the next active call (`n`) and joins it with `key` (`m`,
    /// `w` or `b`); returns the screen once it shows `joined`.
    pub fn join_next_call(&mut self, key: &str, joined: &str, limit: Duration) -> String {
        self.send("n");
        self.wait_for_text("Call c-", limit);
        self.send(key);
        self.wait_for_text(joined, limit)
    }

    pub fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Everything the program wrote to the terminal so far.
    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits for the program to exit and returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                // Let the reader drain the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status.exit_code();
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "floorwalk did not exit; the screen shows:\n{}",
                    self.screen_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the terminal, as a user dragging the window would: the pty
    /// (the program gets SIGWINCH) and the emulated screen alike. The
    /// emulated screen is blanked, so what shows next is what the program
    /// draws after the resize.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        {
            let mut parser = self.parser.lock().unwrap();
            // vt100 0.16 underflows on a wide character in a one-column
            // screen; a program told it has one column draws in the first.
            parser.screen_mut().set_size(rows, cols.max(2));
            parser.process(b"\x1b[H\x1b[2J");
        }
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
    }

    /// Whether the program is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("child status").is_none()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Whether the emulated terminal is back to normal: main screen, cursor
    /// shown, no mouse reporting.
    pub fn terminal_restored(&self) -> bool {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        !screen.alternate_screen()
            && !screen.hide_cursor()
            && screen.mouse_protocol_mode() == vt100::MouseProtocolMode::None
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
