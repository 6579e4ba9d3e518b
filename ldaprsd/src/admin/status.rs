//! `ldaprsctl status`: the daemon's version, its cache, the shared map and each URI's health.

use crate::answers::Answers;
use ldaprs_common::protocol::Response;

pub fn status(answers: &Answers) -> Response {
    let mut lines = vec![
        (
            "ldaprsd".to_string(),
            format!("{} (pid {})", env!("CARGO_PKG_VERSION"), std::process::id()),
        ),
        ("cache entries".to_string(), answers.cache_len().to_string()),
        answers.offline_status(),
    ];
    if let Some(p) = answers.publisher() {
        lines.push(("shared map".to_string(), p.path().to_string()));
    }
    for b in answers.directory().blocks() {
        lines.extend(b.status());
    }
    Response::Status(lines)
}
