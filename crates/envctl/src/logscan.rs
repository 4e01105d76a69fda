//! Finding the offending lines in a service log for `errors`: a Python
//! traceback counts once, with every line of it (up to the exception
//! line); other error lines (`ERROR`, `FATAL`, `CRITICAL`, a Rust panic,
//! a `fatal:`) count one each.

/// One finding: the lines that belong together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line number where it starts.
    pub line: usize,
    /// Its lines, as written.
    pub lines: Vec<String>,
}

fn is_error_line(l: &str) -> bool {
    let t = l.trim_start();
    ["ERROR", "FATAL", "CRITICAL"].iter().any(|w| l.contains(w))
        || t.starts_with("fatal:")
        || t.contains("panicked at")
}

/// The issues of a log's text.
pub fn scan(text: &str) -> Vec<Issue> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim_start()
            .starts_with("Traceback (most recent call last)")
        {
            let start = i;
            i += 1;
            // The frames are indented; the first line that is not ends it
            // (`ValueError: …`).
            while i < lines.len() && (lines[i].starts_with(' ') || lines[i].starts_with('\t')) {
                i += 1;
            }
            let end = (i + 1).min(lines.len());
            out.push(Issue {
                line: start + 1,
                lines: lines[start..end].iter().map(|s| s.to_string()).collect(),
            });
            i = end;
            continue;
        }
        if is_error_line(l) {
            out.push(Issue {
                line: i + 1,
                lines: vec![l.to_owned()],
            });
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceback_counts_once_with_its_lines() {
        let log = "started\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    main()\nValueError: bad DATABASE_URL\nERROR something else\nok\n";
        let found = scan(log);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 2);
        assert_eq!(found[0].lines.len(), 4);
        assert_eq!(found[0].lines[3], "ValueError: bad DATABASE_URL");
        assert_eq!(found[1].lines, ["ERROR something else"]);
        assert!(scan("all fine\nINFO ready\n").is_empty());
    }
}
