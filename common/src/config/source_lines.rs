//! Finding where a key is in the config text: line numbers and dotted key paths, so that
//! every error names the line to fix.

/// 1-based line of a byte offset.
pub(super) fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The key path at a line: the nearest table header above plus the key on the line.
pub(super) fn key_at_line(src: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = src.lines().collect();
    let text = lines.get(line.checked_sub(1)?)?.trim();
    let header = |t: &str| -> Option<String> {
        let t = t.split('#').next().unwrap_or("").trim();
        if t.starts_with('[') {
            Some(t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        } else {
            None
        }
    };
    if let Some(h) = header(text) {
        return Some(h);
    }
    let key = text
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty())?;
    let section = lines
        .iter()
        .take(line.saturating_sub(1))
        .rev()
        .find_map(|l| header(l.trim()));
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_string(),
    })
}

/// Finds the line of `key` inside the `index`-th `[[servers]]` block (or at the top level and
/// in named tables when `index` is None).
pub(super) fn locate(
    src: &str,
    index: Option<usize>,
    table: Option<&str>,
    key: &str,
) -> Option<usize> {
    let mut block: Option<usize> = None;
    let mut current_table = String::new();
    for (n, raw) in src.lines().enumerate() {
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.starts_with("[[servers]]") {
            block = Some(block.map_or(0, |b| b + 1));
            current_table = "servers".into();
            continue;
        }
        if t.starts_with('[') {
            current_table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let in_block = match index {
            Some(i) => block == Some(i) && current_table.starts_with("servers"),
            None => true,
        };
        let in_table = table.is_none_or(|tb| current_table == tb);
        if in_block && in_table {
            let k = t.split('=').next().unwrap_or("").trim();
            if k == key && t.contains('=') {
                return Some(n + 1);
            }
        }
    }
    None
}
