use super::*;

/// Public keys made with ssh-keygen (OpenSSH 9.2) and what `ssh-keygen -l -f` printed for each.
const VECTORS: &[(&str, &str)] = &[
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL3EPuHoY9Qh0Ni583ZwcR4shKjT3efGVGczBRxqQ0pL user@ed25519",
        "256 SHA256:PHKXGxQJc+9zzT5CxSgk5n0lhqGuhRZPEy9S0R80CCw user@ed25519 (ED25519)",
    ),
    (
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDti+kdsgSjlzro32hPYvnGYlPvZIIqB7DU59EqlvInJSwdg2/x14qDAh/tbdMuTnVKfmfqI7QDU2rA1YTa0PrVALEeXJQNYCp8foPwNCKqIMe6pu3+9IgrAIIUhHA943WzvWFE2tGHWmUlt3OpnomaUyZlLn+9xGafDJkKU1Uv6ERWnYFisS5DKygFPkswCUDwLRItpHzqnXshsmIevZv6LpJX40AQGpzsepyT7xd1W3hmO/Lz75ZIDVMsNGCvRxG6VNcGm3XSHq3XUZnhRJd/82dEQpr1VKht7ACt18u92EvxEoV0ncabp6+U7nmz7CO+nG+wkfo17XQkPFbmxeTYUHPKUHNXN6oxdSXdV7+lNBPdydu+hGJDCRIOZdf/jn15czCXuDDa2vp6pHh12drGfzFdCym/8kVo2+yDwYN5hAQnnXW4u0yO1jhpa5FtppnaFKycmry3FAPs0uiBLxm9FhvCI+9qx6NK/7Mq4/NNUgvVUKDTfTXW8LNG5mT3Ats= user@rsa-3072",
        "3072 SHA256:Yt+6ggrpIbSXc0oLwnwyZPxhGeag115V95EhCOJ1bso user@rsa-3072 (RSA)",
    ),
    (
        "ssh-dss AAAAB3NzaC1kc3MAAACBANrKloP0QjOvrPbs2E7NXOT+x6vTP8Sze80rDovpmvWMke+jBRYVpctFV7cvJjvfO7hSViMy1kkomH4FQOAr+PIrhWBKEYvNch93ZT/AYFB9UbdZP8vIdC4F76KvF2abO8lo1RgHGneR66cA17aNtZV5ZmPMkfAXVyjNYuqTxF6bAAAAFQCurGI3amf+i3ZUv5Jd1HXzJlpqnQAAAIAExOTgho3hNZhuNlHhU8OEpKTcZK/WO7K1n+hZcF7Wwy2/+5ywfVia8cmfdkXNKbqFkc1flST3IH0lvX5l2PbhIVUC5jdAlVqNUunBplBaZElGj7L7TMnedSV7vca8MHWvaSToAcxXG3k3gY4N7tPRp1k2qhfcy48VvLRgjkYTAQAAAIEAmzDycoQLZwEkMooLeOpsWlAGRfsiWZHhHlMkP6oAJ2ysTE6e/oWkl2cxXceC4snhfXb285Ok4aKYTsb4VHKWqdFxQ4w89KqmQvU8uW4il9xhrI20rRw6DBF0w6+hZtmUs5uHpUdzsGrpYFx6MGVGp6emK5Hwm5OEYZUOnMKgI7w= user@dsa-1024",
        "1024 SHA256:x0ALaTGRpeUVzXPhDNfc9Ym653LVrUnnaamHbdV7Ec0 user@dsa-1024 (DSA)",
    ),
    (
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA4JrzFhe+OHoa9Tfh6iKej0PZrfQSUD6/cDgHskrCBH/bXd3LXgZTK5Xn8tD2TyZBB6EDKm0aJmxn/BsiaPEfg= user@ecdsa-256",
        "256 SHA256:WFU7V2eIikgkmIr9ng6xBgrJEHnkfi3rQjXNKkL02i0 user@ecdsa-256 (ECDSA)",
    ),
    (
        "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDRFJdTKUJT/S1lBUeJpyFjv6EBnrs9VND8+wSJ1ic+OBwpLSa3yIHqpdiy5RGDdAE0QcbYgQ8m1f7Y1eGgWsWJKhvVDpxb3bthG4aM2vE5lnMpaQwDk/qJ7hnY9IKgAFQ== user@ecdsa-384",
        "384 SHA256:lBM3HQy/MlUZgSwagbVJYtOwfMYGQCt+2oNuFtTBDNM user@ecdsa-384 (ECDSA)",
    ),
    (
        "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABQutY12sxFbJfuj9/JVW8PzhKawd9kFHDQGqFw2iqn8+NYhcFQyK0pA1pV7vpCeANmLLS3fk4j2GwUOuf466/asAEkoiBoR9FhtU68QxQgnhdPD2xLk5z/1ovfBxUhgl11BK3jWPVOPijNt6rpBe/PNZMKixNhVyFm/nN3wck4caG+aA== user@ecdsa-521",
        "521 SHA256:5Q0e11WsQEdlckEV68ilrQvn5eY8wmz5re69uEN5E+w user@ecdsa-521 (ECDSA)",
    ),
    (
        "ecdsa-sha2-nistp384-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAzODQtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgjU5uHuUPjIsrh6GRS64IkJ1F8kSJfYck4ugzpys/lO8AAAAIbmlzdHAzODQAAABhBDRFJdTKUJT/S1lBUeJpyFjv6EBnrs9VND8+wSJ1ic+OBwpLSa3yIHqpdiy5RGDdAE0QcbYgQ8m1f7Y1eGgWsWJKhvVDpxb3bthG4aM2vE5lnMpaQwDk/qJ7hnY9IKgAFQAAAAAAAAAAAAAAAQAAAAR0ZXN0AAAACQAAAAVhbGljZQAAAAAAAAAA//////////8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZXJtaXQtcG9ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNlci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACC1DeN28VHnPLXdd7eC8V6CExcmqwhnYf+BiQ4sNtNFYAAAAFMAAAALc3NoLWVkMjU1MTkAAABARzyt0O0i0j101zKiBVK5rSjpEW60HSIgNqeFMpdFWcK7OEp6tSXO9mU7+1DkEPZT9P43+0e/137CBsvPSPj8DQ== user@ecdsa-384",
        "384 SHA256:lBM3HQy/MlUZgSwagbVJYtOwfMYGQCt+2oNuFtTBDNM user@ecdsa-384 (ECDSA-CERT)",
    ),
    (
        "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAAAABHNzaDo= sk@test",
        "256 SHA256:/p0CbeE3dk2SyW1OXXsThGc12ezDVD8eGw2/vtztDfk sk@test (ED25519-SK)",
    ),
];

const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL3EPuHoY9Qh0Ni583ZwcR4shKjT3efGVGczBRxqQ0pL";

#[test]
fn fingerprints_bits_and_types_are_those_of_ssh_keygen() {
    for (line, want) in VECTORS {
        let k = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(&k.keygen_line(), want, "{line}");
        assert_eq!(k.line, *line);
        assert_eq!(k.options, None);
    }
    let k = parse_line(ED).unwrap();
    assert_eq!(
        k.keygen_line(),
        "256 SHA256:PHKXGxQJc+9zzT5CxSgk5n0lhqGuhRZPEy9S0R80CCw no comment (ED25519)"
    );
}

#[test]
fn options_are_recognised_and_passed_through_unchanged() {
    for opts in [
        "no-port-forwarding",
        r#"command="/usr/bin/backup --from \"x y\"",no-pty"#,
        r#"from="10.0.0.0/8,!10.1.2.3",restrict,PTY"#,
        r#"environment="A=b c",expiry-time="20300101",permitopen="host:22""#,
        r#"cert-authority,principals="alice,bob""#,
    ] {
        let line = format!("{opts} {ED} alice@laptop");
        let k = parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(k.line, line);
        assert_eq!(k.options.as_deref(), Some(opts));
        assert_eq!(k.comment, "alice@laptop");
        assert_eq!(k.key_type, "ssh-ed25519");
    }
    // A tab between the fields, a comment with spaces.
    let k = parse_line(&format!("no-pty\t{ED}\tAlice's  key")).unwrap();
    assert_eq!(k.comment, "Alice's  key");
}

#[test]
fn malformed_lines_are_refused_with_a_reason() {
    let blob_of_ed = ED.split(' ').nth(1).unwrap();
    let cases: Vec<(String, KeyError)> = vec![
        (
            format!("ssh-rsa {blob_of_ed}"),
            KeyError::TypeMismatch {
                line: "ssh-rsa".into(),
                blob: "ssh-ed25519".into(),
            },
        ),
        ("ssh-ed25519 AAAA!!!notbase64".into(), KeyError::BadBase64),
        ("ssh-ed25519".into(), KeyError::NoKeyData),
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL3E".into(),
            KeyError::BadBlob("truncated"),
        ),
        (
            "ssh-foo AAAA".into(),
            KeyError::BadOptions("\"ssh-foo\" is not a key type or an option sshd knows".into()),
        ),
        (
            "no-pty ssh-foo AAAA".into(),
            KeyError::UnknownKeyType("ssh-foo".into()),
        ),
        ("no-pty".into(), KeyError::NoKeyType),
        (
            format!("command=\"x {ED}"),
            KeyError::BadOptions("unterminated quote".into()),
        ),
        (
            format!("command=x {ED}"),
            KeyError::BadOptions("option \"command\" needs a value in double quotes".into()),
        ),
        (
            format!("command {ED}"),
            KeyError::BadOptions("\"command\" needs a value".into()),
        ),
        (
            format!("no-pty=\"1\" {ED}"),
            KeyError::BadOptions("option \"no-pty\" takes no value or is unknown".into()),
        ),
        (
            format!("no-pty, {ED}"),
            KeyError::BadOptions("trailing comma".into()),
        ),
        (format!("{ED} a\x1bb"), KeyError::ControlCharacter),
        (format!("{ED}\0"), KeyError::ControlCharacter),
    ];
    for (line, want) in cases {
        assert_eq!(parse_line(&line), Err(want), "{line:?}");
    }
    // Trailing bytes after a plain key, a wrong-sized ed25519 key, a wrong curve.
    let mut blob = STANDARD.decode(blob_of_ed).unwrap();
    blob.push(0);
    let line = format!("ssh-ed25519 {}", STANDARD.encode(&blob));
    assert_eq!(
        parse_line(&line),
        Err(KeyError::BadBlob("bytes after the key"))
    );
    let p256 = VECTORS[3].0.split(' ').nth(1).unwrap();
    let mut blob = STANDARD.decode(p256).unwrap();
    let i = blob.windows(8).rposition(|w| w == b"nistp256").unwrap(); // the curve field
    blob[i + 7] = b'4';
    let line = format!("ecdsa-sha2-nistp256 {}", STANDARD.encode(&blob));
    assert_eq!(
        parse_line(&line),
        Err(KeyError::BadBlob("the curve does not match the key type"))
    );
    let long = format!("{ED} {}", "c".repeat(MAX_SSH_KEY_LINE));
    assert!(matches!(parse_line(&long), Err(KeyError::TooLong(_))));
}

#[test]
fn values_become_answered_lines_valid_ones_only_capped() {
    let values = vec![
        format!("  {ED} one\r\n"),
        "# a comment line\n\nssh-rsa AAAA broken".to_string(),
        format!("no-pty {ED} two\n{ED} three"),
    ];
    assert_eq!(
        authorized_lines("alice", "sshPublicKey", &values),
        vec![
            format!("{ED} one"),
            format!("no-pty {ED} two"),
            format!("{ED} three")
        ]
    );
    let parsed = parse_values(&values);
    assert_eq!(parsed.len(), 4);
    assert!(parsed[1].1.is_err());
    let many: Vec<String> = (0..MAX_SSH_KEYS + 5)
        .map(|i| format!("{ED} k{i}"))
        .collect();
    assert_eq!(
        authorized_lines("alice", "sshPublicKey", &many).len(),
        MAX_SSH_KEYS
    );
    assert!(authorized_lines("alice", "sshPublicKey", &[]).is_empty());
}
