//! The crate's layers import downward only (`docs/architecture.md`,
//! "Dependency direction"): this test reads every source file under
//! `src/`, collects each `crate::<module>` path it uses (in `use` items,
//! inline paths and macro arguments alike; `super::` resolved against the
//! file's module), and fails, naming file, module and line, when a module
//! uses one of a higher layer or a sibling of its own layer.
//!
//! A plain `#[test]`: it reads files and starts no actor, so the
//! `#[tractor::test]` harness (one test per process) is not needed.
//!
//! Paths are found on the token stream, not the syntax tree, so paths in
//! macro invocations (`tracing::warn!(... crate::errors::X ...)`) count;
//! comments and doc comments (string literals once tokenized) do not, so an
//! intra-doc link may point anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The layers, lowest first. A module may use its own items and any
/// module of a lower rank; two modules of one rank are siblings and may not
/// use each other. `lib` is the crate root (`lib.rs` and every
/// `crate::Name` that is a root re-export, not a module).
const LAYERS: &[(&str, u32)] = &[
    ("devx", 0),
    ("msg", 1),
    ("ipc", 2),
    ("errors", 3),
    ("runtime", 4),
    ("spawn", 5),
    ("discovery", 6),
    ("nursery", 7),
    ("supervision", 8),
    ("trionics", 8),
    ("child", 9),
    ("root", 10),
    ("lib", 11),
    ("testing", 12),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// One use of a module by a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    /// The top-level module used (`lib` for the crate root).
    module: String,
    /// 1-based line of the path.
    line: usize,
}

/// The module path of a file under `src/`: `runtime/actor.rs` is
/// `["runtime", "actor"]`, `runtime/mod.rs` is `["runtime"]`, `lib.rs` is
/// `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !(stem == "mod" || (parts.is_empty() && stem == "lib")) {
        parts.push(stem.to_owned());
    }
    parts
}

/// The layer a file belongs to: its top-level module (`lib` for `lib.rs`).
fn layer_of(module: &[String]) -> String {
    module.first().cloned().unwrap_or_else(|| "lib".to_owned())
}

/// The top-level module a path starting at the crate root names: `name`
/// itself if it is a module of the map, else the crate root (a re-export).
fn top(name: &str) -> String {
    if rank(name).is_some() {
        name.to_owned()
    } else {
        "lib".to_owned()
    }
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

fn ident_is(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

/// The first segment of each path of a brace group (`{a::X, b, c::{..}}`),
/// with its line.
fn group_heads(g: &proc_macro2::Group) -> Vec<(String, usize)> {
    let tokens: Vec<TokenTree> = g.stream().into_iter().collect();
    let mut out = Vec::new();
    let mut at_start = true;
    for t in &tokens {
        match t {
            TokenTree::Ident(i) if at_start => {
                if i != "self" {
                    out.push((i.to_string(), i.span().start().line));
                }
                at_start = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            _ => at_start = false,
        }
    }
    out
}

/// Collects the uses in `tokens`, which sit in module `module`.
fn collect(stream: TokenStream, module: &[String], out: &mut Vec<Use>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            // `mod name { ... }`: an inline module, one level down.
            TokenTree::Ident(id) if id == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    if g.delimiter() == Delimiter::Brace {
                        let mut inner = module.to_vec();
                        inner.push(name.to_string());
                        collect(g.stream(), &inner, out);
                        i += 3;
                        continue;
                    }
                }
            }
            TokenTree::Ident(id)
                if (id == "crate" || id == "super") && is_path_sep(&tokens, i + 1) =>
            {
                let line = id.span().start().line;
                // Resolve `crate::` / `super::super::`… to a module path.
                let mut base: Vec<String> = if id == "crate" {
                    Vec::new()
                } else {
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                let mut j = i + 3;
                while id == "super"
                    && ident_is(tokens.get(j), "super")
                    && is_path_sep(&tokens, j + 1)
                {
                    base.pop();
                    j += 3;
                }
                if let Some(first) = base.first() {
                    // Inside some top-level module already.
                    out.push(Use {
                        module: top(first),
                        line,
                    });
                } else {
                    match tokens.get(j) {
                        Some(TokenTree::Ident(name)) => out.push(Use {
                            module: top(&name.to_string()),
                            line,
                        }),
                        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                            for (name, line) in group_heads(g) {
                                out.push(Use {
                                    module: top(&name),
                                    line,
                                });
                            }
                        }
                        // `use super::*` at the crate root's level.
                        _ => out.push(Use {
                            module: "lib".to_owned(),
                            line,
                        }),
                    }
                }
                i = j;
                continue;
            }
            TokenTree::Group(g) => collect(g.stream(), module, out),
            _ => {}
        }
        i += 1;
    }
}

/// The layer violations of one file's source; `rel` is its path under
/// `src/`. Each is a readable sentence.
fn check_source(rel: &Path, source: &str) -> Result<Vec<String>, String> {
    let stream = TokenStream::from_str(source)
        .map_err(|e| format!("{}: cannot tokenize: {e}", rel.display()))?;
    let module = module_path(rel);
    let layer = layer_of(&module);
    let Some(own) = rank(&layer) else {
        return Err(format!(
            "{}: module {layer:?} has no layer: add it to LAYERS in tests/layers.rs and to \
             docs/architecture.md (\"Dependency direction\")",
            rel.display()
        ));
    };
    let mut uses = Vec::new();
    collect(stream, &module, &mut uses);
    let mut seen = BTreeSet::new();
    let mut bad = Vec::new();
    for u in uses {
        if u.module == layer || !seen.insert((u.module.clone(), u.line)) {
            continue;
        }
        let theirs = rank(&u.module).expect("top() returns mapped modules");
        let why = if theirs > own {
            "a higher layer"
        } else if theirs == own {
            "a sibling of its layer"
        } else {
            continue;
        };
        bad.push(format!(
            "{} imports {} ({why}): line {}",
            rel.display(),
            u.module,
            u.line
        ));
    }
    Ok(bad)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "found only {} files in {}",
        files.len(),
        src.display()
    );
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src/");
        let text = std::fs::read_to_string(f).expect("a readable source file");
        match check_source(rel, &text) {
            Ok(bad) => problems.extend(bad),
            Err(e) => problems.push(e),
        }
    }
    assert!(
        problems.is_empty(),
        "layer violations (the map is in tests/layers.rs and docs/architecture.md):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        let name = p
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        assert!(
            rank(&name).is_some(),
            "src/{name} has no layer in tests/layers.rs"
        );
    }
}

#[test]
fn the_checker_reports_an_upward_import_with_its_line() {
    let src = "use super::peer::Peer;\n\
               use crate::msg::Msg;\n\
               fn f() {\n    crate::discovery::api::unregister_self();\n}\n";
    let bad = check_source(Path::new("runtime/actor.rs"), src).unwrap();
    assert_eq!(
        bad,
        vec!["runtime/actor.rs imports discovery (a higher layer): line 4".to_owned()]
    );
}

#[test]
fn the_checker_sees_use_groups_macros_super_and_root_re_exports() {
    let src = "use crate::{errors::Error, spawn::SpawnRequest};\n\
               fn f() { tracing::warn!(e = %crate::root::Root::x()); }\n\
               mod tests {\n    use super::super::super::super::child::X;\n}\n\
               fn g() { crate::open_nursery(); }\n\
               /// [`crate::testing`] in a doc link is fine\n\
               fn h() {}\n";
    let bad = check_source(Path::new("runtime/dialog/call.rs"), src).unwrap();
    assert_eq!(
        bad,
        vec![
            "runtime/dialog/call.rs imports spawn (a higher layer): line 1".to_owned(),
            "runtime/dialog/call.rs imports root (a higher layer): line 2".to_owned(),
            "runtime/dialog/call.rs imports child (a higher layer): line 4".to_owned(),
            "runtime/dialog/call.rs imports lib (a higher layer): line 6".to_owned(),
        ]
    );
}

#[test]
fn siblings_of_one_layer_may_not_use_each_other() {
    let bad = check_source(
        Path::new("trionics/gather.rs"),
        "use crate::supervision::Supervisor;\n",
    )
    .unwrap();
    assert_eq!(
        bad,
        vec!["trionics/gather.rs imports supervision (a sibling of its layer): line 1".to_owned()]
    );
}

#[test]
fn an_unmapped_module_is_an_error_that_says_what_to_do() {
    let e = check_source(Path::new("gadgets/x.rs"), "fn f() {}\n").unwrap_err();
    assert!(e.contains("module \"gadgets\" has no layer"), "{e}");
}
