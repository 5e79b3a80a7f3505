//! What the console costs a terminal link and a CPU, as tables.
//!
//! 1. The bytes written through the real crossterm backend while 1,000 calls
//!    tick once a second (what an SSH link to a jump host carries), against
//!    the cells that actually changed between frames: ratatui as it is, with
//!    synchronized-update brackets around every frame, and through the
//!    console's `CompactWriter` (cheap relative cursor moves, no-op resets
//!    dropped, brackets only around large frames), which is what ships.
//! 2. The CPU of an idle console's tick: `update(Tick)` plus `needs_redraw`.
//!
//! Run with `cargo bench --bench terminal`. The byte counts are exact and
//! the same on every run; only the timings depend on the machine.

use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use floorwalk_console::app::fixture::{self, NOW};
use floorwalk_console::app::{App, AppSettings, Input};
use floorwalk_console::feed::FeedEvent;
use floorwalk_console::runtime::CompactWriter;
use floorwalk_protocol::*;
use floorwalk_sim::names;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::cell::RefCell;
use std::hint::black_box;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

#[path = "support/floor.rs"]
mod floor;

const AGENTS: usize = 1_000;
/// Seconds drawn before counting: the start-up highlights and notices fade.
const WARM_UP_S: i64 = 15;
/// Seconds counted: a frame whenever the app asks, at least one a second.
const MEASURED_S: i64 = 60;
/// The console's tick.
const TICK_MS: i64 = 250;
const SIZES: [(u16, u16); 2] = [(200, 50), (80, 24)];
/// Every team's queue.
const QUEUES: floor::QueueLook = floor::QueueLook {
    waiting: 3,
    sla_percent: 92.0,
    agents_available: 0,
};

fn main() -> io::Result<()> {
    println!(
        "Terminal output: {AGENTS} agents, all on calls; a tick every {TICK_MS} ms, \
         a frame when the app asks; {MEASURED_S} s counted after {WARM_UP_S} s of warm-up\n"
    );
    let mut runs = Vec::new();
    for size in SIZES {
        // The console ships the compact writer, which brackets large frames itself.
        for (synchronized, compact) in [(false, false), (true, false), (false, true)] {
            runs.push(wire_run(size, synchronized, compact)?);
        }
    }
    print_wire_table(&runs);
    print_breakdown(&runs);
    println!();
    print_idle_table();
    Ok(())
}

// --- the floor -------------------------------------------------------------

/// `AGENTS` agents; with `on_calls`, each on a call that started up to 66
/// minutes ago (a tenth past the hour), every seventh with another
/// supervisor listening. Without, all available or away, none on a call.
fn snapshot(on_calls: bool) -> Snapshot {
    let mut rng = SmallRng::seed_from_u64(42);
    let people = names::people(&mut rng, AGENTS);
    let mut agents = Vec::with_capacity(AGENTS);
    let mut calls = Vec::new();
    for (i, name) in people.into_iter().enumerate() {
        let id = format!("a-{i:04}");
        let team = floor::TEAMS[i % floor::TEAMS.len()];
        // Real calls start at any millisecond.
        let since = NOW.plus_millis(-rng.random_range(0..4_000_000));
        let call_id = on_calls.then(|| format!("c-{i:04}"));
        if let Some(call_id) = &call_id {
            calls.push(Call {
                id: call_id.clone(),
                agent_id: id.clone(),
                queue: Some(format!("q-{team}")),
                direction: if i % 5 == 0 {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                },
                customer: names::masked_number(&mut rng),
                started_at: since,
                recording: i % 3 != 0,
                on_hold: i % 13 == 0,
                legs: floor::call_legs(i, &id, &name, 0, NOW),
            });
        }
        let state = match (on_calls, i % 3) {
            (true, _) => AgentState::OnCall,
            (false, 0) => AgentState::Away,
            (false, _) => AgentState::Available,
        };
        agents.push(Agent {
            id,
            name,
            team: team.into(),
            state,
            state_since: since,
            call_id,
        });
    }
    floor::floor(agents, calls, &QUEUES)
}

/// A live app at this size over the floor. With calls, I (sup-1) whisper on
/// the selected agent's call, so the call pane's timer ticks too.
fn app(size: (u16, u16), on_calls: bool) -> App {
    let settings = AppSettings {
        server_label: "ws://127.0.0.1:7700/v1/supervisor".into(),
        audio_output: floorwalk_audio::endpoint::Endpoint::Default,
        ..AppSettings::default()
    };
    let mut app = floor::live_app(settings, snapshot(on_calls), size);
    let selected_call = app
        .selected_agent()
        .and_then(|agent| app.floor().call_of_agent(agent))
        .map(|call| call.id.clone());
    if let Some(call_id) = selected_call {
        let joined = ServerMessage::LegJoined(LegJoined {
            seq: 2,
            call_id,
            leg: fixture::my_leg(),
        });
        app.update(Input::Feed(FeedEvent::Message(joined)), NOW);
    }
    app
}

// --- the wire --------------------------------------------------------------

/// Where the crossterm backend writes: keeps the bytes of the frame being
/// drawn, so they can be counted and taken apart. The bench holds a second
/// handle on the same bytes (the backend's own accessor is unstable).
#[derive(Default, Clone)]
struct Wire {
    frame: Rc<RefCell<Vec<u8>>>,
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Straight to the wire, or through the console's byte-saving writer.
enum Output {
    Plain(Wire),
    Compact(CompactWriter<Wire>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Plain(wire) => wire.write(buf),
            Output::Compact(writer) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Plain(wire) => wire.flush(),
            Output::Compact(writer) => writer.flush(),
        }
    }
}

type WireTerminal = Terminal<CrosstermBackend<Output>>;

/// The bytes of some output, by what they do.
#[derive(Debug, Default, Clone, Copy)]
struct Breakdown {
    /// Printed characters (UTF-8).
    text: u64,
    /// Cursor positioning (`CSI row;col H`): how many, and their bytes.
    moves: u64,
    move_bytes: u64,
    /// Colours and attributes (`CSI … m`), the end-of-frame resets included.
    style: u64,
    /// `CSI ?2026 h` / `CSI ?2026 l`.
    sync: u64,
    /// Any other control sequence: ratatui hides the cursor (`CSI ?25 l`)
    /// at the end of every frame.
    other: u64,
}

impl Breakdown {
    fn of(bytes: &[u8]) -> Breakdown {
        let mut out = Breakdown::default();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != 0x1b || bytes.get(i + 1) != Some(&b'[') {
                out.text += 1;
                i += 1;
                continue;
            }
            // CSI: parameter and intermediate bytes, then one final byte.
            let start = i;
            i += 2;
            while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                i += 1;
            }
            let sequence = &bytes[start..(i + 1).min(bytes.len())];
            let len = sequence.len() as u64;
            match sequence.last() {
                Some(b'H') => {
                    out.moves += 1;
                    out.move_bytes += len;
                }
                Some(b'm') => out.style += len,
                Some(b'h' | b'l') if sequence.starts_with(b"\x1b[?2026") => out.sync += len,
                _ => out.other += len,
            }
            i += 1;
        }
        out
    }

    fn total(&self) -> u64 {
        self.text + self.move_bytes + self.style + self.sync + self.other
    }

    fn add(&mut self, other: Breakdown) {
        self.text += other.text;
        self.moves += other.moves;
        self.move_bytes += other.move_bytes;
        self.style += other.style;
        self.sync += other.sync;
        self.other += other.other;
    }
}

/// The cells that differ between two frames of the same size.
#[derive(Debug, Default, Clone, Copy)]
struct Changes {
    cells: u64,
    /// The UTF-8 bytes of their new symbols: the least any encoding writes.
    symbol_bytes: u64,
    /// Runs of changed cells side by side on a row: each needs the cursor
    /// placed once.
    runs: u64,
}

impl Changes {
    fn between(before: &Buffer, after: &Buffer) -> Changes {
        let width = usize::from(after.area.width.max(1));
        let mut out = Changes::default();
        let mut in_run = false;
        for (i, (old, new)) in before.content.iter().zip(&after.content).enumerate() {
            if i % width == 0 {
                in_run = false;
            }
            if old == new {
                in_run = false;
                continue;
            }
            out.cells += 1;
            out.symbol_bytes += new.symbol().len() as u64;
            if !in_run {
                out.runs += 1;
            }
            in_run = true;
        }
        out
    }

    fn add(&mut self, other: Changes) {
        self.cells += other.cells;
        self.symbol_bytes += other.symbol_bytes;
        self.runs += other.runs;
    }
}

/// Draws one frame as the console does (optionally between the
/// synchronized-update sequences) and returns it, its bytes and how long
/// the draw took.
fn draw(
    terminal: &mut WireTerminal,
    wire: &Wire,
    app: &mut App,
    now: Timestamp,
    synchronized: bool,
) -> io::Result<(Buffer, Vec<u8>, Duration)> {
    wire.frame.borrow_mut().clear();
    if synchronized {
        crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    }
    let started = Instant::now();
    let completed = terminal.draw(|frame| floorwalk_console::ui::draw(frame, app, now))?;
    let took = started.elapsed();
    let frame = completed.buffer.clone();
    if synchronized {
        crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    }
    app.mark_drawn(now);
    let bytes = wire.frame.take();
    Ok((frame, bytes, took))
}

struct WireRun {
    size: (u16, u16),
    synchronized: bool,
    compact: bool,
    frames: u64,
    /// Frames drawn between two timer seconds (an age in the wide table
    /// rolling over on its own millisecond).
    between_seconds: u64,
    first_frame_bytes: u64,
    /// A frame with nothing changed: the end-of-frame resets (and sync).
    unchanged_frame_bytes: u64,
    bytes: Breakdown,
    changes: Changes,
    draw_median: Duration,
}

fn wire_run(size: (u16, u16), synchronized: bool, compact: bool) -> io::Result<WireRun> {
    let mut app = app(size, true);
    let viewport = Viewport::Fixed(Rect::new(0, 0, size.0, size.1));
    let wire = Wire::default();
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(if compact {
            let writer = CompactWriter::new(wire.clone());
            writer.set_width(size.0);
            Output::Compact(writer)
        } else {
            Output::Plain(wire.clone())
        }),
        TerminalOptions { viewport },
    )?;
    let (mut shown, first, _) = draw(&mut terminal, &wire, &mut app, NOW, synchronized)?;
    let (_, unchanged, _) = draw(&mut terminal, &wire, &mut app, NOW, synchronized)?;
    let mut run = WireRun {
        size,
        synchronized,
        compact,
        frames: 0,
        between_seconds: 0,
        first_frame_bytes: first.len() as u64,
        unchanged_frame_bytes: unchanged.len() as u64,
        bytes: Breakdown::default(),
        changes: Changes::default(),
        draw_median: Duration::ZERO,
    };
    let mut times = Vec::new();
    let mut now = NOW;
    let mut drawn_second = NOW.millis().div_euclid(1000);
    for step in 1..=(WARM_UP_S + MEASURED_S) * 1000 / TICK_MS {
        now = now.plus_millis(TICK_MS);
        app.update(Input::Tick, now);
        if !app.needs_redraw(now) {
            continue;
        }
        let (frame, bytes, took) = draw(&mut terminal, &wire, &mut app, now, synchronized)?;
        if step > WARM_UP_S * 1000 / TICK_MS {
            run.frames += 1;
            run.between_seconds += u64::from(now.millis().div_euclid(1000) == drawn_second);
            run.bytes.add(Breakdown::of(&bytes));
            run.changes.add(Changes::between(&shown, &frame));
            times.push(took);
        }
        shown = frame;
        drawn_second = now.millis().div_euclid(1000);
    }
    times.sort();
    run.draw_median = times.get(times.len() / 2).copied().unwrap_or_default();
    Ok(run)
}

fn per_second(total: u64) -> f64 {
    total as f64 / MEASURED_S as f64
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}

fn size_label((w, h): (u16, u16)) -> String {
    format!("{w}x{h}")
}

/// Prints a table: the first two columns to the left, the rest to the
/// right, each as wide as its widest cell.
fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let head: Vec<String> = head.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i < 2 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        println!("{}", cells.join("  "));
    }
}

fn run_label(run: &WireRun) -> [String; 2] {
    let output = match (run.synchronized, run.compact) {
        (_, true) => "compact",
        (true, false) => "sync",
        (false, false) => "plain",
    };
    [size_label(run.size), output.into()]
}

fn print_wire_table(runs: &[WireRun]) {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            let bytes = run.bytes.total();
            let mut row = run_label(run).to_vec();
            row.extend([
                run.frames.to_string(),
                run.between_seconds.to_string(),
                format!("{:.0}", per_second(bytes)),
                format!("{:.1}", per_second(run.changes.cells)),
                format!("{:.1}", per_second(run.changes.symbol_bytes)),
                ratio(bytes, run.changes.symbol_bytes),
                ratio(bytes, run.changes.cells),
                run.first_frame_bytes.to_string(),
                run.unchanged_frame_bytes.to_string(),
                format!("{}µs", run.draw_median.as_micros()),
            ]);
            row
        })
        .collect();
    print_table(
        &[
            "size",
            "output",
            "frames",
            "between s",
            "bytes/s",
            "chg cells/s",
            "chg cell B/s",
            "B / chg B",
            "B / chg cell",
            "1st frame B",
            "empty frame B",
            "draw median",
        ],
        &rows,
    );
}

fn print_breakdown(runs: &[WireRun]) {
    println!("\nWhere the bytes go, per second:\n");
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            let b = &run.bytes;
            let mut row = run_label(run).to_vec();
            row.extend(
                [b.text, b.moves, b.move_bytes]
                    .map(|n| format!("{:.1}", per_second(n)))
                    .into_iter()
                    .chain([ratio(b.move_bytes, b.moves)])
                    .chain(
                        [b.style, b.sync, b.other, run.changes.runs]
                            .map(|n| format!("{:.1}", per_second(n))),
                    ),
            );
            row
        })
        .collect();
    print_table(
        &[
            "size",
            "output",
            "text B",
            "moves",
            "move B",
            "B/move",
            "style B",
            "sync B",
            "other B",
            "changed runs",
        ],
        &rows,
    );
}

// --- the idle tick ---------------------------------------------------------

/// Ticks of an idle console (agents, no calls) at 4 a second: the time one
/// `update(Tick)` plus `needs_redraw` takes, and how often a redraw was
/// asked for (the wide table shows minutes in state, which roll over).
struct IdleRun {
    size: (u16, u16),
    tick_median: Duration,
    tick_min: Duration,
    redraws_per_hour: f64,
}

fn idle_run(size: (u16, u16)) -> IdleRun {
    const BATCHES: usize = 31;
    const TICKS: u32 = 2_000;
    let mut app = app(size, false);
    app.mark_drawn(NOW);
    let mut now = NOW;
    let mut redraws = 0u64;
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let started = Instant::now();
        for _ in 0..TICKS {
            now = now.plus_millis(TICK_MS);
            app.update(black_box(Input::Tick), now);
            if black_box(app.needs_redraw(now)) {
                // The console would draw here; only the bookkeeping is timed.
                redraws += 1;
                app.mark_drawn(now);
            }
        }
        batches.push(started.elapsed() / TICKS);
    }
    batches.sort();
    let hours = now.millis_since(NOW) as f64 / 3_600_000.0;
    IdleRun {
        size,
        tick_median: batches[BATCHES / 2],
        tick_min: batches[0],
        redraws_per_hour: redraws as f64 / hours,
    }
}

fn print_idle_table() {
    println!(
        "Idle console: {AGENTS} agents, no calls, a tick every {TICK_MS} ms \
         (update(Tick) + needs_redraw)\n"
    );
    let ticks_per_second = u32::try_from(1000 / TICK_MS).unwrap_or(1);
    let rows: Vec<Vec<String>> = SIZES
        .into_iter()
        .map(|size| {
            let run = idle_run(size);
            let per_second = run.tick_median * ticks_per_second;
            vec![
                size_label(run.size),
                "idle".into(),
                format!("{}ns", run.tick_median.as_nanos()),
                format!("{}ns", run.tick_min.as_nanos()),
                format!("{}ns", per_second.as_nanos()),
                format!("{:.5}%", per_second.as_secs_f64() * 100.0),
                format!("{:.1}", run.redraws_per_hour),
            ]
        })
        .collect();
    print_table(
        &[
            "size",
            "floor",
            "tick median",
            "tick min",
            "per second",
            "of a core",
            "redraws/hour",
        ],
        &rows,
    );
}
