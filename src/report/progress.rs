//! What `report` tells the person waiting for it, on stderr: a spinner per target when
//! stderr is a terminal, plain lines otherwise (a cron job's mail, a CI log), nothing in tests.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Mode {
    pub fn for_stderr() -> Mode {
        if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        let target = match mode {
            Mode::Bars => ProgressDrawTarget::stderr(),
            Mode::Lines | Mode::Quiet => ProgressDrawTarget::hidden(),
        };
        Progress {
            mode,
            multi: MultiProgress::with_draw_target(target),
        }
    }

    /// The progress of reading one target.
    pub fn target(&self, name: &str) -> TargetProgress {
        let bar = (self.mode == Mode::Bars).then(|| {
            let style =
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(style);
            bar.set_prefix(name.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        TargetProgress {
            name: name.to_owned(),
            mode: self.mode,
            bar,
            started: Instant::now(),
        }
    }

    /// A line that is not about one target (the final summary goes to stdout instead).
    pub fn note(&self, line: &str) {
        match self.mode {
            Mode::Bars => {
                let _ = self.multi.println(line);
            }
            Mode::Lines => eprintln!("report: {line}"),
            Mode::Quiet => {}
        }
    }
}

pub struct TargetProgress {
    name: String,
    mode: Mode,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl TargetProgress {
    pub fn phase(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.set_message(msg.to_owned()),
            (None, Mode::Lines) => eprintln!("report: {}: {msg}", self.name),
            _ => {}
        }
    }

    pub fn done(&self, msg: &str) {
        self.finish(&format!(
            "{msg} ({:.1}s)",
            self.started.elapsed().as_secs_f64()
        ));
    }

    pub fn failed(&self, msg: &str) {
        self.finish(&format!("FAILED: {msg}"));
    }

    fn finish(&self, msg: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.finish_with_message(msg.to_owned()),
            (None, Mode::Lines) => eprintln!("report: {}: {msg}", self.name),
            _ => {}
        }
    }
}
