//! `kmsctl`: the command-line tool of the KMS. A thin layer over the `client` library's
//! [`client::cli`]: parse the arguments, run the command, print one clear line on failure,
//! exit with the documented status (0 ok, 1 error, 2 usage, 3 not found, 4 permission denied).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    client::cli::run()
}
