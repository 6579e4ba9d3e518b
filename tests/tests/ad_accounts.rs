//! Account states on a real Active Directory (issue 16), set with samba-tool and LDAP on the
//! Samba AD DC of `tests/src/samba.rs`, seen through the built PAM module (pamtester under
//! pam_wrapper): AD's bind diagnostic (`data 533`, `701`, `773`, `775`, `530`, `531`) becomes
//! the account's message and a log line naming AD's code, not "wrong password".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::samba::{dc, AD_BASE, USER_PASSWORD};
use ldaprs_tests::Env;

fn started(name: &str) -> Env {
    let dc = dc();
    let mut env = dc.env(name);
    env.write_config(&dc.config(&env, "", ""));
    env.start_daemon();
    env
}

fn login(env: &Env, user: &str, password: &str) -> (i32, String) {
    let (code, out) = env.pamtester(user, &[password], &["authenticate", "acct_mgmt"], &[], None);
    let out: String = out
        .lines()
        .filter(|l| !l.contains("PWRAP_ERROR"))
        .map(|l| format!("{l}\n"))
        .collect();
    println!("---- {user}: pamtester exit {code}\n{out}");
    (code, out)
}

fn last_auth_line(env: &Env, user: &str) -> String {
    let needle = format!("auth user={user} ");
    env.daemon_log()
        .lines()
        .rfind(|l| l.contains(&needle) && !l.contains("debug:"))
        .unwrap_or_default()
        .to_string()
}

fn set(dn_cn: &str, attr: &str, value: &str) {
    let o = dc().ldapmodify(&format!(
        "dn: CN={dn_cn},CN=Users,{AD_BASE}\nchangetype: modify\nreplace: {attr}\n{attr}{value}\n"
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn ad_account_states_are_told_not_wrong_passwords() {
    let env = started("ad-states");
    // No logon hours at all (21 zero bytes), and only another workstation.
    set(
        "Hours Test",
        "logonHours",
        ":: AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    set("Ws Test", "userWorkstations", ": OTHERPC");
    let cases = [
        (
            "dis",
            "Your account is disabled",
            "account disabled (userAccountControl ACCOUNTDISABLE) (AD data 533",
        ),
        (
            "exp",
            "Your account has expired",
            "account expired (accountExpires) (AD data 701",
        ),
        (
            "chg",
            "You are required to change your password immediately (administrator enforced)",
            "(AD data 773",
        ),
        ("hours", "You may not log in at this time", "(AD data 530"),
        (
            "ws",
            "You may not log in from this computer",
            "(AD data 531",
        ),
    ];
    for (user, told, rule) in cases {
        let (code, out) = login(&env, user, USER_PASSWORD);
        assert_ne!(code, 0, "{user}");
        assert!(out.contains(told), "{user}: {out}");
        let line = last_auth_line(&env, user);
        println!("  log: {line}");
        assert!(line.contains(rule), "{user}: {line}\n{}", env.daemon_log());
        assert!(!line.contains("wrong password"), "{line}");
        // With a wrong password AD says only that (52e): nothing about the account.
        let (code, out) = login(&env, user, "Wr0ng-Pass.word");
        assert_ne!(code, 0);
        assert!(!out.contains(told), "{user}: {out}");
    }
    assert_eq!(login(&env, "alice", USER_PASSWORD).0, 0);
}

#[test]
fn an_ad_lockout_is_told() {
    let env = started("ad-lockout");
    // The domain locks an account after 3 bad passwords (tests/samba/provision).
    for _ in 0..3 {
        let (code, _) = login(&env, "lock", "Wr0ng-Pass.word");
        assert_ne!(code, 0);
    }
    assert!(last_auth_line(&env, "lock").contains("wrong password"));
    let (code, out) = login(&env, "lock", USER_PASSWORD);
    assert_ne!(code, 0);
    assert!(out.contains("Your account is locked"), "{out}");
    let line = last_auth_line(&env, "lock");
    println!("  log: {line}");
    assert!(
        line.contains("account locked out (lockoutThreshold reached) (AD data 775"),
        "{line}"
    );
    let show = dc().samba_tool(&["user", "show", "lock", "--attributes=lockoutTime"]);
    assert!(!show.contains("lockoutTime: 0"), "{show}");
}
