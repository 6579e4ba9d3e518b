//! `[servers.idmap]`: uid and gid computed from AD's objectSid, for directories without
//! RFC 2307 attributes (SSSD's `ldap_id_mapping`). The numbers are SSSD's: the domain SID's
//! string hashed with MurmurHash3 (x86, 32 bits, seed 0xdeadbeef) picks one of
//! `(range_max - range_min) / range_size` slices, and the RID is added to the slice's first
//! id. The computation itself is in `ldaprsd/src/directory/idmap.rs`.

use super::errors::{semantic, ConfigError};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum IdmapMode {
    /// uidNumber and gidNumber from the directory.
    #[default]
    Off,
    /// uid and gid from objectSid (and primaryGroupID); uidNumber and gidNumber are ignored.
    Sid,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdmapSection {
    #[serde(default)]
    pub mode: IdmapMode,
    /// SSSD's `ldap_idmap_range_min`.
    #[serde(default = "default_min")]
    pub range_min: u32,
    /// SSSD's `ldap_idmap_range_max`.
    #[serde(default = "default_max")]
    pub range_max: u32,
    /// SSSD's `ldap_idmap_range_size`: ids per domain, so the highest RID served is one less.
    #[serde(default = "default_size")]
    pub range_size: u32,
    /// The home directory of a mapped user; `%u` is the user name (SSSD's
    /// `override_homedir`, `fallback_homedir`).
    #[serde(default = "default_home")]
    pub home: String,
    /// The login shell of a mapped user (SSSD's `default_shell`).
    #[serde(default = "default_shell")]
    pub shell: String,
}

fn default_min() -> u32 {
    200_000
}
fn default_max() -> u32 {
    2_000_200_000
}
fn default_size() -> u32 {
    200_000
}
fn default_home() -> String {
    "/home/%u".into()
}
fn default_shell() -> String {
    "/bin/bash".into()
}

impl Default for IdmapSection {
    fn default() -> Self {
        IdmapSection {
            mode: IdmapMode::Off,
            range_min: default_min(),
            range_max: default_max(),
            range_size: default_size(),
            home: default_home(),
            shell: default_shell(),
        }
    }
}

impl IdmapSection {
    pub fn enabled(&self) -> bool {
        self.mode == IdmapMode::Sid
    }

    /// How many slices the range holds (SSSD's `max_slices`).
    pub fn slices(&self) -> u32 {
        self.range_max.saturating_sub(self.range_min) / self.range_size.max(1)
    }
}

const IDMAP: Option<&str> = Some("servers.idmap");

/// The range must hold at least one slice; home must be absolute; both without ':'.
pub(super) fn check_idmap(
    path: &str,
    src: &str,
    idx: Option<usize>,
    m: &IdmapSection,
    non_ad_schema: Option<&str>,
) -> Result<(), ConfigError> {
    let err = |key: &str, msg: String, hint: Option<&str>| {
        Err(semantic(path, src, idx, IDMAP, key, msg, hint))
    };
    if let (true, Some(schema)) = (m.enabled(), non_ad_schema) {
        return err(
            "mode",
            format!("mode = \"sid\" maps AD's objectSid, but the block's schema is {schema}"),
            Some("schema = \"ad\""),
        );
    }
    if m.range_size == 0 {
        return err(
            "range_size",
            "must be at least 1".into(),
            Some("range_size = 200000"),
        );
    }
    if m.range_min == 0 {
        return err(
            "range_min",
            "uid 0 is root's: start above it".into(),
            Some("range_min = 200000"),
        );
    }
    if m.range_max <= m.range_min || m.slices() == 0 {
        let msg = format!(
            "range_min {} to range_max {} holds no slice of range_size {}",
            m.range_min, m.range_max, m.range_size
        );
        return err("range_max", msg, Some("range_max = 2000200000"));
    }
    if !m.home.starts_with('/') || m.home.contains(':') {
        return err(
            "home",
            format!("{:?} is not an absolute path without ':'", m.home),
            Some("home = \"/home/%u\""),
        );
    }
    if m.shell.contains(':') || m.shell.chars().any(char::is_control) {
        return err(
            "shell",
            format!("{:?} contains ':' or a control character", m.shell),
            None,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::load::parse;

    const AD: &str = "[[servers]]\nname = \"dc\"\nuri = \"ldaps://dc1.bars.ad\"\nschema = \"ad\"\nbase = \"DC=bars,DC=ad\"\n";

    #[test]
    fn idmap_keys_defaults_and_effective() {
        let c = parse("c.toml", &format!("{AD}[servers.idmap]\nmode = \"sid\"\n")).unwrap();
        let s = &c.servers[0];
        assert!(s.idmap.enabled());
        assert_eq!(s.idmap.slices(), 10_000);
        let e = s.effective();
        assert_eq!(e.attr_uid, "objectSid");
        assert_eq!(e.attr_gid, "primaryGroupID");
        assert_eq!(e.attr_group_gid, "objectSid");
        assert_eq!(
            e.user_filter,
            "(&(objectClass=user)(!(objectClass=computer)))"
        );
        assert_eq!(e.group_filter, "(objectClass=group)");
        assert_eq!(e.idmap.as_ref().map(|m| m.home.as_str()), Some("/home/%u"));
        // Off by default: the RFC 2307 attributes.
        let c = parse("c.toml", AD).unwrap();
        assert_eq!(c.servers[0].effective().attr_uid, "uidNumber");
        assert_eq!(c.servers[0].effective().idmap, None);
    }

    #[test]
    fn bad_idmap_values_are_located() {
        let cases = [
            (
                "mode = \"sid\"\nrange_size = 0\n",
                "servers[0].idmap.range_size",
            ),
            (
                "mode = \"sid\"\nrange_max = 100\n",
                "servers[0].idmap.range_max",
            ),
            ("range_min = 0\n", "servers[0].idmap.range_min"),
            ("home = \"home/%u\"\n", "servers[0].idmap.home"),
        ];
        for (body, key) in cases {
            let src = format!("{AD}[servers.idmap]\n{body}");
            let e = parse("c.toml", &src).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{body}: {e:?}");
            assert!(e.line.is_some(), "{body}");
        }
        let src = format!(
            "{}[servers.idmap]\nmode = \"sid\"\n",
            AD.replace("\"ad\"", "\"rfc2307\"")
        );
        let e = parse("c.toml", &src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("servers[0].idmap.mode"));
        let e = parse("c.toml", &format!("{AD}[servers.idmap]\nmod = \"sid\"\n")).unwrap_err();
        assert!(e.message.contains("mod"), "{e:?}");
    }
}
