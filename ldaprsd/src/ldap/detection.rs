//! What detection found for a block (`detect.rs` finds it; `block.rs` keeps it).

use ldaprs_common::config::Schema;

/// What was detected (or configured), each with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub schema: Schema,
    pub schema_from: String,
    pub base: String,
    pub base_from: String,
}

impl Detection {
    /// One line for the log: `schema ad (RootDSE ...), base DC=x (defaultNamingContext)`.
    pub fn summary(&self) -> String {
        format!(
            "schema {} ({}), base {} ({})",
            schema_name(self.schema),
            self.schema_from,
            self.base,
            self.base_from
        )
    }
}

pub fn schema_name(s: Schema) -> &'static str {
    match s {
        Schema::Auto => "auto",
        Schema::Rfc2307 => "rfc2307",
        Schema::Rfc2307bis => "rfc2307bis",
        Schema::Ad => "ad",
        Schema::Ipa => "ipa",
    }
}
