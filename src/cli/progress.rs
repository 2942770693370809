//! Progress bars for long runs (indicatif), shared by the subcommands: hidden when stderr is not
//! a terminal (pipes, CI logs, tests) or when the user asked for `--quiet`, so they never mix
//! with machine-readable output.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A bar of `len` steps labelled `label` on stderr; hidden when `quiet` or stderr is not a terminal.
pub fn bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    // The template is a constant; fall back to the default style rather than fail a run on it.
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar
}
