//! `kmsctl`: the command-line tool of the KMS. A thin layer over the `client` library:
//! parse the arguments, run the subcommand, print one clear line on failure.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use client::bench;

/// Command-line tool for the KMIP key-management server.
#[derive(Debug, Parser)]
#[command(name = "kmsctl", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    // Its help text is `bench::Args`'s doc comment.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kmsctl: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the message before
/// it already holds (the library's messages quote their I/O source).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Bench(args) => bench_command(&args),
    }
}

/// Runs the bench and prints its report (text, or JSON with `--json`) on stdout. Fails
/// when the run measured no successful operation at all.
fn bench_command(args: &bench::Args) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let interrupt = async {
        // Without a signal handler, Ctrl-C keeps its default action (exit without report).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let report = runtime
        .block_on(bench::run(plan, interrupt))
        .context("bench")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if report.ok == 0 {
        eprintln!("kmsctl: no operation succeeded");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
