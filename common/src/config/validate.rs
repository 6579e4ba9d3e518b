//! The semantic checks of a parsed config: values that parse but make no sense. Each step
//! checks one table; the first mistake found is the one reported, in this order: the file as
//! a whole, `[daemon]`, `[pam]`, then the group, reset and mapping keys of every server block,
//! then the connection keys of every server block.

use super::errors::{semantic, ConfigError};
use super::sections::{Config, ACCESS_FILTER_VARS};
use super::validate_extras::validate_server_extras;
use super::validate_server::validate_server;

pub(super) fn validate(path: &str, src: &str, cfg: &Config) -> Result<(), ConfigError> {
    check_has_servers(path, cfg)?;
    check_daemon(path, src, cfg)?;
    check_access_filter(path, src, cfg)?;
    check_primary_gids(path, src, cfg)?;
    super::offline::check_offline(path, src, &cfg.offline)?;
    for (i, s) in cfg.servers.iter().enumerate() {
        validate_server_extras(path, src, i, s)?;
        super::validate_sasl::check_sasl(path, src, i, s)?;
    }
    for (i, s) in cfg.servers.iter().enumerate() {
        validate_server(path, src, &cfg.servers, i, s)?;
    }
    Ok(())
}

fn check_has_servers(path: &str, cfg: &Config) -> Result<(), ConfigError> {
    if cfg.servers.is_empty() {
        return Err(ConfigError {
            path: path.into(),
            line: None,
            key: Some("servers".into()),
            message: "no [[servers]] block: there is no directory to ask".into(),
            hint: Some("add a [[servers]] block with name, uri and base".into()),
        });
    }
    Ok(())
}

fn check_daemon(path: &str, src: &str, cfg: &Config) -> Result<(), ConfigError> {
    if !cfg.daemon.socket.starts_with('/') {
        return Err(semantic(
            path,
            src,
            None,
            Some("daemon"),
            "socket",
            "must be an absolute path".into(),
            None,
        ));
    }
    Ok(())
}

fn check_access_filter(path: &str, src: &str, cfg: &Config) -> Result<(), ConfigError> {
    if let Some(f) = &cfg.pam.access_filter {
        let bad = |m: String| semantic(path, src, None, Some("pam"), "access_filter", m, None);
        crate::filter::check_template(f, ACCESS_FILTER_VARS).map_err(bad)?;
        let sample: Vec<(&str, &str)> = ACCESS_FILTER_VARS.iter().map(|v| (*v, "x")).collect();
        let filled = crate::filter::fill_template(f, &sample).map_err(bad)?;
        crate::filter::check_syntax(&filled).map_err(bad)?;
    }
    Ok(())
}

fn check_primary_gids(path: &str, src: &str, cfg: &Config) -> Result<(), ConfigError> {
    if cfg.nss.allow_primary_gids.contains(&0) {
        return Err(semantic(
            path,
            src,
            None,
            Some("nss"),
            "allow_primary_gids",
            "gid 0 is never served: an LDAP user with primary group root would get root's group"
                .into(),
            Some("remove 0 from the list"),
        ));
    }
    Ok(())
}
