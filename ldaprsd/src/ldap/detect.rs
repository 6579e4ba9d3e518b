//! `schema = "auto"` (the default) and an absent `base`: what kind of directory a block talks
//! to, found from the directory itself — its RootDSE (AD's capability OIDs, the naming
//! contexts), FreeIPA's layout, its subschema (is `posixGroup` AUXILIARY, as in rfc2307bis?)
//! and sample searches with a size limit of 1. Each finding carries the evidence it came from,
//! for the start-up log line and `ldaprsctl server test`.

use super::block::ServerBlock;
use super::detection::Detection;
use super::entry::Entry;
use super::error::DirError;
use ldaprs_common::config::Schema;

/// `LDAP_CAP_ACTIVE_DIRECTORY_OID`: the server is an Active Directory domain controller.
const AD_CAP: &str = "1.2.840.113556.1.4.800";
/// `LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID`: AD LDS (ADAM).
const ADAM_CAP: &str = "1.2.840.113556.1.4.1851";
/// Any user entry of the kinds the presets read.
const ANY_USER: &str = "(|(objectClass=posixAccount)(&(objectClass=user)(sAMAccountName=*)))";
const ROOT_ATTRS: [&str; 5] = [
    "namingContexts",
    "defaultNamingContext",
    "supportedCapabilities",
    "vendorName",
    "subschemaSubentry",
];

/// Active Directory by its RootDSE capabilities, with the evidence.
fn ad_by_capability(root: &Entry) -> Option<String> {
    let caps = root.values("supportedCapabilities");
    if caps.iter().any(|c| c == AD_CAP) {
        return Some(format!(
            "RootDSE supportedCapabilities {AD_CAP} (Active Directory)"
        ));
    }
    caps.iter()
        .any(|c| c == ADAM_CAP)
        .then(|| format!("RootDSE supportedCapabilities {ADAM_CAP} (AD LDS)"))
}

/// The base from the RootDSE alone: `Ok` with the evidence, or `Err` with the candidates
/// (none, or several naming contexts) that need a look inside.
fn base_from_root(root: &Entry) -> Result<(String, String), Vec<String>> {
    if let Some(d) = root.first("defaultNamingContext").filter(|d| !d.is_empty()) {
        return Ok((d.to_string(), "RootDSE defaultNamingContext".into()));
    }
    let contexts: Vec<String> = root
        .values("namingContexts")
        .iter()
        .filter(|c| !c.is_empty())
        .cloned()
        .collect();
    match contexts.as_slice() {
        [one] => Ok((one.clone(), "the RootDSE's only naming context".into())),
        _ => Err(contexts),
    }
}

/// The definition of object class `name` in the subschema's `objectClasses` values.
fn class_definition<'a>(subschema: &'a Entry, name: &str) -> Option<&'a str> {
    let quoted = format!("'{}'", name.to_ascii_lowercase());
    subschema
        .values("objectClasses")
        .iter()
        .find(|d| {
            let lower = d.to_ascii_lowercase();
            lower.contains(&format!("name {quoted}")) || lower.contains(&format!("name ( {quoted}"))
        })
        .map(|d| d.as_str())
}

/// rfc2307bis makes `posixGroup` AUXILIARY (so it can sit beside groupOfNames); RFC 2307's
/// nis.schema makes it STRUCTURAL. `None` when the subschema does not define it.
fn posix_group_auxiliary(subschema: &Entry) -> Option<bool> {
    let def = class_definition(subschema, "posixGroup")?;
    Some(def.split_whitespace().any(|w| w == "AUXILIARY"))
}

impl ServerBlock {
    /// Finds the schema and base this block's config leaves to the directory; what the config
    /// names is kept (and said to be configured).
    pub async fn detect(&self) -> Result<Detection, DirError> {
        let attrs: Vec<String> = ROOT_ATTRS.iter().map(|s| s.to_string()).collect();
        let root = self
            .read_entry("", "(objectClass=*)", &attrs)
            .await?
            .ok_or_else(|| {
                DirError::Server(
                    "the RootDSE cannot be read (empty answer): set `schema` and `base`".into(),
                )
            })?;
        let (base, base_from) = self.detect_base(&root).await?;
        let (schema, schema_from) = self.detect_schema(&root, &base).await?;
        Ok(Detection {
            schema,
            schema_from,
            base,
            base_from,
        })
    }

    async fn detect_base(&self, root: &Entry) -> Result<(String, String), DirError> {
        if !self.cfg.base.trim().is_empty() {
            return Ok((self.cfg.base.clone(), "configured".into()));
        }
        let contexts = match base_from_root(root) {
            Ok(found) => return Ok(found),
            Err(c) => c,
        };
        if contexts.is_empty() {
            return Err(DirError::Server(
                "the RootDSE names no naming context: set `base`".into(),
            ));
        }
        let mut with_users = Vec::new();
        for c in &contexts {
            if self.exists(c, ANY_USER).await? {
                with_users.push(c.clone());
            }
        }
        match with_users.as_slice() {
            [one] => Ok((
                one.clone(),
                format!(
                    "the only one of the RootDSE's {} naming contexts holding user entries",
                    contexts.len()
                ),
            )),
            _ => Err(DirError::Server(format!(
                "the RootDSE names several naming contexts ({}) and {} of them hold user entries: set `base`",
                contexts.join("; "),
                if with_users.is_empty() { "none".to_string() } else { with_users.len().to_string() }
            ))),
        }
    }

    async fn detect_schema(&self, root: &Entry, base: &str) -> Result<(Schema, String), DirError> {
        if self.cfg.schema != Schema::Auto {
            return Ok((self.cfg.schema, "configured".into()));
        }
        if let Some(why) = ad_by_capability(root) {
            return Ok((Schema::Ad, why));
        }
        let accounts = format!("cn=accounts,{base}");
        if self
            .read_entry(&accounts, "(objectClass=*)", &["1.1".to_string()])
            .await
            .ok()
            .flatten()
            .is_some()
        {
            return Ok((
                Schema::Ipa,
                format!("entry {accounts} exists (FreeIPA's layout)"),
            ));
        }
        if !self.exists(base, "(objectClass=posixAccount)").await?
            && self
                .exists(base, "(&(objectClass=user)(sAMAccountName=*))")
                .await?
        {
            return Ok((
                Schema::Ad,
                "user entries with sAMAccountName and no posixAccount entry (AD-shaped)".into(),
            ));
        }
        if let Some(aux) = self
            .subschema(root)
            .await
            .as_ref()
            .and_then(posix_group_auxiliary)
        {
            return Ok(if aux {
                (
                    Schema::Rfc2307bis,
                    "subschema: posixGroup is AUXILIARY (rfc2307bis)".into(),
                )
            } else {
                (
                    Schema::Rfc2307,
                    "subschema: posixGroup is STRUCTURAL (RFC 2307's nis.schema)".into(),
                )
            });
        }
        if self
            .exists(
                base,
                "(&(objectClass=posixGroup)(|(member=*)(uniqueMember=*)))",
            )
            .await?
        {
            return Ok((
                Schema::Rfc2307bis,
                "a posixGroup lists members by DN".into(),
            ));
        }
        Ok((
            Schema::Rfc2307,
            "no AD or FreeIPA sign, and no posixGroup with member DNs".into(),
        ))
    }

    /// The subschema entry's object classes, if the server lets us read them.
    async fn subschema(&self, root: &Entry) -> Option<Entry> {
        let dn = root.first("subschemaSubentry").unwrap_or("cn=Subschema");
        self.read_entry(
            dn,
            "(objectClass=subschema)",
            &["objectClasses".to_string()],
        )
        .await
        .ok()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &str)]) -> Entry {
        let mut e = Entry::default();
        for (k, v) in pairs {
            match e.attrs.iter_mut().find(|(n, _)| n == k) {
                Some((_, vals)) => vals.push(v.to_string()),
                None => e.attrs.push((k.to_string(), vec![v.to_string()])),
            }
        }
        e
    }

    #[test]
    fn active_directory_by_capability() {
        let root = entry(&[
            ("supportedCapabilities", "1.2.840.113556.1.4.1670"),
            ("supportedCapabilities", AD_CAP),
        ]);
        assert!(ad_by_capability(&root)
            .unwrap()
            .contains("Active Directory"));
        let lds = entry(&[("supportedCapabilities", ADAM_CAP)]);
        assert!(ad_by_capability(&lds).unwrap().contains("AD LDS"));
        assert_eq!(
            ad_by_capability(&entry(&[("vendorName", "OpenLDAP")])),
            None
        );
    }

    #[test]
    fn base_from_the_root_dse() {
        let ad = entry(&[
            ("namingContexts", "DC=bars,DC=ad"),
            ("namingContexts", "CN=Configuration,DC=bars,DC=ad"),
            ("defaultNamingContext", "DC=bars,DC=ad"),
        ]);
        assert_eq!(
            base_from_root(&ad),
            Ok((
                "DC=bars,DC=ad".into(),
                "RootDSE defaultNamingContext".into()
            ))
        );
        let one = entry(&[("namingContexts", "dc=example,dc=com")]);
        assert_eq!(base_from_root(&one).unwrap().0, "dc=example,dc=com");
        let two = entry(&[("namingContexts", "dc=a"), ("namingContexts", "dc=b")]);
        assert_eq!(
            base_from_root(&two),
            Err(vec!["dc=a".into(), "dc=b".into()])
        );
        assert_eq!(base_from_root(&entry(&[])), Err(vec![]));
    }

    #[test]
    fn posix_group_kind_from_the_subschema() {
        let nis = entry(&[("objectClasses", "( 1.3.6.1.1.1.2.2 NAME 'posixGroup' DESC 'Abstraction of a group of accounts' SUP top STRUCTURAL MUST ( cn $ gidNumber ) MAY ( userPassword $ memberUid $ description ) )")]);
        assert_eq!(posix_group_auxiliary(&nis), Some(false));
        let bis = entry(&[
            ("objectClasses", "( 1.3.6.1.1.1.2.0 NAME 'posixAccount' SUP top AUXILIARY MUST ( cn $ uid ) )"),
            ("objectClasses", "( 1.3.6.1.1.1.2.2 NAME 'posixGroup' DESC 'Abstraction of a group of accounts' SUP top AUXILIARY MUST gidNumber MAY ( userPassword $ memberUid $ description ) )"),
        ]);
        assert_eq!(posix_group_auxiliary(&bis), Some(true));
        // A class whose name only contains "posixGroup" is not it.
        let other = entry(&[(
            "objectClasses",
            "( 1.2.3 NAME 'posixGroupExtra' AUXILIARY )",
        )]);
        assert_eq!(posix_group_auxiliary(&other), None);
        let aliased = entry(&[(
            "objectClasses",
            "( 1.2.3 NAME ( 'posixGroup' 'pg' ) AUXILIARY )",
        )]);
        assert_eq!(posix_group_auxiliary(&aliased), Some(true));
    }
}
