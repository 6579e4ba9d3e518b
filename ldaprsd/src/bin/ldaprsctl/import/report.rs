//! What an import did with each option of the source file: translated (to a key, or to what
//! ldaprs does anyway) or not supported (and why), plus the steps left to the admin (the
//! password files) and general notes. Never holds a password: options that carry one are
//! shown by name only.

/// One option of the source file and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where it is: `line 12` (nslcd.conf) or `[domain/corp] line 12` (sssd.conf).
    pub at: String,
    /// The option as shown (secrets and unknown options by name only).
    pub option: String,
    /// Translated: what it became. Not supported: why, and what ldaprs does instead.
    pub what: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub translated: Vec<Item>,
    pub unsupported: Vec<Item>,
    /// Steps the admin must take before starting ldaprsd (password files).
    pub todo: Vec<String>,
    /// Differences that no single option explains.
    pub notes: Vec<String>,
}

impl Report {
    pub fn translated(&mut self, at: &str, option: &str, what: impl Into<String>) {
        self.translated.push(Item {
            at: at.to_string(),
            option: option.to_string(),
            what: what.into(),
        });
    }

    pub fn unsupported(&mut self, at: &str, option: &str, why: impl Into<String>) {
        self.unsupported.push(Item {
            at: at.to_string(),
            option: option.to_string(),
            what: why.into(),
        });
    }

    pub fn todo(&mut self, step: impl Into<String>) {
        self.todo.push(step.into());
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Puts the items in file order (options translated together at the end were reported
    /// last).
    pub fn sort(&mut self) {
        for list in [&mut self.translated, &mut self.unsupported] {
            list.sort_by_key(|i| line_of(&i.at));
        }
    }

    /// The summary printed on stderr.
    pub fn summary(&self, source: &str) -> String {
        let mut out = format!(
            "ldaprsctl import {source}: {} option(s) translated, {} not supported\n",
            self.translated.len(),
            self.unsupported.len()
        );
        if !self.unsupported.is_empty() {
            out.push_str("not supported:\n");
            for i in &self.unsupported {
                out.push_str(&format!("  {}: {}: {}\n", i.at, i.option, i.what));
            }
        }
        if !self.todo.is_empty() {
            out.push_str("before starting ldaprsd:\n");
            for t in &self.todo {
                out.push_str(&format!("  - {t}\n"));
            }
        }
        out
    }
}

/// The line number in `line 12` or `[domain/x] line 12`.
fn line_of(at: &str) -> usize {
    at.rsplit_once("line ")
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Shortens a value for display (long filters stay readable in one comment line).
pub fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}
