//! How answers are printed: for a person (one line per field, exit status by verdict) or as
//! one JSON object (`--json`).

use ldaprs_common::protocol::{AuthCode, Response};
use std::process::ExitCode;

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_object(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// --json: every answer as one JSON object.
pub fn show_json(resp: Response) -> ExitCode {
    let (pairs, code): (Vec<(String, String)>, u8) = match resp {
        Response::User(p) => (
            vec![
                ("name".into(), p.name),
                ("uid".into(), p.uid.to_string()),
                ("gid".into(), p.gid.to_string()),
                ("gecos".into(), p.gecos),
                ("home".into(), p.dir),
                ("shell".into(), p.shell),
            ],
            0,
        ),
        Response::Group(g) => (
            vec![
                ("name".into(), g.name),
                ("gid".into(), g.gid.to_string()),
                ("members".into(), g.members.join(",")),
            ],
            0,
        ),
        Response::Gids(g) => (
            vec![(
                "gids".into(),
                g.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
            )],
            0,
        ),
        Response::NotFound => (vec![("result".into(), "not found".into())], 2),
        Response::Status(lines) => {
            let notfound = lines.iter().any(|(k, v)| k == "answer" && v == "not found");
            (lines, if notfound { 2 } else { 0 })
        }
        Response::Ok => (vec![("result".into(), "ok".into())], 0),
        Response::Auth { code, message } => (
            vec![
                ("decision".into(), format!("{code:?}")),
                ("message".into(), message),
            ],
            if code == AuthCode::Success { 0 } else { 1 },
        ),
        Response::Error { code, message } => (
            vec![
                ("error".into(), format!("{code:?}")),
                ("message".into(), message),
            ],
            3,
        ),
        other => (vec![("answer".into(), format!("{other:?}"))], 0),
    };
    println!("{}", json_object(&pairs));
    ExitCode::from(code)
}

pub fn show(resp: Response) -> ExitCode {
    match resp {
        Response::User(p) => {
            println!(
                "{}:x:{}:{}:{}:{}:{}",
                p.name, p.uid, p.gid, p.gecos, p.dir, p.shell
            );
            ExitCode::SUCCESS
        }
        Response::Group(g) => {
            println!("{}:x:{}:{}", g.name, g.gid, g.members.join(","));
            ExitCode::SUCCESS
        }
        Response::Gids(g) => {
            println!(
                "{}",
                g.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            );
            ExitCode::SUCCESS
        }
        Response::NotFound => {
            eprintln!("not found");
            ExitCode::from(2)
        }
        Response::Status(lines) => {
            let notfound = lines.iter().any(|(k, v)| k == "answer" && v == "not found");
            for (k, v) in lines {
                println!("{k:<24} {v}");
            }
            if notfound {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Response::Ok => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Response::Auth { code, message } => {
            println!(
                "{code:?}{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            );
            if code == AuthCode::Success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Response::Error { code, message } => {
            eprintln!("daemon error {code:?}: {message}");
            ExitCode::from(3)
        }
        other => {
            println!("{other:?}");
            ExitCode::SUCCESS
        }
    }
}
