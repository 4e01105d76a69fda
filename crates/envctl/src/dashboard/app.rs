//! The dashboard's state and what each key does, without a terminal: the
//! loop feeds it snapshots, log lines and keys, and acts on what it asks
//! for (follow a service's log, restart, stop, start, quit).

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::{Kind, Row, Snapshot};

/// Lines of log kept for the selected service.
pub const LOG_LINES: usize = 2000;

/// What the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The table and the log pane.
    Normal,
    /// Typing a filter after `/`.
    Filter,
    /// The key help.
    Help,
    /// The selected service's log, full screen.
    Logs,
}

/// What the loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing beyond redrawing.
    None,
    /// Leave (services keep running).
    Quit,
    /// Follow this row's log.
    Follow(Option<Row>),
    /// Restart this row's service.
    Restart(Row),
    /// Stop this row's service.
    Stop(Row),
    /// Start this row's project.
    Start(Row),
}

/// Everything the screen is drawn from.
#[derive(Debug)]
pub struct App {
    /// The repository shown.
    pub repo: String,
    /// The daemon's pid, if one answers.
    pub daemon: Option<u32>,
    /// The latest snapshot.
    pub snap: Snapshot,
    /// Index into the visible rows.
    pub selected: usize,
    /// The `/` filter (a substring of the label or status).
    pub filter: String,
    /// What the screen shows.
    pub mode: Mode,
    /// The followed service's last lines.
    pub logs: VecDeque<String>,
    /// Which row the log pane follows (its label).
    pub following: Option<String>,
    /// The last message for the status line.
    pub message: String,
}

impl App {
    /// An empty dashboard for `repo`.
    pub fn new(repo: String, daemon: Option<u32>) -> App {
        App {
            repo,
            daemon,
            snap: Snapshot::default(),
            selected: 0,
            filter: String::new(),
            mode: Mode::Normal,
            logs: VecDeque::new(),
            following: None,
            message: String::new(),
        }
    }

    /// The rows the filter lets through.
    pub fn visible(&self) -> Vec<&Row> {
        let f = self.filter.to_lowercase();
        self.snap
            .rows
            .iter()
            .filter(|r| {
                f.is_empty()
                    || r.label().to_lowercase().contains(&f)
                    || r.status.to_lowercase().contains(&f)
            })
            .collect()
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&Row> {
        self.visible().get(self.selected).copied()
    }

    /// Takes a new snapshot, keeping the same row selected. Returns the
    /// row to follow if the selection moved to another service.
    pub fn set_snapshot(&mut self, snap: Snapshot) -> Action {
        let keep = self.selected_row().map(Row::label);
        self.snap = snap;
        if let Some(label) = keep
            && let Some(i) = self.visible().iter().position(|r| r.label() == label)
        {
            self.selected = i;
        }
        self.clamp();
        self.follow_if_moved()
    }

    /// Adds a log line of the followed service.
    pub fn push_log(&mut self, line: String) {
        if self.logs.len() == LOG_LINES {
            self.logs.pop_front();
        }
        self.logs.push_back(line);
    }

    fn clamp(&mut self) {
        let n = self.visible().len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// After the filter changed: the same row stays selected if it is
    /// still shown.
    fn refilter(&mut self, before: Option<String>) {
        if let Some(label) = before
            && let Some(i) = self.visible().iter().position(|r| r.label() == label)
        {
            self.selected = i;
        }
        self.clamp();
    }

    fn follow_if_moved(&mut self) -> Action {
        let now = self.selected_row().map(Row::label);
        if now == self.following {
            return Action::None;
        }
        self.following = now;
        self.logs.clear();
        Action::Follow(self.selected_row().cloned())
    }

    fn move_by(&mut self, delta: isize) -> Action {
        let n = self.visible().len();
        if n == 0 {
            return Action::None;
        }
        self.selected = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
        self.follow_if_moved()
    }

    /// What a key does.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match self.mode {
            Mode::Filter => {
                let before = self.selected_row().map(Row::label);
                match key.code {
                    KeyCode::Enter => self.mode = Mode::Normal,
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    KeyCode::Char(c) => self.filter.push(c),
                    _ => {}
                }
                self.refilter(before);
                self.follow_if_moved()
            }
            Mode::Help | Mode::Logs => {
                match key.code {
                    KeyCode::Char('q') if self.mode == Mode::Help => return Action::Quit,
                    KeyCode::Esc | KeyCode::Char('?' | 'l' | 'q') => self.mode = Mode::Normal,
                    _ => {}
                }
                Action::None
            }
            Mode::Normal => match key.code {
                KeyCode::Char('q') => Action::Quit,
                KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
                KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
                KeyCode::PageUp => self.move_by(-10),
                KeyCode::PageDown => self.move_by(10),
                KeyCode::Home | KeyCode::Char('g') => self.move_by(isize::MIN / 2),
                KeyCode::End | KeyCode::Char('G') => self.move_by(isize::MAX / 2),
                KeyCode::Char('/') => {
                    self.mode = Mode::Filter;
                    Action::None
                }
                KeyCode::Char('?') => {
                    self.mode = Mode::Help;
                    Action::None
                }
                KeyCode::Char('l') => {
                    self.mode = Mode::Logs;
                    Action::None
                }
                KeyCode::Esc => {
                    let before = self.selected_row().map(Row::label);
                    self.filter.clear();
                    self.refilter(before);
                    self.follow_if_moved()
                }
                KeyCode::Char(c @ ('r' | 's' | 'S')) => match self.selected_row().cloned() {
                    Some(row) if row.kind == Kind::Dependency && c != 'S' => {
                        self.message = format!(
                            "{} is a dependency: the daemon restarts it by policy; `envctl stop-all` stops it",
                            row.label()
                        );
                        Action::None
                    }
                    Some(row) => match c {
                        'r' => Action::Restart(row),
                        's' => Action::Stop(row),
                        _ => Action::Start(row),
                    },
                    None => Action::None,
                },
                _ => Action::None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(project: &str, service: &str, status: &str) -> Row {
        Row {
            project: project.into(),
            service: service.into(),
            kind: Kind::Service,
            status: status.into(),
            port: 8000,
            pid: 1,
            uptime_s: Some(5),
            restarts: 0,
            health: String::new(),
            log: None,
        }
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn app() -> App {
        let mut a = App::new("/r".into(), Some(7));
        a.set_snapshot(Snapshot {
            runs: vec!["run-1".into()],
            rows: vec![
                row("a", "backend", "running"),
                row("a", "frontend", "running"),
                row("b", "backend", "stale"),
            ],
        });
        a
    }

    #[test]
    fn moving_follows_the_new_row_and_keys_map_to_actions() {
        let mut a = app();
        assert_eq!(a.following.as_deref(), Some("a backend"));
        match a.on_key(key(KeyCode::Char('j'))) {
            Action::Follow(Some(r)) => assert_eq!(r.label(), "a frontend"),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(a.on_key(key(KeyCode::Char('r'))), Action::Restart(r) if r.label() == "a frontend")
        );
        assert!(matches!(a.on_key(key(KeyCode::Char('s'))), Action::Stop(_)));
        assert!(matches!(
            a.on_key(key(KeyCode::Char('S'))),
            Action::Start(_)
        ));
        assert_eq!(
            a.on_key(key(KeyCode::Char('G'))),
            Action::Follow(Some(row("b", "backend", "stale")))
        );
        assert_eq!(
            a.on_key(key(KeyCode::Down)),
            Action::None,
            "stays at the end"
        );
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::Quit);
    }

    #[test]
    fn filter_narrows_and_esc_clears() {
        let mut a = app();
        a.on_key(key(KeyCode::Char('/')));
        for c in "stale".chars() {
            a.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(a.visible().len(), 1);
        assert_eq!(a.following.as_deref(), Some("b backend"));
        a.on_key(key(KeyCode::Enter));
        assert_eq!(a.mode, Mode::Normal);
        a.on_key(key(KeyCode::Esc));
        assert_eq!(a.visible().len(), 3);
        assert_eq!(
            a.selected_row().unwrap().label(),
            "b backend",
            "selection kept"
        );
    }

    #[test]
    fn a_snapshot_keeps_the_selection_on_the_same_service() {
        let mut a = app();
        a.on_key(key(KeyCode::Char('j')));
        let act = a.set_snapshot(Snapshot {
            runs: vec![],
            rows: vec![
                row("0", "new", "running"),
                row("a", "backend", "running"),
                row("a", "frontend", "stale"),
            ],
        });
        assert_eq!(act, Action::None);
        assert_eq!(a.selected_row().unwrap().label(), "a frontend");
    }
}
