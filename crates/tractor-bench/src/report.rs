//! The JSON document (stdout) and the human table (stderr), and the one
//! rule every ratio obeys: a figure is only ever divided by a floor
//! measured in the same CPU placement ([`Mode`]).

use serde_json::{Value, json};

use crate::affinity::Mode;

/// A floor: the same operation with nothing of ours in the path.
#[derive(Debug, Clone)]
pub struct Floor {
    /// Its median (over rounds) p50.
    pub value: f64,
    /// What was measured, e.g. `raw_pingpong_uds`.
    pub name: String,
    /// The placement it was measured in (`None`: not placed).
    pub mode: Option<Mode>,
    /// CPU time of both processes per operation, in µs.
    pub cpu_per_op_us: Option<f64>,
}

impl Floor {
    /// A floor not placed on CPUs (spawn, memory, envctl figures).
    pub fn unplaced(value: f64, name: &str) -> Floor {
        Floor {
            value,
            name: name.to_owned(),
            mode: None,
            cpu_per_op_us: None,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    /// The placement it was measured in (`None`: not placed).
    pub mode: Option<Mode>,
    /// Median over rounds of each round's p50.
    pub p50: f64,
    /// Median over rounds of each round's p99 (for rates: the slow end).
    pub p99: f64,
    pub unit: &'static str,
    /// CPU time of both processes per operation, in µs.
    pub cpu_per_op_us: Option<f64>,
    /// Each round's p50, in the order measured.
    pub rounds: Vec<f64>,
    /// `None` for figures with an absolute goal only.
    pub floor: Option<Floor>,
    /// Goal on the ratio (or on the absolute value when there is no floor).
    pub goal: Goal,
    pub note: Option<String>,
}

/// A ratio asked of a figure and a floor measured in different placements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to compare {figure} ({figure_mode}) with floor {floor} ({floor_mode}): \
     a ratio is only meaningful against a floor measured in the same CPU placement"
)]
pub struct ModeMismatch {
    figure: String,
    figure_mode: String,
    floor: String,
    floor_mode: String,
}

fn mode_name(m: Option<Mode>) -> String {
    m.map_or_else(|| "unplaced".to_owned(), |m| m.name().to_owned())
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
    /// The figure over its floor, or an error when the two were measured
    /// in different placements.
    pub fn ratio(&self) -> Result<Option<f64>, ModeMismatch> {
        let Some(f) = &self.floor else {
            return Ok(None);
        };
        if f.mode != self.mode {
            return Err(ModeMismatch {
                figure: self.name.clone(),
                figure_mode: mode_name(self.mode),
                floor: f.name.clone(),
                floor_mode: mode_name(f.mode),
            });
        }
        Ok(Some(if f.value > 0.0 {
            self.p50 / f.value
        } else {
            f64::INFINITY
        }))
    }

    /// The figure, once its floor is known to be of the same placement.
    pub fn checked(self) -> Result<Figure, ModeMismatch> {
        self.ratio().map(|_| self)
    }

    /// The key of this figure in the JSON document: `name.mode`.
    pub fn key(&self) -> String {
        match self.mode {
            Some(m) => format!("{}.{}", self.name, m.name()),
            None => self.name.clone(),
        }
    }

    fn ratio_or_none(&self) -> Option<f64> {
        // Every figure in a report went through `checked`.
        self.ratio().ok().flatten()
    }

    fn met(&self) -> bool {
        match self.goal {
            Goal::AtMost(g) => self.ratio_or_none().unwrap_or(self.p50) <= g,
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
            "name": self.name,
            "mode": self.mode.map(Mode::name),
            "p50": self.p50,
            "p99": self.p99,
            "unit": self.unit,
            "cpu_per_op_us": self.cpu_per_op_us,
            "rounds": self.rounds,
            "floor": self.floor.as_ref().map(|f| f.value),
            "floor_name": self.floor.as_ref().map(|f| f.name.clone()),
            "floor_mode": self.floor.as_ref().and_then(|f| f.mode.map(Mode::name)),
            "floor_cpu_per_op_us": self.floor.as_ref().and_then(|f| f.cpu_per_op_us),
            "ratio": self.ratio_or_none(),
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
        "{:<26} {:>6} {:>12} {:>12} {:>6} {:>9} {:>12} {:>9} {:>7}  {:<26} goal",
        "figure",
        "mode",
        "p50",
        "p99",
        "unit",
        "cpu/op",
        "floor",
        "fl cpu/op",
        "ratio",
        "floor name"
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    for f in figs {
        eprintln!(
            "{:<26} {:>6} {:>12.2} {:>12.2} {:>6} {:>9} {:>12} {:>9} {:>7}  {:<26} {} {}",
            f.name,
            f.mode.map_or("-", Mode::name),
            f.p50,
            f.p99,
            f.unit,
            opt(f.cpu_per_op_us),
            opt(f.floor.as_ref().map(|f| f.value)),
            opt(f.floor.as_ref().and_then(|f| f.cpu_per_op_us)),
            opt(f.ratio_or_none()),
            f.floor.as_ref().map_or("-", |f| f.name.as_str()),
            f.goal_text(),
            if f.met() { "met" } else { "MISSED" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(mode: Option<Mode>, floor_mode: Option<Mode>) -> Figure {
        Figure {
            name: "rpc_rtt_uds".into(),
            mode,
            p50: 20.0,
            p99: 30.0,
            unit: "us",
            cpu_per_op_us: Some(25.0),
            rounds: vec![20.0],
            floor: Some(Floor {
                value: 5.0,
                name: "raw_pingpong_uds".into(),
                mode: floor_mode,
                cpu_per_op_us: Some(6.0),
            }),
            goal: Goal::AtMost(2.0),
            note: None,
        }
    }

    #[test]
    fn a_ratio_against_a_floor_of_the_same_mode_is_computed() {
        let f = fig(Some(Mode::Pinned), Some(Mode::Pinned))
            .checked()
            .unwrap();
        assert_eq!(f.ratio().unwrap(), Some(4.0));
        assert_eq!(f.key(), "rpc_rtt_uds.pinned");
        assert_eq!(f.to_json()["met"], false);
    }

    #[test]
    fn a_ratio_against_a_floor_of_another_mode_is_refused() {
        for (m, fm) in [
            (Some(Mode::Pinned), Some(Mode::Spread)),
            (Some(Mode::Spread), Some(Mode::Pinned)),
            (Some(Mode::Spread), None),
            (None, Some(Mode::Pinned)),
        ] {
            let e = fig(m, fm).checked().unwrap_err();
            assert!(
                e.to_string().contains("refusing to compare rpc_rtt_uds"),
                "{e}"
            );
        }
        let e = fig(Some(Mode::Pinned), Some(Mode::Spread))
            .ratio()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("(pinned) with floor raw_pingpong_uds (spread)"),
            "{e}"
        );
    }
}
