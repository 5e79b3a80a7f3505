//! alsa-lib prints its complaints to stderr, which would scribble over the
//! dashboard; every thread here that opens or lists devices first routes
//! them into a buffer that ends up in the log. cpal's own stream thread is
//! not covered, but cpal recovers xruns without alsa-lib messages, so it
//! stays quiet in practice.

#[cfg(target_os = "linux")]
thread_local! {
    /// This thread's alsa-lib message buffer, once installed.
    static ALSA_LOG: std::cell::RefCell<Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Routes alsa-lib's error messages on this thread into a buffer (instead of
/// stderr) that [`flush_alsa_log`] sends to the log. Idempotent.
pub(crate) fn quiet_alsa() {
    #[cfg(target_os = "linux")]
    ALSA_LOG.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = alsa::Output::local_error_handler().ok();
        }
    });
}

/// Logs and forgets what alsa-lib said on this thread since the last call.
pub(crate) fn flush_alsa_log() {
    #[cfg(target_os = "linux")]
    ALSA_LOG.with_borrow_mut(|slot| {
        let Some(output) = slot else {
            return;
        };
        let text = output.borrow().to_string();
        if text.is_empty() {
            return;
        }
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!(target: "alsa", "{line}");
        }
        // A fresh buffer; the old one goes with its text.
        *slot = alsa::Output::local_error_handler().ok();
    });
}

/// Runs `f` with alsa-lib's messages going to the log, then logs them.
pub(super) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    quiet_alsa();
    let result = f();
    flush_alsa_log();
    result
}
