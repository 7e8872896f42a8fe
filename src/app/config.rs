//! The launch configuration: every `TIERLAB_*` environment variable, read in one place.

use std::ffi::OsString;
use std::path::PathBuf;

/// What the environment asks of a window launch (`run_window`). Tests build the window with
/// [`super::AppConfig`] instead and read no environment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// `TIERLAB_SCREENSHOT=path.png`: save a screenshot of the window, then close.
    pub screenshot_to: Option<PathBuf>,
    /// `TIERLAB_SCREENSHOT_AFTER_S=s`: take that screenshot once the run reached `s` simulated
    /// seconds (0 when unset).
    pub screenshot_after_s: f64,
    /// `TIERLAB_EXIT_AFTER_FRAMES=N`: close after N frames.
    pub exit_after_frames: Option<u64>,
    /// `TIERLAB_LAYOUT=name.ron`: open this shipped layout at start (`bench-200-nodes`: the
    /// generated 200-node layout of `tierlab bench-frame --two-hundred-nodes`).
    pub layout: Option<String>,
    /// `TIERLAB_SPEED=x`: the run's speed, simulated seconds per wall-clock second.
    pub speed: Option<f64>,
    /// `TIERLAB_PLAY=1`: start the run at once.
    pub play: bool,
    /// `TIERLAB_SELECT=name`: select the node of that name at start.
    pub select: Option<String>,
    /// `TIERLAB_NO_NATIVE_DIALOG` (any value): never try the desktop's file dialog.
    pub no_native_dialog: bool,
    /// `TIERLAB_ZOOM=1.5`: the UI zoom at start (as Ctrl + would set it).
    pub zoom: Option<f32>,
    /// `TIERLAB_THEME=projector`: start in the projector theme.
    pub projector: bool,
    /// `TIERLAB_WINDOW=1024x768`: the window's size at start, in points.
    pub window_size: Option<[f32; 2]>,
    /// `TIERLAB_GALLERY=1`: show the scenario gallery at start.
    pub gallery: bool,
    /// `TIERLAB_LESSON=4`: open the gallery's lesson 1 to 8 at start.
    pub lesson: Option<usize>,
    /// `TIERLAB_PRESENT=1`: start in presentation mode.
    pub present: bool,
    /// `TIERLAB_SEND=N`: send GET /u/7 from the first client N times (at most 8) at start, as
    /// the request stepper's button does, each walked.
    pub send: u32,
    /// `TIERLAB_WALK_STEP=k`: show step k (1-based) of the last walk.
    pub walk_step: Option<usize>,
    /// `TIERLAB_COMPARE_B=file-or-shipped.ron`: open Compare… with this layout as B, play both
    /// (with `TIERLAB_PLAY=1`) and run the replications.
    pub compare_b: Option<String>,
    /// `TIERLAB_SWEEP=NODE.PARAM=FROM..TO:STEP`: open the capacity sweep with this axis and
    /// run it at start (a screenshot waits for it to finish).
    pub sweep: Option<String>,
    /// `TIERLAB_STUDY=spof` or `stress`: start that search at launch (a screenshot waits for it).
    pub study: Option<String>,
    /// `TIERLAB_BRANCH=t:name`: when the run first reaches the screenshot time, rewind to `t`
    /// s, kill the node `name` there (a branch) and play on.
    pub branch: Option<(f64, String)>,
    /// `TIERLAB_DRILL=3`: open design drill 3 at start.
    pub drill: Option<u32>,
    /// `TIERLAB_DRILL_ANSWER=file.ron`: open this layout and Check it against the open drill
    /// (the screenshot waits for the grade).
    pub drill_answer: Option<PathBuf>,
    /// `TIERLAB_WATERFALL=1`: once the run has reached the screenshot time, pause and show
    /// the slowest requests' waterfalls (the screenshot waits for them).
    pub waterfall: bool,
    /// `TIERLAB_ANIMATE=path.gif`: once the run reached the screenshot time, export an
    /// animation there as File > Export animation… does, then close. Its span, frames per
    /// second and scale: `TIERLAB_ANIMATE_S` (5), `TIERLAB_ANIMATE_FPS` (10),
    /// `TIERLAB_ANIMATE_SCALE` (0.5).
    pub animate_to: Option<PathBuf>,
    pub animate: super::animate::AnimationSpec,
}

impl Config {
    /// Read the process environment.
    pub fn from_env() -> Config {
        Config::from_vars(|name| std::env::var_os(name))
    }

    /// Read the variables through `var_os` (the environment, or a table in tests). Values that
    /// are not Unicode or do not parse count as unset; a screenshot path may be any path.
    pub fn from_vars(var_os: impl Fn(&str) -> Option<OsString>) -> Config {
        let var = |name: &str| var_os(name).and_then(|v| v.into_string().ok());
        let f64_var = |name: &str| {
            var(name)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|x| x.is_finite())
        };
        Config {
            screenshot_to: var_os("TIERLAB_SCREENSHOT").map(PathBuf::from),
            screenshot_after_s: f64_var("TIERLAB_SCREENSHOT_AFTER_S").unwrap_or(0.0),
            exit_after_frames: var("TIERLAB_EXIT_AFTER_FRAMES").and_then(|s| s.parse().ok()),
            layout: var("TIERLAB_LAYOUT"),
            speed: f64_var("TIERLAB_SPEED"),
            play: var("TIERLAB_PLAY").is_some_and(|v| v == "1"),
            select: var("TIERLAB_SELECT"),
            no_native_dialog: var_os("TIERLAB_NO_NATIVE_DIALOG").is_some(),
            zoom: f64_var("TIERLAB_ZOOM")
                .filter(|z| (0.5..=3.0).contains(z))
                .map(|z| z as f32),
            projector: var("TIERLAB_THEME").is_some_and(|v| v == "projector"),
            window_size: var("TIERLAB_WINDOW").and_then(|v| {
                let (w, h) = v.split_once('x')?;
                let (w, h) = (w.parse::<f32>().ok()?, h.parse::<f32>().ok()?);
                (w >= 400.0 && h >= 300.0 && w.is_finite() && h.is_finite()).then_some([w, h])
            }),
            gallery: var("TIERLAB_GALLERY").is_some_and(|v| v == "1"),
            lesson: var("TIERLAB_LESSON")
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| (1..=99).contains(n)),
            present: var("TIERLAB_PRESENT").is_some_and(|v| v == "1"),
            send: var("TIERLAB_SEND")
                .and_then(|s| s.parse::<u32>().ok())
                .map_or(0, |n| n.min(8)),
            compare_b: var("TIERLAB_COMPARE_B"),
            study: var("TIERLAB_STUDY"),
            walk_step: var("TIERLAB_WALK_STEP")
                .and_then(|s| s.parse().ok())
                .filter(|&k| k >= 1),
            sweep: var("TIERLAB_SWEEP"),
            branch: var("TIERLAB_BRANCH").and_then(|v| {
                let (t, name) = v.split_once(':')?;
                let t = t
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t >= 0.0)?;
                Some((t, name.to_string()))
            }),
            drill: var("TIERLAB_DRILL").and_then(|s| s.parse().ok()),
            drill_answer: var_os("TIERLAB_DRILL_ANSWER").map(PathBuf::from),
            waterfall: var("TIERLAB_WATERFALL").is_some_and(|v| v == "1"),
            animate_to: var_os("TIERLAB_ANIMATE").map(PathBuf::from),
            animate: {
                let d = super::animate::AnimationSpec::default();
                super::animate::AnimationSpec {
                    span_s: f64_var("TIERLAB_ANIMATE_S").unwrap_or(d.span_s),
                    fps: var("TIERLAB_ANIMATE_FPS")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(d.fps),
                    scale: f64_var("TIERLAB_ANIMATE_SCALE").map_or(d.scale, |s| s as f32),
                }
            },
        }
    }

    /// A scripted run (screenshot or frame limit) starts from the defaults, not from what the
    /// last session remembered, so its screenshots are reproducible.
    pub fn scripted(&self) -> bool {
        self.screenshot_to.is_some()
            || self.exit_after_frames.is_some()
            || self.animate_to.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Config {
        Config::from_vars(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn no_variables_is_an_interactive_launch() {
        let c = from(&[]);
        assert_eq!(c, Config::default());
        assert!(!c.scripted());
    }

    #[test]
    fn every_variable_is_read_and_bad_numbers_count_as_unset() {
        let c = from(&[
            ("TIERLAB_SCREENSHOT", "shot.png"),
            ("TIERLAB_SCREENSHOT_AFTER_S", "20"),
            ("TIERLAB_EXIT_AFTER_FRAMES", "30"),
            ("TIERLAB_LAYOUT", "mm1.ron"),
            ("TIERLAB_SPEED", "2.5"),
            ("TIERLAB_PLAY", "1"),
            ("TIERLAB_SELECT", "app"),
            ("TIERLAB_NO_NATIVE_DIALOG", ""),
            ("TIERLAB_ZOOM", "1.5"),
            ("TIERLAB_THEME", "projector"),
            ("TIERLAB_WINDOW", "1024x768"),
            ("TIERLAB_GALLERY", "1"),
            ("TIERLAB_LESSON", "4"),
            ("TIERLAB_PRESENT", "1"),
            ("TIERLAB_SEND", "2"),
            ("TIERLAB_WALK_STEP", "3"),
            ("TIERLAB_STUDY", "spof"),
            ("TIERLAB_DRILL", "3"),
            ("TIERLAB_DRILL_ANSWER", "answer.ron"),
            ("TIERLAB_ANIMATE", "run.gif"),
            ("TIERLAB_ANIMATE_S", "4"),
            ("TIERLAB_ANIMATE_FPS", "8"),
            ("TIERLAB_ANIMATE_SCALE", "0.25"),
        ]);
        assert_eq!(c.animate_to, Some(PathBuf::from("run.gif")));
        assert_eq!((c.animate.span_s, c.animate.fps), (4.0, 8));
        assert_eq!(c.animate.scale, 0.25);
        assert_eq!(c.study.as_deref(), Some("spof"));
        assert_eq!(c.drill, Some(3));
        assert_eq!(c.drill_answer, Some(PathBuf::from("answer.ron")));
        assert!(c.gallery && c.present);
        assert_eq!(c.lesson, Some(4));
        assert_eq!((c.send, c.walk_step), (2, Some(3)));
        assert_eq!(c.zoom, Some(1.5));
        assert!(c.projector);
        assert_eq!(c.window_size, Some([1024.0, 768.0]));
        assert_eq!(c.screenshot_to, Some(PathBuf::from("shot.png")));
        assert_eq!(c.screenshot_after_s, 20.0);
        assert_eq!(c.exit_after_frames, Some(30));
        assert_eq!(c.layout.as_deref(), Some("mm1.ron"));
        assert_eq!(c.speed, Some(2.5));
        assert!(c.play && c.no_native_dialog && c.scripted());
        assert_eq!(c.select.as_deref(), Some("app"));

        let bad = from(&[
            ("TIERLAB_SPEED", "inf"),
            ("TIERLAB_SCREENSHOT_AFTER_S", "soon"),
            ("TIERLAB_EXIT_AFTER_FRAMES", "-1"),
            ("TIERLAB_PLAY", "yes"),
            ("TIERLAB_ZOOM", "40"),
            ("TIERLAB_WINDOW", "big"),
            ("TIERLAB_LESSON", "0"),
            ("TIERLAB_SEND", "many"),
            ("TIERLAB_WALK_STEP", "0"),
            ("TIERLAB_DRILL", "three"),
            ("TIERLAB_ANIMATE_FPS", "ten"),
        ]);
        assert_eq!(bad.animate, super::super::animate::AnimationSpec::default());
        assert_eq!(bad.drill, None);
        assert_eq!(bad.lesson, None);
        assert_eq!((bad.send, bad.walk_step), (0, None));
        assert_eq!(bad.zoom, None);
        assert_eq!(bad.window_size, None);
        assert_eq!(bad.speed, None);
        assert_eq!(bad.screenshot_after_s, 0.0);
        assert_eq!(bad.exit_after_frames, None);
        assert!(!bad.play);
    }
}
