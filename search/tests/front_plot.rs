//! The SVG front plot: well-formed XML-ish text, one circle per design, one triangle per
//! baseline, axis captions with units, identical bytes for identical input, clear errors.

use recpim_search::plot::{
    render_front_panels_svg, render_front_svg, write_front_svg, Axis, FrontPlot,
};
use recpim_search::SearchError;

fn sample_plot() -> FrontPlot {
    // Front: (1,9) (2,5) (4,3) (8,1); dominated: (3,8) (5,6) (9,9).
    let points = vec![
        (3.0, 8.0),
        (1.0, 9.0),
        (2.0, 5.0),
        (5.0, 6.0),
        (4.0, 3.0),
        (8.0, 1.0),
        (9.0, 9.0),
    ];
    FrontPlot::new(
        "log loss vs energy",
        Axis::linear("energy per inference", "pJ"),
        Axis::linear("validation log loss", "1"),
        points,
    )
    .with_baseline("handcrafted ReRAM", 6.0, 4.0)
    .with_baseline("RecNMP & co <x>", 7.0, 2.0)
}

/// Every opened element is closed in order (self-closing tags excepted): the XML-ish check.
fn assert_tags_balanced(svg: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("unterminated tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "mismatched </{name}>"
            );
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
}

#[test]
fn svg_has_one_marker_per_design_and_baseline() {
    let plot = sample_plot();
    assert_eq!(plot.front_indices().unwrap(), vec![1, 2, 4, 5]);
    let svg = render_front_svg(&plot).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_tags_balanced(&svg);
    assert_eq!(svg.matches("<circle").count(), plot.points.len());
    assert_eq!(svg.matches("<polygon").count(), plot.baselines.len());
    assert!(svg.contains("energy per inference [pJ]"));
    assert!(svg.contains("validation log loss [1]"));
    assert!(svg.contains("handcrafted ReRAM"));
    // Label text is escaped, so it cannot break the document.
    assert!(svg.contains("RecNMP &amp; co &lt;x&gt;"));
    // Same input, same bytes.
    assert_eq!(svg, render_front_svg(&plot).unwrap());
}

#[test]
fn log_axes_and_file_output() {
    let mut plot = sample_plot();
    plot.x_axis = Axis::log10("energy per inference", "pJ");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pareto.svg");
    write_front_svg(&plot, &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert_tags_balanced(&svg);
    assert_eq!(svg.matches("<circle").count(), plot.points.len());
}

#[test]
fn two_panels_side_by_side() {
    let energy = sample_plot();
    let mut latency = sample_plot();
    latency.x_axis = Axis::linear("latency per inference", "ns");
    latency.points.truncate(5);
    latency.baselines.clear();
    let svg = render_front_panels_svg(&[energy.clone(), latency.clone()]).unwrap();
    assert_tags_balanced(&svg);
    assert!(svg.contains(&format!("width=\"{}\"", energy.width_px + latency.width_px)));
    assert_eq!(
        svg.matches("<circle").count(),
        energy.points.len() + latency.points.len()
    );
    assert_eq!(svg.matches("<polygon").count(), energy.baselines.len());
    assert!(
        svg.contains("latency per inference [ns]") && svg.contains("energy per inference [pJ]")
    );
    assert!(matches!(
        render_front_panels_svg(&[]),
        Err(SearchError::TooFewPoints { found: 0, .. })
    ));
    // One bad panel fails the whole document.
    let mut bad = latency;
    bad.points.push((f64::INFINITY, 1.0));
    assert!(render_front_panels_svg(&[energy, bad]).is_err());
}

#[test]
fn bad_input_gives_clear_errors() {
    let mut empty = sample_plot();
    empty.points.clear();
    assert!(matches!(
        render_front_svg(&empty),
        Err(SearchError::TooFewPoints {
            needed: 1,
            found: 0,
            ..
        })
    ));
    let mut non_positive_on_log = sample_plot();
    non_positive_on_log.y_axis = Axis::log10("validation log loss", "1");
    non_positive_on_log.points.push((1.0, 0.0));
    assert!(matches!(
        render_front_svg(&non_positive_on_log),
        Err(SearchError::NonPositiveOnLogAxis {
            axis: "y",
            index: 7,
            ..
        })
    ));
    let mut nan = sample_plot();
    nan.points[0].0 = f64::NAN;
    assert!(matches!(
        render_front_svg(&nan),
        Err(SearchError::NonFiniteSample {
            sample: "x",
            index: 0,
            ..
        })
    ));
    let missing_dir = std::path::Path::new("/nonexistent-recpim-dir/pareto.svg");
    let err = write_front_svg(&sample_plot(), missing_dir).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent-recpim-dir/pareto.svg"),
        "{err}"
    );
}
