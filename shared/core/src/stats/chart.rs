//! The `/stats` chart: tickets opened and closed per day (or hour) as bars, and the median wait for a claim as a
//! line below, drawn with plotters into an RGB buffer and encoded as PNG. Text uses an embedded DejaVu Sans subset
//! (`assets/fonts`): Lambda has no system fonts.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::Figures;

/// The chart's size in pixels.
pub const WIDTH: u32 = 1000;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 640;

/// The embedded font's family name for plotters.
const FAMILY: &str = "zabota-sans";
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
static REGISTER: Once = Once::new();

/// The chart's labels (from `crate::texts`).
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    /// Above the bars.
    pub title: &'a str,
    /// The opened bars' legend.
    pub opened: &'a str,
    /// The closed bars' legend.
    pub closed: &'a str,
    /// Above the wait line.
    pub wait: &'a str,
}

/// Drawing failed (a defect: the buffer is ours and the font embedded).
#[derive(Debug, thiserror::Error)]
#[error("the chart could not be drawn: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// `figures`' buckets as a PNG of [`WIDTH`] × [`HEIGHT`]; a bucket is labelled by `label(bucket start)`.
pub fn render(
    figures: &Figures,
    labels: Labels<'_>,
    label: impl Fn(chrono::NaiveDateTime) -> String,
) -> Result<Vec<u8>, ChartError> {
    let mut registered = Ok(());
    REGISTER.call_once(|| {
        registered = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| ChartError("the embedded font does not load".into()));
    });
    registered?;
    let mut rgb = vec![0u8; usize::try_from(WIDTH * HEIGHT * 3).map_err(err)?];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, bottom) = root.split_vertically(HEIGHT * 3 / 5);
        let buckets = &figures.buckets;
        let n = buckets.len().max(1);
        // A segmented range of 0..k has a segment for each of 0..=k: the last bucket is k.
        let last = n.saturating_sub(1).max(1);
        let most = buckets.iter().map(|b| b.opened.max(b.closed)).max().unwrap_or(0).max(1);
        let step = (n / 10).max(1);
        let name = |i: usize| buckets.get(i).map(|b| label(b.at)).unwrap_or_default();
        let x_label = |x: &SegmentValue<usize>| match x {
            SegmentValue::CenterOf(i) if i.is_multiple_of(step) => name(*i),
            _ => String::new(),
        };
        let mut bars = ChartBuilder::on(&top)
            .caption(labels.title, (FAMILY, 24))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d((0..last).into_segmented(), 0..most + most / 10 + 1)
            .map_err(err)?;
        bars.configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&x_label)
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        let opened = RGBColor(52, 101, 164);
        let closed = RGBColor(115, 210, 22);
        // Each bucket's segment holds its two bars side by side: opened on the left, closed on the right.
        let segment = bars.plotting_area().dim_in_pixel().0 / u32::try_from(last + 1).unwrap_or(1);
        let (edge, middle) = (segment / 10, segment / 2);
        let bar = |i: usize, value: i64, color: RGBColor, left: bool| {
            let corners = [(SegmentValue::Exact(i), 0), (SegmentValue::Exact(i + 1), value)];
            let mut bar = Rectangle::new(corners, color.filled());
            if left {
                bar.set_margin(0, 0, edge, middle);
            } else {
                bar.set_margin(0, 0, middle, edge);
            }
            bar
        };
        bars.draw_series(buckets.iter().enumerate().map(|(i, b)| bar(i, b.opened, opened, true)))
            .map_err(err)?
            .label(labels.opened)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], opened.filled()));
        bars.draw_series(buckets.iter().enumerate().map(|(i, b)| bar(i, b.closed, closed, false)))
            .map_err(err)?
            .label(labels.closed)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], closed.filled()));
        bars.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;

        let minutes: Vec<Option<f64>> = buckets.iter().map(|b| b.wait_median_s.map(|s| s / 60.0)).collect();
        let longest = minutes.iter().flatten().copied().fold(0.0_f64, f64::max).max(1.0);
        let mut line = ChartBuilder::on(&bottom)
            .caption(labels.wait, (FAMILY, 18))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d((0..last).into_segmented(), 0.0..longest * 1.1)
            .map_err(err)?;
        line.configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&x_label)
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        let points: Vec<(SegmentValue<usize>, f64)> =
            minutes.iter().enumerate().filter_map(|(i, m)| m.map(|m| (SegmentValue::CenterOf(i), m))).collect();
        let wait = RGBColor(204, 0, 0);
        line.draw_series(LineSeries::new(points.iter().cloned(), wait.stroke_width(2))).map_err(err)?;
        line.draw_series(points.iter().map(|p| Circle::new(p.clone(), 3, wait.filled()))).map_err(err)?;
        root.present().map_err(err)?;
    }
    encode(&rgb)
}

/// An RGB buffer of [`WIDTH`] × [`HEIGHT`] as PNG.
fn encode(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(png)
}
