//! Markdown tables.

/// A markdown table: a header row and rows of cells.
#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are left empty, extra cells are kept).
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Whether the table has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as GitHub markdown; `|` inside cells is escaped.
    pub(crate) fn render(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let width = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for i in 0..width {
                out.push(' ');
                out.push_str(&esc(cells.get(i).map_or("", String::as_str)));
                out.push_str(" |");
            }
            out.push('\n');
            out
        };
        let mut out = line(&self.headers);
        out.push('|');
        out.push_str(&"---|".repeat(width));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        let mut t = Table::new(["a", "b"]);
        assert!(t.is_empty());
        t.row(["1", "x|y"]);
        t.row(["2"]);
        assert_eq!(
            t.render(),
            "| a | b |\n|---|---|\n| 1 | x\\|y |\n| 2 |  |\n"
        );
    }
}
