//! Bar charts drawn on the server as inline SVG (no JavaScript): stacked when there are several
//! series, with a legend; the pages show the figures in a table beside each chart.

use std::fmt::Write;

/// Colours of the series, distinct and dark enough on white.
const COLORS: [&str; 8] = [
    "#000091", "#c9191e", "#18753c", "#b34000", "#6a6af4", "#695240", "#a558a0", "#00787a",
];

/// One series of a chart: a value per category.
pub(super) struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A figure with at most one decimal, French style.
pub(super) fn number(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}").replace('.', ",")
    }
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A vertical bar chart of `categories` (stacked series), titled `title` (its accessible name;
/// the figures are in the table that follows it).
pub(super) fn bars(id: &str, title: &str, categories: &[String], series: &[Series]) -> String {
    let totals: Vec<f64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().fold(0.0_f64, f64::max);
    let scale_max = nice_ceiling(max);
    let legend_rows = if series.len() > 1 {
        series.len().div_ceil(3)
    } else {
        0
    };
    let total_height = HEIGHT + 20.0 * legend_rows as f64;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = categories.len().max(1) as f64;
    let slot = (WIDTH - LEFT - 8.0) / n;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {total_height}\" \
         role=\"img\" aria-labelledby=\"{id}-titre\"><title id=\"{id}-titre\">{} (les chiffres sont dans le tableau qui suit)</title>",
        esc(title)
    );
    // Grid lines and their values.
    for k in 0..=4 {
        let v = scale_max * f64::from(k) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#3a3a3a\">{}</text>",
            WIDTH - 4.0,
            LEFT - 4.0,
            y + 4.0,
            number(v)
        );
    }
    for (i, cat) in categories.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let mut base = TOP + plot_h;
        for (j, serie) in series.iter().enumerate() {
            let v = serie.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 || scale_max <= 0.0 {
                continue;
            }
            let h = plot_h * v / scale_max;
            base -= h;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{base:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                COLORS[j % COLORS.len()]
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#3a3a3a\">{}</text>",
            x + w / 2.0,
            HEIGHT - 10.0,
            esc(cat)
        );
    }
    if series.len() > 1 {
        for (j, serie) in series.iter().enumerate() {
            let x = LEFT + (j % 3) as f64 * 220.0;
            let y = HEIGHT + 20.0 * (j / 3) as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"#1e1e1e\">{}</text>",
                y - 10.0,
                COLORS[j % COLORS.len()],
                x + 16.0,
                esc(&serie.name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The smallest of 1, 2, 5 × 10ⁿ at least `v` (at least 1).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let mut p = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * p >= v {
                return m * p;
            }
        }
        p *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_escape_and_stack() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        let svg = bars(
            "x",
            "A & B",
            &["janv.".into(), "févr.".into()],
            &[
                Series {
                    name: "<c1>".into(),
                    values: vec![1.0, 2.0],
                },
                Series {
                    name: "c2".into(),
                    values: vec![3.0, 0.0],
                },
            ],
        );
        assert!(svg.contains("A &amp; B") && svg.contains("&lt;c1&gt;"));
        assert_eq!(svg.matches("<rect").count(), 3 + 2);
        assert_eq!(number(2.25), "2,3");
        assert_eq!(number(3.0), "3");
    }
}
