//! Launch-env template sections (contract §2.4): user-owned blocks of
//! `NAME=template` lines, where a template may use `${VAR}` only, resolved
//! from the projected `ENVCTL_SOURCE_*` values (and the service's other
//! variables). A line whose input is unavailable is skipped.
//!
//! ```text
//! # >>> envctl backend launch env >>>
//! APP_DB=${ENVCTL_SOURCE_DATABASE_URL}
//! # <<< envctl backend launch env <<<
//! ```

/// The `NAME=template` lines of the sections that apply to `service` in
/// `mode` (`backend`, `main backend`, `trees backend`, ...), in file order.
pub fn lines_for(text: &str, service: &str, mode: &str) -> Vec<(String, String)> {
    let scopes = [service.to_owned(), format!("{mode} {service}")];
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(scope) = t
            .strip_prefix("# >>> envctl ")
            .and_then(|r| r.strip_suffix(" launch env >>>"))
        {
            inside = scopes.iter().any(|s| s == scope);
            continue;
        }
        if t.starts_with("# <<< envctl ") && t.ends_with(" launch env <<<") {
            inside = false;
            continue;
        }
        if inside
            && !t.starts_with('#')
            && let Some((k, v)) = t.split_once('=')
        {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// Expands `${VAR}` references from `env`; `None` if one is unavailable
/// (or the template uses anything but `${VAR}`).
pub fn expand(template: &str, env: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let inner = after.strip_prefix('{')?;
        let end = inner.find('}')?;
        let name = &inner[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let value = env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())?;
        out.push_str(&value);
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_apply_by_service_and_mode_and_missing_inputs_skip() {
        let text = "# >>> envctl backend launch env >>>\nA=${X}/db\nB=${MISSING}\n# <<< envctl backend launch env <<<\n# >>> envctl trees frontend launch env >>>\nF=${X}\n# <<< envctl trees frontend launch env <<<\n";
        let env = vec![("X".to_owned(), "v".to_owned())];
        let b = lines_for(text, "backend", "trees");
        assert_eq!(b.len(), 2);
        assert_eq!(expand(&b[0].1, &env).as_deref(), Some("v/db"));
        assert_eq!(expand(&b[1].1, &env), None);
        assert_eq!(lines_for(text, "frontend", "trees").len(), 1);
        assert!(lines_for(text, "frontend", "main").is_empty());
        assert_eq!(
            expand("$(rm -rf /)", &env),
            None,
            "only the VAR-in-braces form"
        );
    }
}
