//! `kmsctl` binary entry point.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    eprintln!("kmsctl: not built yet (see the open issues)");
    std::process::ExitCode::FAILURE
}
