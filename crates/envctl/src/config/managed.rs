//! The managed block: `envctl config --set` rewrites exactly this block and
//! keeps every other byte of the file (contract §2.2).

use std::collections::BTreeMap;

/// The opening marker.
pub const BEGIN: &str = "# >>> envctl managed startup config >>>";
/// The closing marker.
pub const END: &str = "# <<< envctl managed startup config <<<";

/// The keys inside the managed block, in order.
pub fn block_entries(text: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t == BEGIN {
            inside = true;
        } else if t == END {
            inside = false;
        } else if inside && !t.is_empty() && !t.starts_with('#') {
            if let Some((k, v)) = t.split_once('=') {
                out.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
    }
    out
}

/// Renders the block body: keys grouped in sections (mode; hosts;
/// commands and dirs; ports; the rest), a blank line between sections.
fn render(entries: &[(String, String)]) -> String {
    let section = |k: &str| -> u8 {
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
    };
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
/// there is none); everything outside the block is kept byte for byte.
pub fn merge(text: &str, updates: &[(String, String)]) -> String {
    let mut entries = block_entries(text);
    for (k, v) in updates {
        match entries.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.clone(),
            None => entries.push((k.clone(), v.clone())),
        }
    }
    let block = render(&entries);
    match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &text[..b], block, &text[e + END.len()..]),
        _ => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{text}{sep}{block}\n")
        }
    }
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
    fn a_missing_block_is_appended() {
        let out = merge("A=1", &[("ENVCTL_DEFAULT_MODE".into(), "main".into())]);
        assert_eq!(
            out,
            format!("A=1\n{BEGIN}\nENVCTL_DEFAULT_MODE=main\n{END}\n")
        );
    }
}
