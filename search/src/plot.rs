//! SVG scatter of a two-objective Pareto front (both minimised), for people reading reports.
//!
//! Every evaluated design is a circle (front members filled, the rest hollow); the front is
//! drawn as the step line bounding the region it dominates; baselines (e.g. handcrafted designs)
//! are labelled triangles. Axes carry their units. Several plots can share one image side by
//! side ([`render_front_panels_svg`]). Exactly one `<circle>` per design and one
//! `<polygon>` per baseline are emitted, which the tests rely on.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Result, SearchError};
use crate::pareto::{non_dominated_indices, Objectives, ParetoPoint};

/// How an axis maps values to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AxisScale {
    /// Linear axis.
    #[default]
    Linear,
    /// Base-10 logarithmic axis; every value on it must be > 0.
    Log10,
}

/// One axis: quantity name, its unit and its scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// What is plotted, e.g. "energy per inference".
    pub name: String,
    /// Its unit, e.g. "pJ" (use "1" for dimensionless quantities such as log loss).
    pub unit: String,
    /// Linear or logarithmic.
    pub scale: AxisScale,
}

impl Axis {
    /// A linear axis.
    pub fn linear(name: impl Into<String>, unit: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            unit: unit.into(),
            scale: AxisScale::Linear,
        }
    }

    /// A base-10 logarithmic axis.
    pub fn log10(name: impl Into<String>, unit: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            unit: unit.into(),
            scale: AxisScale::Log10,
        }
    }

    /// The axis caption, "name [unit]".
    pub fn caption(&self) -> String {
        format!("{} [{}]", self.name, self.unit)
    }
}

/// A labelled reference design marked on the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Text written next to the marker.
    pub label: String,
    /// Value on the x axis.
    pub x: f64,
    /// Value on the y axis.
    pub y: f64,
}

/// Everything needed to draw one front.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontPlot {
    /// Title above the chart.
    pub title: String,
    /// Horizontal axis.
    pub x_axis: Axis,
    /// Vertical axis.
    pub y_axis: Axis,
    /// All evaluated designs as (x, y); the front is computed from them.
    pub points: Vec<(f64, f64)>,
    /// Reference designs to mark.
    pub baselines: Vec<Baseline>,
    /// Image width in pixels.
    pub width_px: u32,
    /// Image height in pixels.
    pub height_px: u32,
}

impl FrontPlot {
    /// A 900 x 600 plot without baselines.
    pub fn new(
        title: impl Into<String>,
        x_axis: Axis,
        y_axis: Axis,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Self {
            title: title.into(),
            x_axis,
            y_axis,
            points,
            baselines: Vec::new(),
            width_px: 900,
            height_px: 600,
        }
    }

    /// Adds a labelled baseline marker.
    pub fn with_baseline(mut self, label: impl Into<String>, x: f64, y: f64) -> Self {
        self.baselines.push(Baseline {
            label: label.into(),
            x,
            y,
        });
        self
    }

    /// Indices of the points on the front (both axes minimised), ascending.
    pub fn front_indices(&self) -> Result<Vec<usize>> {
        let points = self
            .points
            .iter()
            .map(|&(x, y)| Objectives::new(vec![x, y]).map(ParetoPoint::feasible))
            .collect::<Result<Vec<_>>>()?;
        non_dominated_indices(&points)
    }
}

const WHAT: &str = "Pareto front plot";
const MEMORY: &str = "<memory>";

/// Checks values and returns the padded (x, y) ranges.
fn plot_ranges(plot: &FrontPlot) -> Result<(std::ops::Range<f64>, std::ops::Range<f64>)> {
    if plot.points.is_empty() {
        return Err(SearchError::TooFewPoints {
            what: WHAT,
            needed: 1,
            found: 0,
        });
    }
    let all = plot
        .points
        .iter()
        .copied()
        .chain(plot.baselines.iter().map(|b| (b.x, b.y)));
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (index, (x, y)) in all.enumerate() {
        for (sample, value, axis) in [("x", x, &plot.x_axis), ("y", y, &plot.y_axis)] {
            // Index counts points first, then baselines.
            if !value.is_finite() {
                return Err(SearchError::NonFiniteSample {
                    what: WHAT,
                    sample,
                    index,
                    value,
                });
            }
            if axis.scale == AxisScale::Log10 && value <= 0.0 {
                return Err(SearchError::NonPositiveOnLogAxis {
                    what: WHAT,
                    axis: sample,
                    index,
                    value,
                });
            }
        }
        xs.push(x);
        ys.push(y);
    }
    Ok((
        padded_range(&xs, plot.x_axis.scale),
        padded_range(&ys, plot.y_axis.scale),
    ))
}

/// The data range widened by 5 % on each side (in log space for log axes).
fn padded_range(values: &[f64], scale: AxisScale) -> std::ops::Range<f64> {
    let to_axis = |v: f64| {
        if scale == AxisScale::Log10 {
            v.log10()
        } else {
            v
        }
    };
    let from_axis = |v: f64| {
        if scale == AxisScale::Log10 {
            10f64.powf(v)
        } else {
            v
        }
    };
    let lo = values
        .iter()
        .map(|&v| to_axis(v))
        .fold(f64::INFINITY, f64::min);
    let hi = values
        .iter()
        .map(|&v| to_axis(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.1 * lo.abs().max(1.0)
    };
    from_axis(lo - pad)..from_axis(hi + pad)
}

/// Draws the chart on `root` with the given coordinate specs.
fn draw<X, Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    plot: &FrontPlot,
    x_spec: X,
    y_spec: Y,
) -> std::result::Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let front = plot.front_indices().map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_spec, y_spec)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(plot.x_axis.caption())
        .y_desc(plot.y_axis.caption())
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;

    let front_color = RGBColor(31, 119, 180);
    let other_color = RGBColor(140, 140, 140);
    let baseline_color = RGBColor(214, 39, 40);

    // Step line bounding the dominated region: right along y_i to x_{i+1}, then down to y_{i+1}.
    let mut front_xy: Vec<(f64, f64)> = front.iter().map(|&i| plot.points[i]).collect();
    front_xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut step = Vec::with_capacity(front_xy.len() * 2);
    for (k, &(x, y)) in front_xy.iter().enumerate() {
        step.push((x, y));
        if let Some(&(next_x, _)) = front_xy.get(k + 1) {
            step.push((next_x, y));
        }
    }
    chart
        .draw_series(LineSeries::new(step, front_color.stroke_width(2)))
        .map_err(|e| e.to_string())?
        .label("Pareto front")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], front_color.stroke_width(2))
        });

    let mut on_front = vec![false; plot.points.len()];
    for &i in &front {
        on_front[i] = true;
    }
    chart
        .draw_series(
            plot.points
                .iter()
                .zip(&on_front)
                .filter(|(_, f)| !**f)
                .map(|(&p, _)| Circle::new(p, 3, other_color.stroke_width(1))),
        )
        .map_err(|e| e.to_string())?
        .label("dominated design")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], other_color));
    chart
        .draw_series(
            front
                .iter()
                .map(|&i| Circle::new(plot.points[i], 4, front_color.filled())),
        )
        .map_err(|e| e.to_string())?;

    for baseline in &plot.baselines {
        let marker = EmptyElement::at((baseline.x, baseline.y))
            + TriangleMarker::new((0, 0), 7, baseline_color.filled())
            + Text::new(
                baseline.label.clone(),
                (9, -16),
                ("sans-serif", 17).into_font().color(&baseline_color),
            );
        chart
            .draw_series(std::iter::once(marker))
            .map_err(|e| e.to_string())?;
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Draws one plot on one area, choosing the coordinate types its axis scales need.
fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, plot: &FrontPlot) -> Result<()> {
    let (x_range, y_range) = plot_ranges(plot)?;
    let drawn = match (plot.x_axis.scale, plot.y_axis.scale) {
        (AxisScale::Linear, AxisScale::Linear) => draw(area, plot, x_range, y_range),
        (AxisScale::Log10, AxisScale::Linear) => draw(area, plot, x_range.log_scale(), y_range),
        (AxisScale::Linear, AxisScale::Log10) => draw(area, plot, x_range, y_range.log_scale()),
        (AxisScale::Log10, AxisScale::Log10) => {
            draw(area, plot, x_range.log_scale(), y_range.log_scale())
        }
    };
    drawn.map_err(|message| SearchError::Plot {
        path: MEMORY.into(),
        message,
    })
}

/// Renders the plot to an SVG document in memory.
pub fn render_front_svg(plot: &FrontPlot) -> Result<String> {
    render_front_panels_svg(std::slice::from_ref(plot))
}

/// Renders several plots side by side in one SVG document (e.g. log loss against energy and
/// against latency). The image is as wide as the panels together and as tall as the tallest.
pub fn render_front_panels_svg(plots: &[FrontPlot]) -> Result<String> {
    if plots.is_empty() {
        return Err(SearchError::TooFewPoints {
            what: "Pareto front panels",
            needed: 1,
            found: 0,
        });
    }
    // Check every panel before drawing anything, so an error never leaves half a document.
    for plot in plots {
        plot_ranges(plot)?;
    }
    let width_px: u32 = plots.iter().map(|p| p.width_px).sum();
    let height_px = plots.iter().map(|p| p.height_px).max().unwrap_or(0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width_px, height_px)).into_drawing_area();
        let to_plot_error = |message: String| SearchError::Plot {
            path: MEMORY.into(),
            message,
        };
        root.fill(&WHITE)
            .map_err(|e| to_plot_error(e.to_string()))?;
        let breakpoints: Vec<i32> = plots
            .iter()
            .scan(0u32, |x, p| {
                *x += p.width_px;
                Some(*x as i32)
            })
            .take(plots.len() - 1)
            .collect();
        let areas = root.split_by_breakpoints(breakpoints, Vec::<i32>::new());
        for (area, plot) in areas.iter().zip(plots) {
            draw_panel(area, plot)?;
        }
        root.present().map_err(|e| to_plot_error(e.to_string()))?;
    }
    Ok(svg)
}

/// Renders several plots side by side and writes them to `path` (the parent must exist).
pub fn write_front_panels_svg(plots: &[FrontPlot], path: &Path) -> Result<()> {
    let svg = render_front_panels_svg(plots).map_err(|e| with_path(e, path))?;
    std::fs::write(path, svg).map_err(|source| SearchError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// Names the output file in a plotting error.
fn with_path(error: SearchError, path: &Path) -> SearchError {
    match error {
        SearchError::Plot { message, .. } => SearchError::Plot {
            path: path.to_path_buf(),
            message,
        },
        other => other,
    }
}

/// Renders the plot and writes it to `path` (the parent directory must exist).
pub fn write_front_svg(plot: &FrontPlot, path: &Path) -> Result<()> {
    write_front_panels_svg(std::slice::from_ref(plot), path)
}
