//! Drawing: a header, the table of services and dependencies, the log
//! pane of the selected one, and a footer with the keys. Pure: the same
//! `App` always draws the same screen (the snapshot tests rely on it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TRow, Table, TableState};

use super::app::{App, Mode};
use super::model::human_duration;

/// The keys, as the footer and the help show them.
pub const KEYS: &[(&str, &str)] = &[
    ("↑↓ j k", "select"),
    ("r", "restart"),
    ("s", "stop"),
    ("S", "start"),
    ("l", "logs"),
    ("/", "filter"),
    ("?", "help"),
    ("q", "quit"),
];

/// Colours or not (`NO_COLOR`): without, states are told apart by text
/// and weight only.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    /// Use colours.
    pub colour: bool,
}

impl Palette {
    /// From the environment: no colour when `NO_COLOR` is set (non-empty).
    pub fn from_env() -> Palette {
        Palette {
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn status(self, s: &str) -> Style {
        let base = Style::default();
        if !self.colour {
            return match s {
                "running" => base,
                _ => base.add_modifier(Modifier::BOLD),
            };
        }
        match s {
            "running" => base.fg(Color::Green),
            "starting" | "restarting" => base.fg(Color::Yellow),
            "stopped" => base.fg(Color::DarkGray),
            _ => base.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    fn dim(self) -> Style {
        if self.colour {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, app: &App, pal: Palette) {
    let area = f.area();
    if app.mode == Mode::Logs {
        let [body, footer] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        logs(f, app, body);
        f.render_widget(Paragraph::new(" Esc/l back   q back"), footer);
        return;
    }
    let msg_h = u16::from(!app.message.is_empty());
    let [header, table_area, log_area, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(3),
        Constraint::Length(msg_h),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header_line(app, pal)), header);
    table(f, app, pal, table_area);
    logs(f, app, log_area);
    f.render_widget(Paragraph::new(format!(" {}", app.message)), message);
    f.render_widget(Paragraph::new(footer_line(app, pal)), footer);
    if app.mode == Mode::Help {
        help(f, area);
    }
}

fn header_line(app: &App, pal: Palette) -> Line<'static> {
    let daemon = match app.daemon {
        Some(pid) => Span::raw(format!("daemon pid {pid}")),
        None => Span::styled(
            "no daemon: nothing is supervised (`envctl start` starts one)".to_owned(),
            pal.status("failed"),
        ),
    };
    let up = app
        .snap
        .rows
        .iter()
        .filter(|r| r.status == "running")
        .count();
    Line::from(vec![
        Span::styled(
            " envctl ",
            Style::default().add_modifier(Modifier::REVERSED),
        ),
        Span::raw(format!(" {}  ", app.repo)),
        daemon,
        Span::raw(format!("  {up}/{} running", app.snap.rows.len())),
    ])
}

fn table(f: &mut Frame<'_>, app: &App, pal: Palette, area: Rect) {
    let header = TRow::new([
        "PROJECT", "SERVICE", "STATUS", "PORT", "PID", "UPTIME", "RESTARTS", "HEALTH",
    ])
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows = app.visible().into_iter().map(|r| {
        // A dependency is named by what it is (postgres, redis) under
        // its owner (`shared`, or the project of an isolated one).
        let service = r.service.clone();
        let num = |n: u32| {
            if n == 0 {
                "-".to_owned()
            } else {
                n.to_string()
            }
        };
        TRow::new(vec![
            Cell::from(r.project.clone()),
            Cell::from(service),
            Cell::from(r.status.clone()).style(pal.status(&r.status)),
            Cell::from(if r.port == 0 {
                "-".into()
            } else {
                r.port.to_string()
            }),
            Cell::from(num(r.pid)),
            Cell::from(r.uptime_s.map_or("-".into(), human_duration)),
            Cell::from(r.restarts.to_string()),
            Cell::from(r.health.clone()),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(11),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(10),
    ];
    let title = if app.filter.is_empty() {
        " services ".to_owned()
    } else {
        format!(" services matching {:?} ", app.filter)
    };
    let t = Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("› ");
    let mut state = TableState::default();
    if !app.visible().is_empty() {
        state.select(Some(app.selected));
    }
    f.render_stateful_widget(t, area, &mut state);
}

fn logs(f: &mut Frame<'_>, app: &App, area: Rect) {
    let title = match &app.following {
        Some(l) => format!(" log: {l} "),
        None => " log ".to_owned(),
    };
    let inner_h = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line<'_>> = if app.daemon.is_none() {
        vec![Line::from(
            "no daemon runs: no live log (`envctl logs` reads the files)",
        )]
    } else {
        let skip = app.logs.len().saturating_sub(inner_h);
        app.logs
            .iter()
            .skip(skip)
            .map(|l| Line::from(l.clone()))
            .collect()
    };
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn footer_line(app: &App, pal: Palette) -> Line<'static> {
    if app.mode == Mode::Filter {
        return Line::from(format!(" filter: {}▏  Enter keep  Esc clear", app.filter));
    }
    let mut spans = Vec::new();
    for (k, what) in KEYS {
        spans.push(Span::styled(
            format!(" {k}"),
            Style::default().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what} "), pal.dim()));
    }
    Line::from(spans)
}

fn help(f: &mut Frame<'_>, area: Rect) {
    let w = 56.min(area.width);
    let h = (KEYS.len() as u16 + 6).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let mut lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(k, what)| Line::from(format!("  {k:<8} {what}")))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(
        "  q leaves the dashboard; services keep running.",
    ));
    lines.push(Line::from("  Esc or ? closes this help."));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" keys ")),
        r,
    );
}
