//! The keytab file: can the daemon read it (path, mode, owner when not), and which principals
//! it holds (MIT's format, version 0x0501/0x0502, as krb5 documents in keytab_file_format),
//! so that a missing principal is reported with the list of those present.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The keytab to read for `configured`: under systemd, the credential named like the file
/// (`LoadCredential=krb5.keytab:/etc/krb5.keytab` gives `$CREDENTIALS_DIRECTORY/krb5.keytab`,
/// readable by the daemon's own user), else the file itself.
pub fn resolve_path(configured: &Path) -> std::path::PathBuf {
    let from_systemd = std::env::var_os("CREDENTIALS_DIRECTORY")
        .zip(configured.file_name())
        .map(|(d, n)| Path::new(&d).join(n))
        // The unit's SetCredential= default is a lone newline: no keytab passed.
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 1));
    from_systemd.unwrap_or_else(|| configured.to_path_buf())
}

/// The keytab's principals (`name/instance@REALM`), each once, in file order.
pub fn principals(path: &Path) -> Result<Vec<String>, String> {
    let mut f = std::fs::File::open(path).map_err(|e| unreadable(path, &e))?;
    let mut buf = Vec::new();
    // A keytab is a few kilobytes; 1 MiB bounds a wrong path pointing at a large file.
    f.by_ref()
        .take(1 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| unreadable(path, &e))?;
    parse(&buf).map_err(|e| format!("keytab {}: {e}", path.display()))
}

/// "keytab PATH unreadable by uid N: ERROR (mode, owner)" with the fix.
fn unreadable(path: &Path, e: &std::io::Error) -> String {
    // SAFETY: geteuid(2) has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let meta = match std::fs::metadata(path) {
        Ok(m) => format!(
            " (mode {:04o}, owner uid {} gid {})",
            m.mode() & 0o7777,
            m.uid(),
            m.gid()
        ),
        Err(_) => String::new(),
    };
    format!(
        "keytab {} cannot be read by ldaprsd (uid {uid}): {e}{meta}; under systemd pass it with LoadCredential={}:{} in the unit (the credential is used in its place), or set [servers.sasl] keytab to a keytab this user may read",
        path.display(),
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path.display()
    )
}

struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.b.len() < n {
            return Err("truncated entry".into());
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let s: [u8; 2] = self.take(2)?.try_into().map_err(|_| "truncated entry")?;
        Ok(u16::from_be_bytes(s))
    }
    fn i32(&mut self) -> Result<i32, String> {
        let s: [u8; 4] = self.take(4)?.try_into().map_err(|_| "truncated entry")?;
        Ok(i32::from_be_bytes(s))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

/// The principals of a keytab's bytes.
pub fn parse(b: &[u8]) -> Result<Vec<String>, String> {
    let v2 = match b.get(..2) {
        Some([5, 2]) => true,
        Some([5, 1]) => false,
        _ => return Err("not a keytab (no 0x0502 or 0x0501 header)".into()),
    };
    let mut c = Cursor {
        b: b.get(2..).unwrap_or_default(),
    };
    let mut out: Vec<String> = Vec::new();
    while !c.b.is_empty() {
        let size = c.i32()?;
        let len = usize::try_from(size.unsigned_abs()).map_err(|_| "bad entry size")?;
        let body = c.take(len)?;
        if size <= 0 {
            continue; // a hole left by a removed entry
        }
        let mut e = Cursor { b: body };
        let mut n = e.u16()?;
        if !v2 {
            n = n.saturating_sub(1); // v1 counted the realm among the components
        }
        let realm = e.string()?;
        let comps = (0..n).map(|_| e.string()).collect::<Result<Vec<_>, _>>()?;
        let p = format!("{}@{realm}", comps.join("/"));
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The principal to use: `wanted` if the keytab has it (a name without realm matches any
/// realm, or `realm`), else `host/<fqdn>` (of `realm` when set). The error lists what is there.
pub fn choose(
    list: &[String],
    wanted: Option<&str>,
    realm: Option<&str>,
    fqdn: &str,
    path: &Path,
) -> Result<String, String> {
    let matches = |p: &&String, name: &str| -> bool {
        match name.split_once('@') {
            Some(_) => p.as_str() == name,
            None => p
                .split_once('@')
                .is_some_and(|(n, r)| n == name && realm.is_none_or(|want| want == r)),
        }
    };
    let name = wanted
        .map(str::to_string)
        .unwrap_or_else(|| format!("host/{fqdn}"));
    if let Some(p) = list.iter().find(|p| matches(p, &name)) {
        return Ok(p.clone());
    }
    // A short host name (no dot): the keytab's host/<name>.<domain> entry.
    if wanted.is_none() && !fqdn.contains('.') {
        let prefix = format!("host/{fqdn}.");
        let of_realm = |p: &&String| realm.is_none_or(|r| p.ends_with(&format!("@{r}")));
        if let Some(p) = list
            .iter()
            .filter(of_realm)
            .find(|p| p.starts_with(&prefix))
        {
            return Ok(p.clone());
        }
    }
    let shown = if list.is_empty() {
        "it holds no key".to_string()
    } else {
        format!("it holds {}", list.join(", "))
    };
    let key = if wanted.is_some() {
        "[servers.sasl] principal"
    } else {
        "the default host/<fqdn> (set [servers.sasl] principal to one of these)"
    };
    let of_realm = realm.map(|r| format!(" in realm {r}")).unwrap_or_default();
    Err(format!(
        "principal {name}{of_realm} ({key}) is not in keytab {}: {shown}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(realm: &str, comps: &[&str]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend((comps.len() as u16).to_be_bytes());
        for s in std::iter::once(&realm).chain(comps) {
            e.extend((s.len() as u16).to_be_bytes());
            e.extend(s.as_bytes());
        }
        e.extend(1u32.to_be_bytes()); // name type
        e.extend(0u32.to_be_bytes()); // timestamp
        e.push(2); // vno8
        e.extend(18u16.to_be_bytes()); // enctype
        e.extend(32u16.to_be_bytes());
        e.extend([7u8; 32]);
        let mut out = (e.len() as i32).to_be_bytes().to_vec();
        out.extend(e);
        out
    }

    #[test]
    fn lists_principals_skipping_holes() {
        let mut kt = vec![5, 2];
        kt.extend(entry("EXAMPLE.COM", &["host", "h.example.com"]));
        kt.extend((-8i32).to_be_bytes());
        kt.extend([0u8; 8]);
        kt.extend(entry("EXAMPLE.COM", &["host", "h.example.com"]));
        kt.extend(entry("OTHER", &["nfs", "h.example.com"]));
        let l = parse(&kt).unwrap();
        assert_eq!(
            l,
            ["host/h.example.com@EXAMPLE.COM", "nfs/h.example.com@OTHER"]
        );
        assert!(parse(&kt[..kt.len() - 3]).is_err());
        assert!(parse(b"\x05\x03").is_err());
    }

    #[test]
    fn chooses_the_host_principal_or_says_what_is_there() {
        let l = vec![
            "nfs/h.example.com@EXAMPLE.COM".to_string(),
            "host/h.example.com@EXAMPLE.COM".to_string(),
        ];
        let p = Path::new("/etc/krb5.keytab");
        assert_eq!(
            choose(&l, None, None, "h.example.com", p).unwrap(),
            "host/h.example.com@EXAMPLE.COM"
        );
        assert_eq!(
            choose(&l, Some("nfs/h.example.com"), None, "x", p).unwrap(),
            "nfs/h.example.com@EXAMPLE.COM"
        );
        let e = choose(&l, None, Some("OTHER.ORG"), "h.example.com", p).unwrap_err();
        assert!(e.contains("host/h.example.com in realm OTHER.ORG"), "{e}");
        assert!(
            e.contains("it holds nfs/h.example.com@EXAMPLE.COM, host/h.example.com@EXAMPLE.COM"),
            "{e}"
        );
        assert_eq!(
            choose(&l, None, None, "h", p).unwrap(),
            "host/h.example.com@EXAMPLE.COM"
        );
        let e = choose(&l, Some("ldaprs@EXAMPLE.COM"), None, "h", p).unwrap_err();
        assert!(e.contains("[servers.sasl] principal"), "{e}");
    }

    #[test]
    fn unreadable_keytab_names_mode_and_owner() {
        let e = principals(Path::new("/nonexistent/krb5.keytab")).unwrap_err();
        assert!(e.contains("/nonexistent/krb5.keytab cannot be read"), "{e}");
        assert!(
            e.contains("LoadCredential=krb5.keytab:/nonexistent/krb5.keytab"),
            "{e}"
        );
    }
}
