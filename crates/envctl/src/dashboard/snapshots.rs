//! Render snapshots: the screen at 80×24 and 200×50, compared with the
//! text in `testdata/` (regenerate with `UPDATE_SNAPSHOTS=1` and review
//! the diff).

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Mode};
use super::model::{Kind, Row, Snapshot};
use super::view::{Palette, draw};

fn row(project: &str, service: &str, kind: Kind, status: &str, port: u16, pid: u32) -> Row {
    Row {
        project: project.into(),
        service: service.into(),
        kind,
        status: status.into(),
        port,
        pid,
        uptime_s: (status == "running" && kind == Kind::Service).then_some(185),
        restarts: u32::from(status == "running" && service == "frontend"),
        health: match (kind, status) {
            (_, "running") => "healthy".into(),
            (_, "stale") => String::new(),
            _ => "HTTP 500".into(),
        },
        log: None,
    }
}

fn sample() -> App {
    let mut app = App::new("/home/dev/shop".into(), Some(4242));
    app.set_snapshot(Snapshot {
        runs: vec!["run-20261128-1".into()],
        rows: vec![
            row("feat-a-1", "backend", Kind::Service, "running", 8077, 1201),
            row("feat-a-1", "frontend", Kind::Service, "running", 9077, 1202),
            row("feat-b-1", "backend", Kind::Service, "stale", 8112, 1301),
            row("feat-b-1", "worker", Kind::Service, "unreachable", 0, 1302),
            row("shared", "postgres", Kind::Dependency, "running", 5486, 900),
            row("shared", "redis", Kind::Dependency, "running", 6433, 901),
        ],
    });
    for i in 0..30 {
        app.push_log(format!("backend: GET /health HTTP/1.1 200 #{i}"));
    }
    app
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app, Palette { colour: false })).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_owned()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn check(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/dashboard/testdata")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert_eq!(got, want, "{name} differs from {}", path.display());
}

#[test]
fn at_80x24() {
    check("dashboard_80x24", &screen(&sample(), 80, 24));
}

#[test]
fn at_200x50() {
    check("dashboard_200x50", &screen(&sample(), 200, 50));
}

#[test]
fn help_over_the_table_at_80x24() {
    let mut app = sample();
    app.mode = Mode::Help;
    check("dashboard_help_80x24", &screen(&app, 80, 24));
}

#[test]
fn without_a_daemon_it_says_so() {
    let mut app = sample();
    app.daemon = None;
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("no daemon: nothing is supervised (`envctl start` starts one)"),
        "{s}"
    );
    assert!(s.contains("no daemon runs: no live log"), "{s}");
}
