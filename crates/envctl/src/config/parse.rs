//! The `.envctl` file: `KEY=VALUE` lines, `#` comments, optional
//! `export `, surrounding quotes stripped; launch-env template sections are
//! not config and are skipped. A bad line is an error that names its line.

/// A line that is not `KEY=VALUE`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {why}")]
pub struct ParseError {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

/// One `KEY=VALUE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value, quotes stripped.
    pub value: String,
    /// 1-based line number.
    pub line: usize,
    /// Inside the managed block (envctl's own lines).
    pub managed: bool,
}

/// Parses `.envctl` text into its `KEY=VALUE` lines, in file order.
pub fn parse_entries(file: &str, text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    let mut in_template = false;
    let mut managed = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line == super::managed::BEGIN {
            managed = true;
            continue;
        }
        if line == super::managed::END {
            managed = false;
            continue;
        }
        if line.starts_with("# >>> envctl ") && line.ends_with("launch env >>>") {
            in_template = true;
            continue;
        }
        if line.starts_with("# <<< envctl ") && line.ends_with("launch env <<<") {
            in_template = false;
            continue;
        }
        if in_template || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |why: String| ParseError {
            file: file.to_owned(),
            line: i + 1,
            why,
        };
        let body = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((k, v)) = body.split_once('=') else {
            return Err(err(format!("expected KEY=VALUE, got {line:?}")));
        };
        let k = k.trim();
        if k.is_empty()
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || k.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(err(format!(
                "{k:?} is not a valid key (letters, digits and _ only)"
            )));
        }
        let v = v.trim();
        let v = match (v.chars().next(), v.chars().last()) {
            (Some('"'), Some('"')) | (Some('\''), Some('\'')) if v.len() >= 2 => &v[1..v.len() - 1],
            (Some(q @ ('"' | '\'')), _) => return Err(err(format!("unterminated {q} quote"))),
            _ => v,
        };
        out.push(Entry {
            key: k.to_owned(),
            value: v.to_owned(),
            line: i + 1,
            managed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(file: &str, text: &str) -> Result<BTreeMap<String, String>, ParseError> {
        Ok(parse_entries(file, text)?
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect())
    }

    #[test]
    fn entries_know_their_line_and_the_managed_block() {
        let e = parse_entries(
            "f",
            "A=1\n# >>> envctl managed startup config >>>\n\nB=2\n# <<< envctl managed startup config <<<\nC=3\n",
        )
        .unwrap();
        let got: Vec<(&str, usize, bool)> = e
            .iter()
            .map(|e| (e.key.as_str(), e.line, e.managed))
            .collect();
        assert_eq!(got, [("A", 1, false), ("B", 4, true), ("C", 6, false)]);
    }

    #[test]
    fn reads_comments_export_and_quotes() {
        let m = parse(
            ".envctl",
            "# c\nexport A=1\nB = \"two words\"\nC='x'\n# >>> envctl backend launch env >>>\nX=${DB}\n# <<< envctl backend launch env <<<\n",
        )
        .unwrap();
        assert_eq!(m.get("A").map(String::as_str), Some("1"));
        assert_eq!(m.get("B").map(String::as_str), Some("two words"));
        assert_eq!(m.get("C").map(String::as_str), Some("x"));
        assert!(!m.contains_key("X"), "template sections are not config");
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let e = parse("/r/.envctl", "A=1\nthis is wrong\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/r/.envctl:2: expected KEY=VALUE, got \"this is wrong\""
        );
        let e = parse("/r/.envctl", "A=\"open\n").unwrap_err();
        assert_eq!(e.to_string(), "/r/.envctl:1: unterminated \" quote");
        let e = parse("/r/.envctl", "1X=2\n").unwrap_err();
        assert!(e.to_string().contains("not a valid key"));
    }
}
