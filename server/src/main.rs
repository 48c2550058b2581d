//! `kmsd` binary entry point.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    eprintln!("kmsd: the server is not built yet (see the open issues)");
    std::process::ExitCode::FAILURE
}
