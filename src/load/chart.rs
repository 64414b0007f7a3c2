//! The report's timeline drawn as one self-contained SVG document: send → receive latency
//! (p50, p99) per second above, throughput (deliveries/s, sent/s, live conversations) below,
//! with the step-up stages and p99 limit marked. Pure string building: no fonts, scripts,
//! images or links, and nothing here measures anything.

use std::fmt::Write as _;

use super::report::{Report, Second};

const W: f64 = 960.0;
const H: f64 = 560.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 880.0;
const LATENCY: Band = Band {
    top: 84.0,
    bottom: 274.0,
};
const THROUGHPUT: Band = Band {
    top: 334.0,
    bottom: 504.0,
};
const P50: &str = "#1f77b4";
const P99: &str = "#d62728";
const DELIVERED: &str = "#2ca02c";
const SENT: &str = "#ff7f0e";
const LIVE: &str = "#9467bd";
const HEADING: &str = "font-size=\"13\" fill=\"#222\"";
const TICK: &str = "font-size=\"11\" fill=\"#444\"";

/// The report's timeline as one self-contained SVG document.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (w, h) = (num(W), num(H));
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">"
    );
    let title = format!("switchboard load — {}", report.scenario);
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
    text(
        &mut out,
        (LEFT, 26.0),
        "font-size=\"18\" fill=\"#222\"",
        &title,
    );
    let subtitle = format!("target {} · started {}", report.target, report.started_at);
    text(
        &mut out,
        (LEFT, 46.0),
        "font-size=\"12\" fill=\"#666\"",
        &subtitle,
    );
    if report.timeline.is_empty() {
        let style = "text-anchor=\"middle\" font-size=\"16\" fill=\"#666\"";
        text(&mut out, (W / 2.0, H / 2.0), style, "no traffic recorded");
    } else {
        let axis = TimeAxis::new(report);
        latency_panel(&mut out, report, &axis);
        throughput_panel(&mut out, report, &axis);
        let style = "text-anchor=\"middle\" font-size=\"12\" fill=\"#444\"";
        text(&mut out, ((LEFT + RIGHT) / 2.0, 542.0), style, "time (s)");
    }
    out.push_str("</svg>\n");
    out
}

/// The vertical extent of one panel's plot, in pixels.
#[derive(Clone, Copy)]
struct Band {
    top: f64,
    bottom: f64,
}

impl Band {
    /// The pixel row of `v` on a scale `0..=max`.
    fn y(self, v: f64, max: f64) -> f64 {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            1.0
        };
        self.bottom - fin(v).clamp(0.0, max) / max * (self.bottom - self.top)
    }

    /// A vertical axis at `x` from 0 to `max` by `step`: labels left of it at the left edge
    /// (with light grid lines across the plot), right of it otherwise.
    fn y_axis(self, out: &mut String, x: f64, (step, max): (f64, f64), color: &str) {
        let left = x <= LEFT;
        line(out, (x, self.top), (x, self.bottom), color, "");
        let (tx, anchor) = if left {
            (x - 6.0, "end")
        } else {
            (x + 6.0, "start")
        };
        let style = format!("text-anchor=\"{anchor}\" font-size=\"11\" fill=\"{color}\"");
        for i in 0..=((max / step).round() as usize).min(10) {
            let v = i as f64 * step;
            let y = self.y(v, max);
            if left {
                line(out, (LEFT, y), (RIGHT, y), "#eeeeee", "");
            }
            text(out, (tx, y + 4.0), &style, &num(v));
        }
    }

    /// One polyline of `(t, value)` points on a scale `0..=max`.
    fn series(
        self,
        out: &mut String,
        axis: &TimeAxis,
        max: f64,
        values: Vec<(u32, f64)>,
        color: &str,
    ) {
        let pairs: Vec<String> = values
            .iter()
            .map(|&(t, v)| format!("{},{}", num(axis.x(f64::from(t))), num(self.y(v, max))))
            .collect();
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" \
             stroke-linejoin=\"round\"/>",
            pairs.join(" ")
        );
    }
}

/// Maps a second `t` of the timeline to an x pixel; the domain is at least one second wide.
struct TimeAxis {
    t0: f64,
    span: f64,
    seconds: usize,
}

impl TimeAxis {
    fn new(report: &Report) -> TimeAxis {
        let ts = report.timeline.iter().map(|s| f64::from(s.t));
        let t0 = ts.clone().reduce(f64::min).unwrap_or(0.0);
        let span = (ts.reduce(f64::max).unwrap_or(0.0) - t0).max(1.0);
        TimeAxis {
            t0,
            span,
            seconds: report.timeline.len(),
        }
    }

    fn x(&self, t: f64) -> f64 {
        let t = fin(t).clamp(self.t0, self.t0 + self.span);
        LEFT + (t - self.t0) / self.span * (RIGHT - LEFT)
    }

    /// The axis line, ticks and second labels under `band`, plus the step-up stage starts as
    /// light vertical lines (spread evenly: stage k at k * len / stages).
    fn draw(&self, out: &mut String, band: Band, report: &Report) {
        line(out, (LEFT, band.bottom), (RIGHT, band.bottom), "#444", "");
        let step = nice_step(self.span).max(1.0);
        let style = format!("text-anchor=\"middle\" {TICK}");
        let first = (self.t0 / step).ceil() * step;
        for t in (0..20).map(|i| first + f64::from(i) * step) {
            if t > self.t0 + self.span + 1e-9 {
                break;
            }
            let x = self.x(t);
            line(out, (x, band.bottom), (x, band.bottom + 4.0), "#444", "");
            text(out, (x, band.bottom + 16.0), &style, &num(t));
        }
        let stages = report.step_up.as_ref().map_or(&[][..], |s| &s.stages[..]);
        for (k, stage) in stages.iter().enumerate() {
            let x = self.x(self.t0 + (k * self.seconds) as f64 / stages.len() as f64);
            line(out, (x, band.top), (x, band.bottom), "#cccccc", "");
            if band.top == LATENCY.top {
                let label = format!("{} conv", stage.target_conversations);
                text(
                    out,
                    (x + 3.0, band.top + 11.0),
                    "font-size=\"10\" fill=\"#888\"",
                    &label,
                );
            }
        }
    }
}

fn latency_panel(out: &mut String, report: &Report, axis: &TimeAxis) {
    let limit = report
        .step_up
        .as_ref()
        .map(|s| fin(s.p99_limit_ms).max(0.0));
    let values = |f: fn(&Second) -> f64| -> Vec<(u32, f64)> {
        report
            .timeline
            .iter()
            .map(|s| (s.t, fin(f(s)).max(0.0)))
            .collect()
    };
    let (p50, p99) = (values(|s| s.p50_ms), values(|s| s.p99_ms));
    let max = p50
        .iter()
        .chain(&p99)
        .map(|p| p.1)
        .chain(limit)
        .fold(0.0, f64::max);
    let scale = nice_scale(max, 1.0);
    text(
        out,
        (LEFT, LATENCY.top - 10.0),
        HEADING,
        "latency send → receive (ms)",
    );
    legend(out, LEFT + 330.0, LATENCY.top - 10.0, P50, "p50");
    legend(out, LEFT + 400.0, LATENCY.top - 10.0, P99, "p99");
    LATENCY.y_axis(out, LEFT, scale, "#444");
    axis.draw(out, LATENCY, report);
    if let Some(limit) = limit {
        let y = LATENCY.y(limit, scale.1);
        line(
            out,
            (LEFT, y),
            (RIGHT, y),
            "#555",
            " stroke-dasharray=\"6 4\"",
        );
        let style = "text-anchor=\"end\" font-size=\"11\" fill=\"#555\"";
        text(
            out,
            (RIGHT - 4.0, y - 4.0),
            style,
            &format!("p99 limit {} ms", num(limit)),
        );
    }
    LATENCY.series(out, axis, scale.1, p50, P50);
    LATENCY.series(out, axis, scale.1, p99, P99);
}

fn throughput_panel(out: &mut String, report: &Report, axis: &TimeAxis) {
    let values = |f: fn(&Second) -> u64| -> Vec<(u32, f64)> {
        report.timeline.iter().map(|s| (s.t, f(s) as f64)).collect()
    };
    let (delivered, sent) = (values(|s| s.deliveries), values(|s| s.sent));
    let live = values(|s| s.conversations);
    let scale = nice_scale(
        delivered
            .iter()
            .chain(&sent)
            .map(|p| p.1)
            .fold(0.0, f64::max),
        5.0,
    );
    let live_scale = nice_scale(live.iter().map(|p| p.1).fold(0.0, f64::max), 5.0);
    let y = THROUGHPUT.top - 10.0;
    text(out, (LEFT, y), HEADING, "throughput (per second)");
    legend(out, LEFT + 330.0, y, DELIVERED, "deliveries/s");
    legend(out, LEFT + 450.0, y, SENT, "sent/s");
    legend(
        out,
        LEFT + 540.0,
        y,
        LIVE,
        "live conversations (right axis)",
    );
    THROUGHPUT.y_axis(out, LEFT, scale, "#444");
    THROUGHPUT.y_axis(out, RIGHT, live_scale, LIVE);
    axis.draw(out, THROUGHPUT, report);
    THROUGHPUT.series(out, axis, scale.1, delivered, DELIVERED);
    THROUGHPUT.series(out, axis, scale.1, sent, SENT);
    THROUGHPUT.series(out, axis, live_scale.1, live, LIVE);
}

fn legend(out: &mut String, x: f64, y: f64, color: &str, label: &str) {
    let (x1, x2, y1) = (num(x), num(x + 18.0), num(y - 4.0));
    let _ = writeln!(
        out,
        "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y1}\" stroke=\"{color}\" stroke-width=\"3\"/>"
    );
    text(out, (x + 24.0, y), "font-size=\"11\" fill=\"#333\"", label);
}

/// A one-pixel line; `extra` is appended to its attributes (e.g. a dash array).
fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), color: &str, extra: &str) {
    let (x1, y1, x2, y2) = (num(x1), num(y1), num(x2), num(y2));
    let _ = writeln!(
        out,
        "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{color}\" stroke-width=\"1\"{extra}/>"
    );
}

/// A text node at `(x, y)` with fixed `style` attributes; `body` is escaped.
fn text(out: &mut String, (x, y): (f64, f64), style: &str, body: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" {style}>{}</text>",
        num(x),
        num(y),
        esc(body)
    );
}

/// A round tick step (1, 2 or 5 × 10^k) giving about five intervals up to `max`.
fn nice_step(max: f64) -> f64 {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let mult = match norm {
        n if n <= 1.0 => 1.0,
        n if n <= 2.0 => 2.0,
        n if n <= 5.0 => 5.0,
        _ => 10.0,
    };
    let step = mult * mag;
    if step.is_finite() && step > 0.0 {
        step
    } else {
        1.0
    }
}

/// `(step, top)` of an axis from 0 covering `max` (at least `floor`): 4–6 ticks.
fn nice_scale(max: f64, floor: f64) -> (f64, f64) {
    let max = fin(max).max(floor);
    let step = nice_step(max);
    let top = ((max / step).ceil() * step).max(step);
    (step, top)
}

/// Non-finite values count as zero.
fn fin(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// At most one decimal, none when it would be `.0`; never `NaN`, `inf` or `-0`.
fn num(v: f64) -> String {
    let r = (fin(v) * 10.0).round() / 10.0;
    if r == 0.0 || !r.is_finite() {
        "0".into()
    } else if r == r.trunc() {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::report::{Report, Second, Stage, StepUp};
    use super::*;

    fn report(n: u32) -> Report {
        let timeline = (0..n)
            .map(|t| Second {
                t,
                sent: u64::from(t) * 7,
                deliveries: u64::from(t) * 13,
                conversations: u64::from(t % 5),
                p50_ms: f64::from(t) * 0.37,
                p99_ms: f64::from(t) * 1.91,
                ..Second::default()
            })
            .collect();
        Report {
            scenario: "smoke".into(),
            target: "http://127.0.0.1:8080".into(),
            timeline,
            ..Report::default()
        }
    }

    fn step_up(limit: f64, targets: &[u64]) -> StepUp {
        let stages = targets.iter().map(|&t| Stage {
            target_conversations: t,
            ..Stage::default()
        });
        StepUp {
            p99_limit_ms: limit,
            stages: stages.collect(),
            ..StepUp::default()
        }
    }

    /// A tiny stack-based scanner: balanced, properly nested tags under one root, quoted
    /// attributes, only known entities. Returns the non-blank text nodes.
    fn well_formed(doc: &str) -> Result<Vec<String>, String> {
        fn entities(s: &str) -> Result<(), String> {
            for (i, _) in s.match_indices('&') {
                if !["amp;", "lt;", "gt;", "quot;", "apos;"]
                    .iter()
                    .any(|e| s[i + 1..].starts_with(e))
                {
                    return Err(format!("bare & in {s:?}"));
                }
            }
            Ok(())
        }
        let (mut stack, mut texts, mut roots, mut rest) = (Vec::new(), Vec::new(), 0, doc);
        while let Some(open) = rest.find('<') {
            let body = &rest[..open];
            entities(body)?;
            if !body.trim().is_empty() {
                if stack.is_empty() {
                    return Err(format!("text outside the root: {body:?}"));
                }
                texts.push(body.to_string());
            }
            let close = open + rest[open..].find('>').ok_or("unclosed tag")?;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if tag.contains('<') || tag.matches('"').count() % 2 != 0 {
                return Err(format!("bad tag {tag:?}"));
            }
            entities(tag)?;
            if let Some(decl) = tag.strip_prefix('?') {
                if !decl.ends_with('?') || roots > 0 || !stack.is_empty() {
                    return Err(format!("bad declaration {tag:?}"));
                }
            } else if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name.trim() => roots += usize::from(stack.is_empty()),
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else {
                let name = tag
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or("");
                if name.is_empty() {
                    return Err(format!("nameless tag {tag:?}"));
                }
                if tag.ends_with('/') {
                    roots += usize::from(stack.is_empty());
                } else {
                    stack.push(name.to_string());
                }
            }
        }
        if !rest.trim().is_empty() || !stack.is_empty() || roots != 1 {
            return Err(format!(
                "unclosed {stack:?}, {roots} roots, trailing {rest:?}"
            ));
        }
        Ok(texts)
    }

    fn polylines(doc: &str) -> Vec<Vec<(f64, f64)>> {
        doc.split("<polyline points=\"")
            .skip(1)
            .map(|p| {
                let pts = p.split('"').next().unwrap_or("");
                pts.split(' ')
                    .map(|xy| {
                        let (x, y) = xy.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn empty_timeline_is_a_valid_document_saying_so() {
        let doc = render(&Report::default());
        let texts = well_formed(&doc).expect("well-formed");
        assert!(
            texts.iter().any(|t| t == "no traffic recorded"),
            "{texts:?}"
        );
        assert!(doc.contains("<svg ") && doc.trim_end().ends_with("</svg>"));
        assert!(polylines(&doc).is_empty());
    }

    #[test]
    fn n_seconds_give_n_points_per_polyline() {
        for n in [1, 2, 60] {
            let doc = render(&report(n));
            well_formed(&doc).expect("well-formed");
            let lines = polylines(&doc);
            assert_eq!(lines.len(), 5, "p50, p99, deliveries, sent, live");
            for pts in &lines {
                assert_eq!(pts.len(), n as usize);
                assert!(
                    pts.iter()
                        .all(|&(x, y)| (0.0..=W).contains(&x) && (0.0..=H).contains(&y))
                );
            }
        }
    }

    #[test]
    fn report_text_is_escaped() {
        let mut r = report(3);
        r.scenario = "a<b&c\"d'e>".into();
        r.target = "http://x/?q=1&r=<2>".into();
        r.started_at = "\"now\"".into();
        let doc = render(&r);
        let texts = well_formed(&doc).expect("well-formed");
        assert!(doc.contains("switchboard load — a&lt;b&amp;c&quot;d&apos;e&gt;"));
        assert!(doc.contains("q=1&amp;r=&lt;2&gt;") && doc.contains("&quot;now&quot;"));
        for t in &texts {
            assert!(
                !t.contains(['<', '>', '"', '\'']),
                "raw character in text node {t:?}"
            );
        }
    }

    #[test]
    fn non_finite_inputs_never_leak() {
        let mut r = report(4);
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5.0];
        for (s, v) in r.timeline.iter_mut().zip(bad) {
            (s.p50_ms, s.p99_ms, s.server_cpu) = (v, v, Some(v));
        }
        r.step_up = Some(step_up(f64::NAN, &[10, 20]));
        let doc = render(&r);
        well_formed(&doc).expect("well-formed");
        assert!(!doc.contains("NaN") && !doc.contains("inf"), "{doc}");
        assert!(polylines(&doc).iter().all(|p| p.len() == 4));
    }

    #[test]
    fn limit_line_and_stages_only_with_step_up() {
        let mut r = report(30);
        let doc = render(&r);
        assert!(
            !doc.contains("p99 limit")
                && !doc.contains("stroke-dasharray")
                && !doc.contains(" conv<")
        );
        r.step_up = Some(step_up(50.0, &[10, 20, 40]));
        let doc = render(&r);
        well_formed(&doc).expect("well-formed");
        assert!(doc.contains("p99 limit 50 ms") && doc.contains("stroke-dasharray=\"6 4\""));
        for label in ["10 conv", "20 conv", "40 conv"] {
            assert!(doc.contains(&format!(">{label}<")), "{label}");
        }
        // Stage k at k * 30 / 3 seconds: 0, 10, 20 → x 70, 70 + 810 * 10/29, …
        assert_eq!(
            doc.matches("stroke=\"#cccccc\"").count(),
            6,
            "two panels × three stages"
        );
        assert!(doc.contains(&format!("x1=\"{}\"", num(LEFT + 810.0 * 10.0 / 29.0))));
    }

    #[test]
    fn ticks_are_round_and_few() {
        assert_eq!(nice_scale(87.0, 1.0), (20.0, 100.0));
        assert_eq!(nice_scale(0.0, 5.0), (1.0, 5.0));
        for max in [0.3, 1.0, 3.7, 12.0, 99.0, 101.0, 4321.0, 1e7] {
            let (step, top) = nice_scale(max, 0.0);
            let ticks = (top / step).round() as usize + 1;
            assert!(
                (4..=6).contains(&ticks) && top >= max,
                "{max}: {step} {top}"
            );
            let lead = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (lead - m).abs() < 1e-9),
                "{step}"
            );
        }
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        assert_eq!(num(2.0), "2");
        assert_eq!(num(1.26), "1.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::NEG_INFINITY), "0");
    }
}
