//! Two separately started programs find and call each other through a
//! registrar; one exiting unregisters it, and a waiting `wait_for_actor`
//! returns once it is back.

mod common;

use common::*;
use nix::sys::signal::Signal;
use tractor::testing::{Program, example_path};

fn names(rv: &tractor::RuntimeVars, reg: &str) -> Vec<String> {
    let (code, out) = tractor(&["ps", "--registry", reg, "--json"], rv);
    assert_eq!(code, 0, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn programs_find_each_other_through_a_registrar() {
    let (rv, reg) = session();
    let reg_s = reg.to_string();
    let mut registrar = registrar(&rv, &reg);

    let mut service = Program::start(&example_path("service"), &[], &rv).unwrap();
    service.wait_for_line("service ready", LIMIT).unwrap();
    assert!(names(&rv, &reg_s).contains(&"service".to_string()));

    let mut client = Program::start(&example_path("client"), &[], &rv).unwrap();
    assert_eq!(client.wait(LIMIT).unwrap().code(), Some(0));
    assert!(client.transcript.join("\n").contains("service got: hello"));

    // The service exits: it unregisters.
    service.signal(Signal::SIGINT);
    service.wait(LIMIT).unwrap();
    assert!(!names(&rv, &reg_s).contains(&"service".to_string()));

    // A client that starts now waits for the service to come back.
    let mut waiting = Program::start(&example_path("client"), &[], &rv).unwrap();
    // It is still waiting: the registrar has no "service".
    let (code, out) = tractor(
        &[
            "call",
            "registrar",
            "self.get_registry",
            "--registry",
            &reg_s,
        ],
        &rv,
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("service."), "{out}");
    let mut again = Program::start(&example_path("service"), &[], &rv).unwrap();
    again.wait_for_line("service ready", LIMIT).unwrap();
    assert_eq!(waiting.wait(LIMIT).unwrap().code(), Some(0));
    assert!(waiting.transcript.join("\n").contains("service got: hello"));

    again.signal(Signal::SIGINT);
    again.wait(LIMIT).unwrap();
    registrar.signal(Signal::SIGINT);
    registrar.wait(LIMIT).unwrap();
    assert_clean(&rv);
}
