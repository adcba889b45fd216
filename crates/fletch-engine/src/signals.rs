//! SIGINT and SIGTERM, as every long-running command hears them.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// A signal that asked the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
}

impl Stop {
    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// Resolves when SIGINT or SIGTERM arrives. The handlers are installed when
/// this is called, not when the future is first polled, so a signal that
/// comes before is not missed. Other listeners (Ballista's executor has its
/// own) hear the same signal.
pub fn stop_signal() -> impl Future<Output = Stop> + Send + 'static {
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    async move {
        tokio::select! {
            _ = int.recv() => Stop::Interrupt,
            _ = term.recv() => Stop::Terminate,
        }
    }
}
