//! The managed block: `envctl config --set` changes only the lines of the
//! keys it sets, inside this block, and keeps every other byte of the file,
//! comments in the block included (contract §2.2).

use std::collections::BTreeMap;

/// The opening marker.
pub const BEGIN: &str = "# >>> envctl managed startup config >>>";
/// The closing marker.
pub const END: &str = "# <<< envctl managed startup config <<<";

/// The keys inside the managed block, in order.
#[cfg(test)]
fn block_entries(text: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t == BEGIN {
            inside = true;
        } else if t == END {
            inside = false;
        } else if inside && !t.is_empty() && !t.starts_with('#') {
            if let Some((k, v)) = split_line(t) {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    out
}

/// The key and value of a trimmed `KEY=VALUE` line (`export ` allowed).
fn split_line(t: &str) -> Option<(&str, &str)> {
    let body = t.strip_prefix("export ").unwrap_or(t).trim_start();
    let (k, v) = body.split_once('=')?;
    Some((k.trim(), v.trim()))
}

/// Which section of the rendered block a key belongs to: mode; hosts;
/// commands and dirs; ports; the rest.
fn section(k: &str) -> u8 {
    if k == "ENVCTL_DEFAULT_MODE" {
        0
    } else if k.ends_with("_HOST") {
        1
    } else if k.ends_with("_CMD") || k.ends_with("_DIR") {
        2
    } else if k.contains("PORT") {
        3
    } else {
        4
    }
}

/// Renders the block body: keys grouped in sections (mode; hosts;
/// commands and dirs; ports; the rest), a blank line between sections.
fn render(entries: &[(String, String)]) -> String {
    let mut groups: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    for (k, v) in entries {
        groups
            .entry(section(k))
            .or_default()
            .push(format!("{k}={v}"));
    }
    let mut body = vec![BEGIN.to_owned()];
    let mut first = true;
    for lines in groups.values() {
        if !first {
            body.push(String::new());
        }
        first = false;
        body.extend(lines.iter().cloned());
    }
    body.push(END.to_owned());
    body.join("\n")
}

/// Sets `updates` in the managed block of `text` (appending a block if
/// there is none). Inside the block, a key's line is replaced where it is
/// (keeping an `export ` prefix; earlier duplicates are removed) and a new
/// key goes after the last key of its section, or at the end; comments and
/// blank lines stay. Everything outside the block is kept byte for byte.
pub fn merge(text: &str, updates: &[(String, String)]) -> String {
    let (b, e) = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => (b + BEGIN.len(), e),
        _ => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            let mut entries: Vec<(String, String)> = Vec::new();
            for (k, v) in updates {
                entries.retain(|(ek, _)| ek != k);
                entries.push((k.clone(), v.clone()));
            }
            return format!("{text}{sep}{}\n", render(&entries));
        }
    };
    // The first piece is the rest of the BEGIN line, the last the start of
    // the END line; the lines of the block are in between.
    let mut lines: Vec<String> = text[b..e].split('\n').map(str::to_owned).collect();
    let key_of = |l: &str| split_line(l.trim()).map(|(k, _)| k.to_owned());
    let is_entry = |l: &str| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && split_line(t).is_some()
    };
    for (k, v) in updates {
        let hits: Vec<usize> = (1..lines.len().saturating_sub(1))
            .filter(|&i| is_entry(&lines[i]) && key_of(&lines[i]).as_deref() == Some(k.as_str()))
            .collect();
        if let Some((&last, earlier)) = hits.split_last() {
            let exported = lines[last].trim_start().starts_with("export ");
            lines[last] = format!("{}{k}={v}", if exported { "export " } else { "" });
            for &i in earlier.iter().rev() {
                lines.remove(i);
            }
            continue;
        }
        let end = lines.len().saturating_sub(1).max(1);
        let same_section = (1..end).rev().find(|&i| {
            is_entry(&lines[i]) && key_of(&lines[i]).is_some_and(|ek| section(&ek) == section(k))
        });
        match same_section {
            Some(i) => lines.insert(i + 1, format!("{k}={v}")),
            None => {
                let has_entries = (1..end).any(|i| is_entry(&lines[i]));
                let prev_blank = end > 1 && lines[end - 1].trim().is_empty();
                let mut at = end;
                if has_entries && !prev_blank {
                    lines.insert(at, String::new());
                    at += 1;
                }
                lines.insert(at, format!("{k}={v}"));
            }
        }
    }
    if lines.len() < 2 {
        lines.push(String::new());
    }
    format!("{}{}{}", &text[..b], lines.join("\n"), &text[e..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_block_changes_and_merging_twice_is_a_no_op() {
        let text = "USER_LINE=1\n\n# >>> envctl managed startup config >>>\nENVCTL_DEFAULT_MODE=trees\n\nTREES_REDIS_ENABLE=true\n# <<< envctl managed startup config <<<\n# trailing user comment\n";
        let once = merge(text, &[("TREES_REDIS_ENABLE".into(), "false".into())]);
        assert!(once.starts_with("USER_LINE=1\n\n"));
        assert!(
            once.ends_with("# <<< envctl managed startup config <<<\n# trailing user comment\n")
        );
        assert!(once.contains("TREES_REDIS_ENABLE=false"));
        let twice = merge(&once, &[("TREES_REDIS_ENABLE".into(), "false".into())]);
        assert_eq!(once, twice);
    }

    #[test]
    fn comments_and_order_in_the_block_are_kept() {
        let text = "# >>> envctl managed startup config >>>\n# why trees: many branches\nENVCTL_DEFAULT_MODE=trees\n\nexport TREES_REDIS_ENABLE=true\n# keep redis\n# <<< envctl managed startup config <<<\n";
        let out = merge(
            text,
            &[
                ("TREES_REDIS_ENABLE".into(), "false".into()),
                ("ENVCTL_PUBLIC_HOST".into(), "example.test".into()),
                ("TREES_POSTGRES_ENABLE".into(), "true".into()),
            ],
        );
        assert_eq!(
            out,
            "# >>> envctl managed startup config >>>\n# why trees: many branches\nENVCTL_DEFAULT_MODE=trees\n\nexport TREES_REDIS_ENABLE=false\nTREES_POSTGRES_ENABLE=true\n# keep redis\n\nENVCTL_PUBLIC_HOST=example.test\n# <<< envctl managed startup config <<<\n"
        );
        assert_eq!(
            block_entries(&out)[1],
            ("TREES_REDIS_ENABLE".to_owned(), "false".to_owned())
        );
    }

    #[test]
    fn an_empty_block_gets_its_first_key() {
        let text = format!("{BEGIN}\n{END}\n");
        assert_eq!(
            merge(&text, &[("A".into(), "1".into())]),
            format!("{BEGIN}\nA=1\n{END}\n")
        );
    }

    #[test]
    fn a_missing_block_is_appended() {
        let out = merge("A=1", &[("ENVCTL_DEFAULT_MODE".into(), "main".into())]);
        assert_eq!(
            out,
            format!("A=1\n{BEGIN}\nENVCTL_DEFAULT_MODE=main\n{END}\n")
        );
    }
}
