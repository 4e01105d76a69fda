//! `#[tractor::main(enable = [module::paths])]`: each path is resolved to
//! the namespace `module_path!()` gives inside that module, so a function
//! there is callable in the root and one outside is still refused.

use std::time::Duration;

use tractor::testing::{Program, example_path, procs, session_vars};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn enabled_module_paths_are_callable_and_others_are_refused() {
    let rv = session_vars();
    let mut p =
        Program::start(&example_path("test_enable_paths"), &[], &rv).expect("the program starts");
    let st = p.wait(LIMIT).unwrap();
    let out = p.transcript.join("\n");
    assert!(st.success(), "{out}");
    assert!(
        out.contains("enabled: test_enable_paths::workers::inner, test_enable_paths::extra"),
        "{out}"
    );
    assert!(out.contains(r#"hello: Ok("hello child")"#), "{out}");
    assert!(out.contains("twice: Ok(42)"), "{out}");
    assert!(
        out.contains("secret: refused:")
            && out.contains("\"test_enable_paths::hidden\" is not enabled"),
        "{out}"
    );
    assert!(
        procs::leak_report(std::process::id(), &rv.bind_dir, Duration::from_secs(10)).is_none()
    );
}
