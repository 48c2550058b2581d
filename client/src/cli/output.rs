//! Output: aligned text tables for people, JSON for scripts. Text from the server (names, VM
//! names vCenter chose) goes through [`clean`] so it cannot move the cursor or recolour the
//! terminal.

use std::io::Write;

use serde::Serialize;

use crate::error::{ClientError, Result};

/// An aligned table: a header row and rows of cells, columns two spaces apart.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are cleaned, absent ones shown as `-`.
    pub fn row(&mut self, cells: Vec<Option<String>>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| c.map_or_else(|| "-".to_owned(), |c| clean(&c)))
                .collect(),
        );
    }

    /// Writes the table; nothing but the header for no rows.
    pub fn write(&self, out: &mut dyn Write) -> Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.header.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate().take(columns) {
                line.push_str(cell);
                if i + 1 < columns {
                    let pad = width.saturating_sub(cell.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end()).map_err(stdout_error)?;
        }
        Ok(())
    }
}

/// Text without control characters (escape sequences, newlines).
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Writes `value` as pretty JSON and a newline.
pub fn json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(ClientError::Json)?;
    writeln!(out, "{text}").map_err(stdout_error)
}

/// Writes one line.
pub fn line(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{text}").map_err(stdout_error)
}

/// Writing to stdout or stderr failed (closed pipe).
pub fn stdout_error(source: std::io::Error) -> ClientError {
    ClientError::WriteFile {
        path: "<stdout>".into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_absent_cells_show_a_dash() {
        let mut t = Table::new(&["UID", "STATE", "NAME"]);
        t.row(vec![Some("a".into()), Some("Active".into()), None]);
        t.row(vec![
            Some("long-uid".into()),
            Some("PreActive".into()),
            Some("vm\u{1b}[2J".into()),
        ]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "UID       STATE      NAME\n\
             a         Active     -\n\
             long-uid  PreActive  vm?[2J\n"
        );
    }
}
