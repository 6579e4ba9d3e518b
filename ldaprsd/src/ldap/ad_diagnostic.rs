//! Active Directory's reason for a refused bind. AD (and Samba's AD DC) answers every refused
//! simple bind with resultCode 49 and puts the Windows error in the diagnostic message:
//! `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 533, v1db1`.
//! The `data` value is the Win32 error code (MS-ERREF), in hex: 52e is a wrong password,
//! the others name an account state. Samba 4.17 gives the account-state codes only after the
//! password was checked and found right (a wrong one is `52e` whatever the state); a locked
//! account is `775` with any password.

/// The sub-code of an AD bind refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdReason {
    /// 525: no such user (ERROR_NO_SUCH_USER).
    NoSuchUser,
    /// 52e: wrong password (ERROR_LOGON_FAILURE).
    WrongPassword,
    /// 530: outside the account's logon hours (ERROR_INVALID_LOGON_HOURS).
    LogonHours,
    /// 531: not allowed from this workstation (ERROR_INVALID_WORKSTATION).
    Workstation,
    /// 532: the password has expired (ERROR_PASSWORD_EXPIRED).
    PasswordExpired,
    /// 533: the account is disabled (ERROR_ACCOUNT_DISABLED).
    Disabled,
    /// 701: the account has expired (ERROR_ACCOUNT_EXPIRED).
    AccountExpired,
    /// 773: the password must be changed before the first logon (ERROR_PASSWORD_MUST_CHANGE).
    MustChange,
    /// 775: the account is locked out (ERROR_ACCOUNT_LOCKED_OUT).
    Locked,
}

impl AdReason {
    /// The reason in an AD bind diagnostic, if it has one we know.
    pub fn parse(diagnostic: &str) -> Option<AdReason> {
        if !diagnostic.contains("AcceptSecurityContext") {
            return None;
        }
        let code = diagnostic.split("data ").nth(1)?;
        let code: String = code.chars().take_while(char::is_ascii_hexdigit).collect();
        Some(match code.to_ascii_lowercase().as_str() {
            "525" => AdReason::NoSuchUser,
            "52e" => AdReason::WrongPassword,
            "530" => AdReason::LogonHours,
            "531" => AdReason::Workstation,
            "532" => AdReason::PasswordExpired,
            "533" => AdReason::Disabled,
            "701" => AdReason::AccountExpired,
            "773" => AdReason::MustChange,
            "775" => AdReason::Locked,
            _ => return None,
        })
    }

    /// The code as AD writes it.
    pub fn code(self) -> &'static str {
        match self {
            AdReason::NoSuchUser => "525",
            AdReason::WrongPassword => "52e",
            AdReason::LogonHours => "530",
            AdReason::Workstation => "531",
            AdReason::PasswordExpired => "532",
            AdReason::Disabled => "533",
            AdReason::AccountExpired => "701",
            AdReason::MustChange => "773",
            AdReason::Locked => "775",
        }
    }

    /// Plain words for the log.
    pub fn words(self) -> &'static str {
        match self {
            AdReason::NoSuchUser => "no such user",
            AdReason::WrongPassword => "wrong password",
            AdReason::LogonHours => "outside the account's logon hours (logonHours)",
            AdReason::Workstation => "not allowed from this workstation (userWorkstations)",
            AdReason::PasswordExpired => "password expired (maxPwdAge)",
            AdReason::Disabled => "account disabled (userAccountControl ACCOUNTDISABLE)",
            AdReason::AccountExpired => "account expired (accountExpires)",
            AdReason::MustChange => "password must be changed (pwdLastSet = 0)",
            AdReason::Locked => "account locked out (lockoutThreshold reached)",
        }
    }

    /// Whether the code says only that the password or the name was wrong.
    pub fn is_wrong_password(self) -> bool {
        matches!(self, AdReason::WrongPassword | AdReason::NoSuchUser)
    }
}

#[cfg(test)]
mod tests {
    use super::AdReason;

    #[test]
    fn codes_from_real_diagnostics() {
        // As Samba 4.17 and Windows Server write them.
        let samba = |c: &str| {
            format!("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {c}, v1db1")
        };
        let cases = [
            ("52e", AdReason::WrongPassword),
            ("525", AdReason::NoSuchUser),
            ("530", AdReason::LogonHours),
            ("531", AdReason::Workstation),
            ("532", AdReason::PasswordExpired),
            ("533", AdReason::Disabled),
            ("701", AdReason::AccountExpired),
            ("773", AdReason::MustChange),
            ("775", AdReason::Locked),
        ];
        for (c, r) in cases {
            assert_eq!(AdReason::parse(&samba(c)), Some(r), "{c}");
            assert_eq!(r.code(), c);
        }
        let windows = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52E, v4563\0";
        assert_eq!(AdReason::parse(windows), Some(AdReason::WrongPassword));
        assert!(AdReason::WrongPassword.is_wrong_password());
        assert!(!AdReason::Disabled.is_wrong_password());
    }

    #[test]
    fn other_diagnostics_have_no_reason() {
        assert_eq!(AdReason::parse(""), None);
        assert_eq!(AdReason::parse("invalid credentials"), None);
        // slapd's words do not pass for AD's, nor does an unknown code.
        assert_eq!(AdReason::parse("data 533"), None);
        assert_eq!(
            AdReason::parse("AcceptSecurityContext error, data 9999, v1db1"),
            None
        );
        assert_eq!(AdReason::parse("AcceptSecurityContext error, data"), None);
    }
}
