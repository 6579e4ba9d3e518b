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
            "AD data 773: password must be changed (pwdLastSet = 0)",
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

fn chauthtok(env: &Env, user: &str, input: &[&str], uid: Option<u32>) -> (i32, String) {
    let (code, out) = env.pamtester(user, input, &["chauthtok"], &[], uid);
    let out: String = out
        .lines()
        .filter(|l| !l.contains("PWRAP_ERROR"))
        .map(|l| format!("{l}\n"))
        .collect();
    println!("---- {user} chauthtok: exit {code}\n{out}");
    (code, out)
}

fn last_passwd_line(env: &Env, user: &str) -> String {
    env.daemon_log()
        .lines()
        .rfind(|l| l.contains(&format!("passwd user={user}")) && !l.contains("debug:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ad_password_change_by_the_user_and_reset_by_root() {
    let dc = dc();
    let mut env = dc.env("ad-passwd");
    let admin = ldaprs_tests::secret_file(
        &env.dir.join(".."),
        ldaprs_tests::samba::ADMIN_PASSWORD,
        0o600,
    );
    let admin_copy = env.dir.join("admin_password");
    std::fs::rename(&admin, &admin_copy).unwrap();
    let server = format!(
        "admin_dn = \"{}\"\nadmin_password_file = \"{}\"\n",
        ldaprs_tests::samba::ADMIN_DN,
        admin_copy.display()
    );
    env.write_config(&dc.config(&env, "", &server));
    env.start_daemon();
    let me = Some(10014);
    // The domain's policy, in the user's words: too short, then the same password again.
    let (code, out) = chauthtok(&env, "pwch", &[USER_PASSWORD, "Sh0rt", "Sh0rt"], me);
    assert_ne!(code, 0);
    assert!(
        out.contains("does not meet the domain's password policy: it is too short"),
        "{out}"
    );
    let line = last_passwd_line(&env, "pwch");
    assert!(line.contains("resultCode 19 0000052D"), "{line}");
    // A wrong current password is caught at once (the module checks it before asking for
    // the new one).
    let (code, out) = chauthtok(
        &env,
        "pwch",
        &["Wr0ng-Pass.word", "N3w-Pass.word1", "N3w-Pass.word1"],
        me,
    );
    assert_ne!(code, 0);
    assert!(
        out.contains("Authentication failure") && !out.contains("New password"),
        "{out}"
    );
    // The change: unicodePwd delete/add over LDAPS, bound as the user.
    let new = "N3w-Pass.word1";
    let (code, out) = chauthtok(&env, "pwch", &[USER_PASSWORD, new, new], me);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(last_passwd_line(&env, "pwch")
        .contains("password changed (server dc, dn CN=Pwch Test,CN=Users,DC=bars,DC=ad)"));
    assert_ne!(
        login(&env, "pwch", USER_PASSWORD).0,
        0,
        "the old password still works"
    );
    assert_eq!(login(&env, "pwch", new).0, 0);
    // Back to the first one: in the domain's password history.
    let (code, out) = chauthtok(&env, "pwch", &[new, USER_PASSWORD, USER_PASSWORD], me);
    assert_ne!(code, 0);
    assert!(out.contains("The new password was used before"), "{out}");

    // Root's reset through admin_dn (unicodePwd replaced), no current password.
    let reset = "R3set-Pass.word";
    let (code, out) = chauthtok(&env, "pwreset", &[reset, reset], None);
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(last_passwd_line(&env, "pwreset").contains("(reset by root)"));
    assert_eq!(login(&env, "pwreset", reset).0, 0);
    assert_ne!(login(&env, "pwreset", USER_PASSWORD).0, 0);
}

/// pwdLastSet = 0: AD refuses the bind with data 773 although the password is right; the
/// login asks for the change (PAM_NEW_AUTHTOK_REQD) and the change goes through.
#[test]
fn an_ad_must_change_password_is_changed_through_pam() {
    let env = started("ad-mustchange");
    let (code, out) = login(&env, "chg2", USER_PASSWORD);
    assert_ne!(code, 0);
    assert!(
        out.contains(
            "You are required to change your password immediately (administrator enforced)."
        ),
        "{out}"
    );
    assert!(out.contains("new one required"), "{out}");
    let new = "Chang3d-Pass.word";
    let (code, out) = chauthtok(&env, "chg2", &[USER_PASSWORD, new, new], Some(10018));
    assert_eq!(code, 0, "{out}\n{}", env.daemon_log());
    assert!(env
        .daemon_log()
        .contains("must change the password (AD data 773): changing it on the service connection"));
    assert_eq!(login(&env, "chg2", new).0, 0, "{}", env.daemon_log());
}
