//! The "(hint: ...)" of a config error: "did you mean" for misspelt keys and values, and the
//! usual fixes for wrong types.

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into a "did you mean" hint.
pub(super) fn hint_for(message: &str) -> Option<String> {
    let ticks: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("unknown field") || message.starts_with("unknown variant") {
        let (wrong, expected) = ticks.split_first()?;
        let best = expected.iter().min_by_key(|e| edit_distance(wrong, e))?;
        if edit_distance(wrong, best) <= 3 {
            return Some(format!("did you mean `{best}`?"));
        }
        return Some(format!("valid here: {}", expected.join(", ")));
    }
    if message.contains("invalid type: string")
        && ["u64", "u32", "f64"].iter().any(|t| message.contains(t))
    {
        return Some("write the number without quotes".into());
    }
    if message.contains("invalid type") && message.contains("expected a sequence") {
        return Some("write a list: [\"a\", \"b\"]".into());
    }
    if message.starts_with("missing field") {
        return ticks
            .first()
            .map(|k| format!("add `{k} = ...` to this table"));
    }
    None
}
