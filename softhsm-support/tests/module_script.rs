//! `scripts/softhsm-module.sh`, the shell scripts' module lookup, follows the crate's rule: the
//! same places in the same order, `KMS_PKCS11_MODULE` first unless empty, and a root file
//! system looked into when one is given.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use softhsm_support::{MODULE_CANDIDATES, MODULE_VAR};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/softhsm-module.sh")
}

/// Runs `softhsm_module <args>` in bash with the script sourced and `KMS_PKCS11_MODULE` as given.
fn lookup(named: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"set -euo pipefail; source "$0"; softhsm_module "$@""#)
        .arg(script())
        .args(args)
        .env_remove(MODULE_VAR);
    if let Some(value) = named {
        command.env(MODULE_VAR, value);
    }
    command.output().expect("bash")
}

fn printed(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim_end()
        .to_owned()
}

#[test]
fn the_script_lists_the_crates_places_in_order() {
    let text = std::fs::read_to_string(script()).expect("scripts/softhsm-module.sh");
    let list = text
        .split_once("softhsm_module_candidates=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list.split_whitespace().collect::<Vec<_>>())
        .expect("the candidates array");
    assert_eq!(list, MODULE_CANDIDATES);
}

#[test]
fn the_variable_wins_unless_empty() {
    assert_eq!(
        printed(&lookup(Some("/opt/hsm/lib.so"), &[])),
        "/opt/hsm/lib.so"
    );
    let rust = softhsm_support::find_module(Some("".into()), &MODULE_CANDIDATES.map(Path::new));
    match rust {
        Ok(found) => assert_eq!(printed(&lookup(Some(""), &[])), found.display().to_string()),
        Err(_) => assert!(!lookup(Some(""), &[]).status.success()),
    }
}

#[test]
fn a_root_is_looked_into_and_the_path_inside_it_printed() {
    let root = tempfile::tempdir().unwrap();
    let root_arg = root.path().to_str().unwrap();
    let none = lookup(Some("/ignored/with/a/root.so"), &[root_arg]);
    assert_eq!(none.status.code(), Some(1), "{none:?}");
    assert!(none.stdout.is_empty());
    // The second and the last place: the second is found first.
    for place in [MODULE_CANDIDATES[3], MODULE_CANDIDATES[1]] {
        let file = root.path().join(place.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"").unwrap();
    }
    assert_eq!(printed(&lookup(None, &[root_arg])), MODULE_CANDIDATES[1]);
}
