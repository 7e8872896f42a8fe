//! A study running on a thread of its own while the window stays live: its progress bar and
//! Cancel button, and its result when it ends. The window never waits on a job; it looks at
//! it once a frame.

use std::thread::JoinHandle;
use std::time::Duration;

use eframe::egui::{self, Ui};

use crate::study::{Cancelled, Progress};

/// One running study whose result is a `T`.
pub struct Job<T> {
    label: String,
    progress: Progress,
    handle: Option<JoinHandle<Result<T, Cancelled>>>,
    /// Why the study's thread could not be started, if it could not.
    no_thread: Option<String>,
}

/// What a job has come to.
pub enum JobState<T> {
    Running,
    Finished(T),
    Cancelled,
    /// The study's thread panicked (a bug): its message.
    Failed(String),
}

impl<T: Send + 'static> Job<T> {
    /// Start `work` on a thread of its own with a progress of `total` steps.
    pub fn spawn(
        label: impl Into<String>,
        total: u64,
        work: impl FnOnce(&Progress) -> Result<T, Cancelled> + Send + 'static,
    ) -> Self {
        let progress = Progress::new(total);
        let theirs = progress.clone();
        let handle = std::thread::Builder::new()
            .name("tierlab-study".into())
            .spawn(move || work(&theirs));
        let (handle, no_thread) = match handle {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(format!("could not start the study: {e}"))),
        };
        Job {
            label: label.into(),
            progress,
            handle,
            no_thread,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Look without waiting: `Running` until the study's thread has ended, then its result
    /// once (later calls say `Cancelled`).
    pub fn poll(&mut self) -> JobState<T> {
        if let Some(why) = self.no_thread.take() {
            return JobState::Failed(why);
        }
        match &self.handle {
            Some(h) if !h.is_finished() => return JobState::Running,
            None => return JobState::Cancelled,
            Some(_) => {}
        }
        let Some(h) = self.handle.take() else {
            return JobState::Cancelled;
        };
        match h.join() {
            Ok(Ok(t)) => JobState::Finished(t),
            Ok(Err(Cancelled)) => JobState::Cancelled,
            Err(panic) => JobState::Failed(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the study stopped on an internal error".into()),
            ),
        }
    }

    /// Ask the study to stop; `poll` says `Cancelled` once its thread has ended.
    pub fn cancel(&self) {
        self.progress.cancel();
    }

    /// The label, a progress bar (runs done of all) and a Cancel button; keeps the window
    /// repainting while the job runs. Cancel asks the study to stop.
    pub fn ui(&self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(&self.label);
            let p = &self.progress;
            ui.add(
                egui::ProgressBar::new(p.fraction())
                    .desired_width(200.0)
                    .text(format!("{} of {} runs", p.done(), p.total())),
            );
            let cancelling = p.is_cancelled();
            if ui
                .add_enabled(!cancelling, egui::Button::new("Cancel"))
                .on_hover_text("Stop this study; nothing it has done so far is kept")
                .clicked()
            {
                self.cancel();
            }
            if cancelling {
                ui.label("cancelling…");
            }
        });
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }
}

impl<T> Drop for Job<T> {
    /// A job dropped (its window closed, a new study started) is cancelled, so no thread
    /// goes on working for nobody.
    fn drop(&mut self) {
        self.progress.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T: Send + 'static>(job: &mut Job<T>) -> JobState<T> {
        loop {
            match job.poll() {
                JobState::Running => std::thread::sleep(Duration::from_millis(5)),
                done => return done,
            }
        }
    }

    #[test]
    fn a_job_gives_its_result_once_its_thread_ends() {
        let mut job = Job::spawn("sum", 10, |p| {
            p.add(10);
            Ok((1..=10).sum::<u32>())
        });
        assert!(matches!(wait(&mut job), JobState::Finished(55)));
        assert_eq!(job.progress().done(), 10);
    }

    #[test]
    fn cancel_stops_a_study_that_checks_its_progress() {
        let mut job = Job::spawn("forever", 0, |p| -> Result<(), Cancelled> {
            loop {
                p.check()?;
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        job.cancel();
        assert!(matches!(wait(&mut job), JobState::Cancelled));
    }
}
