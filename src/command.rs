//! Commands and child processes: run one to its end, show what it printed when a check fails,
//! and the one guard that kills a child process a test leaves behind ([`KillOnDrop`]).

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, Output};

/// Runs a command, failing the test if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// The command, its exit status and everything it printed.
pub fn describe_output(command: &str, output: &Output) -> String {
    format!(
        "command: {command}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        strip_ansi(&String::from_utf8_lossy(&output.stdout)),
        strip_ansi(&String::from_utf8_lossy(&output.stderr)),
    )
}

/// stdout and stderr together, ANSI colours removed.
pub fn output_text(output: &Output) -> String {
    strip_ansi(&format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Removes ANSI colour and cursor sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // parameters and intermediates, then one final byte in @..~
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else if let Some('(' | ')') = chars.next() {
                // character set selection: ESC ( B
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A child process, killed and reaped when dropped (if it has not exited already), so a failing
/// test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Once the child has been waited for, `kill` sends nothing and `wait` returns at once.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
