//! `kmsctl` run in-process through `client::cli::execute`, so the code under test is this
//! build's, not a stale binary: an empty environment, no terminal, output captured.

use std::collections::HashMap;

use client::cli::{Console, Exit, execute};

/// Runs `kmsctl <args>`; returns the exit status, stdout and stderr.
pub async fn run(args: impl IntoIterator<Item = String>) -> (Exit, String, String) {
    let env: HashMap<String, String> = HashMap::new();
    let lookup = move |k: &str| env.get(k).cloned();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = std::io::empty();
    let mut console = Console {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        input_is_terminal: false,
        env: &lookup,
    };
    let argv: Vec<String> = std::iter::once("kmsctl".to_owned()).chain(args).collect();
    let exit = execute(argv, &mut console).await;
    (
        exit,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}
