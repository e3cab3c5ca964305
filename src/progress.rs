//! A progress bar on stderr for long commands (`tillpilot sync`): redrawn in place on a
//! terminal, one line per tenth of the way when stderr is a file or a pipe.

use std::io::{IsTerminal, Write};

const WIDTH: usize = 30;

pub struct ProgressBar {
    terminal: bool,
    last_tenth: Option<u32>,
    drawn: bool,
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar { terminal: std::io::stderr().is_terminal(), last_tenth: None, drawn: false }
    }
}

impl ProgressBar {
    /// The bar for `share` (0.0–1.0) of the work, doing `what`.
    pub fn line(share: f64, what: &str) -> String {
        let share = share.clamp(0.0, 1.0);
        let filled = (share * WIDTH as f64).round() as usize;
        format!("[{}{}] {:>3.0}% {what}", "#".repeat(filled), "-".repeat(WIDTH - filled), share * 100.0)
    }

    pub fn update(&mut self, share: f64, what: &str) {
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            // Clear the rest of the line: a shorter label must not leave the old one's tail.
            let _ = write!(stderr, "\r{}\x1b[K", Self::line(share, what));
            self.drawn = true;
        } else {
            let tenth = (share.clamp(0.0, 1.0) * 10.0).floor() as u32;
            if self.last_tenth != Some(tenth) {
                self.last_tenth = Some(tenth);
                let _ = writeln!(stderr, "{}", Self::line(share, what));
            }
        }
        let _ = stderr.flush();
    }

    pub fn finish(&mut self) {
        if self.terminal && self.drawn {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_share_done() {
        assert_eq!(ProgressBar::line(0.0, "catalog"), format!("[{}]   0% catalog", "-".repeat(30)));
        assert_eq!(ProgressBar::line(0.5, "orders"), format!("[{}{}]  50% orders", "#".repeat(15), "-".repeat(15)));
        assert_eq!(ProgressBar::line(1.7, "done"), format!("[{}] 100% done", "#".repeat(30)));
    }
}
