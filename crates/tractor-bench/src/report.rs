//! The JSON document (stdout) and the human table (stderr).

use serde_json::{Value, json};

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub p50: f64,
    pub p99: f64,
    pub unit: &'static str,
    /// `None` for figures with an absolute goal only.
    pub floor: Option<(f64, &'static str)>,
    /// Goal on the ratio (or on the absolute value when there is no floor).
    pub goal: Goal,
    pub note: Option<String>,
}

/// What we hold ourselves to.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// ratio (or value, without a floor) at most this.
    AtMost(f64),
    /// value at least this (throughputs).
    AtLeast(f64),
    /// the value itself at most this, whatever the floor.
    Absolute(f64),
}

impl Figure {
    fn ratio(&self) -> Option<f64> {
        self.floor
            .map(|(f, _)| if f > 0.0 { self.p50 / f } else { f64::INFINITY })
    }

    fn met(&self) -> bool {
        match self.goal {
            Goal::AtMost(g) => self.ratio().unwrap_or(self.p50) <= g,
            Goal::AtLeast(g) => self.p50 >= g,
            Goal::Absolute(g) => self.p50 <= g,
        }
    }

    fn goal_text(&self) -> String {
        match (self.goal, self.floor.is_some()) {
            (Goal::AtMost(g), true) => format!("ratio <= {g}"),
            (Goal::AtMost(g), false) => format!("<= {g} {}", self.unit),
            (Goal::AtLeast(g), _) => format!(">= {g} {}", self.unit),
            (Goal::Absolute(g), _) => format!("<= {g} {} absolute", self.unit),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "p50": self.p50,
            "p99": self.p99,
            "unit": self.unit,
            "floor": self.floor.map(|f| f.0),
            "floor_name": self.floor.map(|f| f.1),
            "ratio": self.ratio(),
            "goal_ratio": match self.goal { Goal::AtMost(g) if self.floor.is_some() => Some(g), _ => None },
            "goal": self.goal_text(),
            "met": self.met(),
        });
        if let Some(n) = &self.note {
            v["note"] = json!(n);
        }
        v
    }
}

/// Prints the table to stderr.
pub fn table(figs: &[Figure]) {
    eprintln!(
        "{:<26} {:>12} {:>12} {:>8} {:>12} {:>8}  {:<22} goal",
        "figure", "p50", "p99", "unit", "floor", "ratio", "floor name"
    );
    for f in figs {
        let (floor, fname) = f
            .floor
            .map(|(v, n)| (format!("{v:.2}"), n))
            .unwrap_or(("-".into(), "-"));
        let ratio = f
            .ratio()
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into());
        eprintln!(
            "{:<26} {:>12.2} {:>12.2} {:>8} {:>12} {:>8}  {:<22} {} {}",
            f.name,
            f.p50,
            f.p99,
            f.unit,
            floor,
            ratio,
            fname,
            f.goal_text(),
            if f.met() { "met" } else { "MISSED" }
        );
    }
}
