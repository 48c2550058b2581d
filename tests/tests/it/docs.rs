//! The documentation against the code: the feature -> test index (`docs/TESTS.md`) names files
//! and tests that exist and `cargo` commands that run something, and misses no file with tests;
//! links between documents reach a file and a heading; the annotated configuration example of
//! `docs/CONFIGURATION.md` is a configuration the server accepts. A stale document is a bug.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The test index.
const INDEX: &str = "docs/TESTS.md";

/// The documents whose links are checked (besides every `docs/*.md`).
const OTHER_DOCUMENTS: [&str; 3] = [
    "README.md",
    "compose/README.md",
    "kmip-codec/fuzz/README.md",
];

/// Where files with tests are looked for: every workspace member, as the workspace
/// `Cargo.toml` lists them (a new crate cannot be left out of the index), with its package name.
fn members(root: &Path) -> Vec<(String, String)> {
    let manifest = read(&root.join("Cargo.toml"));
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members = ["))
        .expect("a one-line `members` list in the workspace Cargo.toml");
    let quoted = |text: &str| -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let members: Vec<(String, String)> = quoted(line)
        .into_iter()
        .map(|dir| {
            let package = read(&root.join(&dir).join("Cargo.toml"));
            let name = package
                .lines()
                .find(|l| l.trim_start().starts_with("name = "))
                .map(|l| quoted(l).remove(0))
                .unwrap_or_else(|| panic!("{dir}/Cargo.toml names no package"));
            (name, dir)
        })
        .collect();
    assert!(members.len() >= 8, "found only {} members", members.len());
    members
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `.rs` files under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && name != "target" && name != "fuzz" {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Whether `text` defines a function `name` (a test or a helper).
fn defines_fn(text: &str, name: &str) -> bool {
    text.contains(&format!("fn {name}(")) || text.contains(&format!("fn {name}<"))
}

/// The names of the functions `text` defines.
fn fn_names(text: &str) -> Vec<&str> {
    text.split("fn ")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            rest[end..]
                .starts_with(['(', '<'])
                .then_some(&rest[..end])
                .filter(|n| !n.is_empty())
        })
        .collect()
}

/// Whether a Rust file holds tests: `#[test]` (or `#[tokio::test]`) on a function, or an
/// invocation of the test macros, outside comments and macro definitions.
fn has_tests(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
    lines.iter().enumerate().any(|(i, line)| {
        if line.starts_with("//") {
            return false;
        }
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            // The function it marks, after any other attributes; `fn $name` is a macro's.
            return lines[i + 1..]
                .iter()
                .find(|l| !l.starts_with("#["))
                .is_some_and(|l| {
                    l.split("fn ")
                        .nth(1)
                        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_lowercase()))
                });
        }
        ["server_test! {", "softhsm_test! {", "proptest! {"]
            .iter()
            .any(|m| line.contains(m) && !line.starts_with("macro_rules!"))
    })
}

/// The backticked spans of `text`, in order.
fn spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A span naming a file of the repository.
fn is_file_span(span: &str) -> bool {
    !span.contains(char::is_whitespace)
        && !span.starts_with('/')
        && !span.contains("::")
        && [".rs", ".sh", ".py", ".md"]
            .iter()
            .any(|e| span.ends_with(e))
}

fn is_identifier(span: &str) -> bool {
    span.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && span
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The cells of the index's table rows.
fn index_cells(index: &str) -> Vec<(usize, String)> {
    let mut cells = Vec::new();
    for (n, line) in index.lines().enumerate() {
        if !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        for cell in line.trim_matches('|').split(" | ") {
            cells.push((n + 1, cell.to_owned()));
        }
    }
    cells
}

/// The module path and the text of every file of a test target or library rooted at `dir`.
fn target_modules(dir: &Path) -> Vec<(String, String)> {
    rust_files(dir)
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(dir).expect("under the target");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "main" | "lib")
            ) {
                parts.pop();
            }
            (parts.join("::"), read(&file))
        })
        .collect()
}

/// The full libtest names a target's tests may have (every function, as in a `tests` module
/// too): a filter must be part of one of them.
fn test_paths(modules: &[(String, String)]) -> Vec<String> {
    let mut paths = Vec::new();
    for (module, text) in modules {
        for name in fn_names(text) {
            for prefix in [module.clone(), format!("{module}::tests")] {
                paths.push(if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix}::{name}")
                });
            }
        }
    }
    paths
}

/// Checks one `cargo test` / `cargo bench` command: its package, targets and filter.
fn check_command(root: &Path, command: &str) -> Result<(), String> {
    let words: Vec<&str> = command
        .split_whitespace()
        .skip_while(|w| w.contains('='))
        .collect();
    if words.len() < 2 || words[0] != "cargo" || words[1] == "build" {
        return Ok(());
    }
    let (mut package, mut filter) = (None, None);
    let (mut tests, mut benches, mut lib) = (Vec::new(), Vec::new(), false);
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "-p" => package = rest.next().copied(),
            "--test" => tests.extend(rest.next().copied()),
            "--bench" => benches.extend(rest.next().copied()),
            "--lib" => lib = true,
            "--" => break,
            w if w.starts_with('-') => {}
            w => filter = filter.or(Some(w)),
        }
    }
    let package = package.ok_or("no -p PACKAGE")?;
    let (_, dir) = members(root)
        .into_iter()
        .find(|(name, _)| name == package)
        .ok_or_else(|| format!("no package {package}"))?;
    let crate_dir = root.join(dir);
    let mut modules = Vec::new();
    for test in &tests {
        let as_file = crate_dir.join("tests").join(format!("{test}.rs"));
        let as_dir = crate_dir.join("tests").join(test);
        if as_dir.join("main.rs").is_file() {
            modules.extend(target_modules(&as_dir));
        } else if as_file.is_file() {
            modules.push((String::new(), read(&as_file)));
        } else {
            return Err(format!("{package} has no test target {test}"));
        }
    }
    for bench in &benches {
        if !crate_dir
            .join("benches")
            .join(format!("{bench}.rs"))
            .is_file()
        {
            return Err(format!("{package} has no bench target {bench}"));
        }
    }
    if lib || (tests.is_empty() && benches.is_empty()) {
        modules.extend(target_modules(&crate_dir.join("src")));
    }
    if let Some(filter) = filter
        && !test_paths(&modules).iter().any(|p| p.contains(filter))
    {
        return Err(format!("the filter {filter} names no test of {package}"));
    }
    Ok(())
}

/// Every file, test name and command the index gives.
#[test]
fn the_test_index_names_files_and_tests_that_exist() {
    let root = root();
    let index = read(&root.join(INDEX));
    let mut problems = Vec::new();
    let mut tests_named = 0;
    for (line, cell) in index_cells(&index) {
        let mut file: Option<(String, String)> = None;
        for span in spans(&cell) {
            if is_file_span(span) {
                let path = root.join(span);
                if !path.is_file() {
                    problems.push(format!("line {line}: no file {span}"));
                }
                file = Some((
                    span.to_owned(),
                    std::fs::read_to_string(path).unwrap_or_default(),
                ));
            } else if let (Some((name, text)), true) = (&file, is_identifier(span)) {
                tests_named += 1;
                if !defines_fn(text, span) {
                    problems.push(format!("line {line}: {name} has no test {span}"));
                }
            } else if span.contains("cargo test") || span.contains("cargo bench") {
                for command in span.split("&&") {
                    if let Err(e) = check_command(&root, command) {
                        problems.push(format!("line {line}: `{command}`: {e}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{INDEX}:\n{}", problems.join("\n"));
    assert!(tests_named > 100, "{INDEX} names only {tests_named} tests");
}

/// A file with tests that the index does not name cannot be found from it.
#[test]
fn every_file_with_tests_is_in_the_test_index() {
    let root = root();
    let index = read(&root.join(INDEX));
    let named: BTreeSet<&str> = spans(&index)
        .into_iter()
        .filter(|s| is_file_span(s))
        .collect();
    let mut with_tests = 0;
    let mut missing = Vec::new();
    for (_, dir) in members(&root) {
        for file in rust_files(&root.join(dir)) {
            if !has_tests(&read(&file)) {
                continue;
            }
            with_tests += 1;
            let relative = file.strip_prefix(&root).expect("in the workspace");
            let relative = relative.to_string_lossy();
            if !named.contains(relative.as_ref()) {
                missing.push(relative.into_owned());
            }
        }
    }
    assert!(with_tests > 50, "found only {with_tests} files with tests");
    assert!(
        missing.is_empty(),
        "not in {INDEX}:\n{}",
        missing.join("\n")
    );
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut fenced = false;
    text.lines().enumerate().filter(move |(_, line)| {
        if line.starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The anchors of a Markdown file's headings (a repeated heading gets `-1`, `-2`, ...).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (_, line) in prose(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while found.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        found.insert(anchor);
    }
    found
}

/// Every relative link of the documents reaches an existing file, and a heading of it when it
/// names one.
#[test]
fn links_between_documents_resolve() {
    let root = root();
    let mut documents: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    documents.extend(OTHER_DOCUMENTS.iter().map(|d| root.join(d)));
    let mut problems = Vec::new();
    let mut links = 0;
    for document in &documents {
        let text = read(document);
        for (n, line) in prose(&text) {
            for target in line.split("](").skip(1).filter_map(|r| r.split(')').next()) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                links += 1;
                let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
                let file = if path.is_empty() {
                    document.clone()
                } else {
                    document.parent().expect("a directory").join(path)
                };
                let at = format!("{}:{}: {target}", document.display(), n + 1);
                if !file.exists() {
                    problems.push(format!("{at}: no such file"));
                } else if !anchor.is_empty()
                    && file.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&file)).contains(anchor)
                {
                    problems.push(format!("{at}: no such heading"));
                }
            }
        }
    }
    assert!(links > 100, "found only {links} links");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The example a reader copies is a configuration the server loads, and shows every section.
#[test]
fn the_annotated_configuration_example_is_valid() {
    let root = root();
    let text = read(&root.join("docs/CONFIGURATION.md"));
    let example = text
        .split_once("## Annotated example")
        .and_then(|(_, rest)| rest.split_once("```toml\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(toml, _)| toml)
        .expect("the annotated example");
    for section in [
        "[server]",
        "[tls]",
        "[hsm]",
        "[cache]",
        "[admin]",
        "[audit]",
        "[limits]",
        "[cluster]",
    ] {
        assert!(example.contains(section), "the example lacks {section}");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("kmsd.toml");
    std::fs::write(&path, example).expect("write the example");
    if let Err(e) = server::config::Settings::load(&path, std::iter::empty()) {
        panic!("the annotated example does not load: {e}");
    }
}
