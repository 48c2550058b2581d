//! The per-test re-run: the body runs in a child with its own token directory, a failing
//! child fails the test, and a skipped test says so where `cargo test` shows it.
//!
//! The last two run this test binary again on fixture tests (ignored otherwise), as
//! `cargo test` would, and read what it printed.

use std::process::{Command, Output};

use softhsm_support::harness::{self, CHILD_DIR_VAR, NO_SKIP_VAR};
use softhsm_support::{SOFTHSM2_CONF, softhsm_test};

softhsm_test! {
    fn the_body_runs_in_a_child_on_its_own_empty_token_directory(env) {
        assert_eq!(std::env::var_os(CHILD_DIR_VAR).as_deref(), Some(env.dir().as_os_str()));
        assert_eq!(std::env::var_os(SOFTHSM2_CONF), Some(env.softhsm_conf().into_os_string()));
        let conf = std::fs::read_to_string(env.softhsm_conf()).expect("softhsm2.conf");
        assert!(conf.contains(&format!("directories.tokendir = {}\n", env.tokens().display())));
        assert_eq!(std::fs::read_dir(env.tokens()).expect("tokens").count(), 0);
        softhsm_support::init_token(&env.softhsm_conf(), "child", "user-pin", "so-pin-1")
            .expect("a token in the child's directory");
    }
}

softhsm_test! {
    #[ignore = "fixture of a_failing_child_fails_the_test"]
    fn fixture_fails(env) {
        panic!("the child failed in {}", env.dir().display());
    }
}

softhsm_test! {
    #[ignore = "fixture of a_skip_is_shown_past_the_capture"]
    fn fixture_skips(env) {
        let _ = env;
        harness::skip("no tmpfs on this machine");
    }
}

/// Runs the fixture `name` as `cargo test` runs a test: output captured by libtest.
fn run_fixture(name: &str, no_skip: bool) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([name, "--exact", "--include-ignored"])
        .env_remove(CHILD_DIR_VAR)
        .env_remove(NO_SKIP_VAR);
    if no_skip {
        command.env(NO_SKIP_VAR, "1");
    }
    command.output().expect("run the fixture")
}

#[test]
fn a_failing_child_fails_the_test() {
    let output = run_fixture("fixture_fails", false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("child test fixture_fails failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the child failed in"),
        "the child's output is forwarded: {stdout}"
    );
}

#[test]
fn a_skip_is_shown_past_the_capture() {
    let output = run_fixture("fixture_skips", false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    let skips: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SKIP: ")).collect();
    assert_eq!(
        skips.len(),
        1,
        "one SKIP line, shown without --nocapture: {stderr}"
    );
    assert!(skips[0].ends_with("no tmpfs on this machine"), "{stderr}");
    assert!(
        skips[0].contains("fixture_skips"),
        "names the test: {stderr}"
    );

    let strict = run_fixture("fixture_skips", true);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert!(
        !strict.status.success(),
        "{NO_SKIP_VAR} makes a skip fail: {stdout}"
    );
    assert!(stdout.contains("skipping is a failure"), "{stdout}");
}
