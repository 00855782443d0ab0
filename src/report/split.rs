//! `--split-by tenant` (issue 15 point 3): a safe folder name per tenant.
//!
//! A tenant's name is the vendor's data: it may hold `/`, `..`, control characters, names that
//! Windows reserves, or differ from another only in case. The folder name keeps letters,
//! digits, `-`, `_` and `.`; anything else becomes `_` (runs collapsed); leading dots, dashes
//! and underscores and trailing dots and underscores go; it is cut to 64 characters; an empty result is
//! `no-tenant`; a Windows device name gets a trailing `_`. When two tenants come out the same
//! (compared without case, as macOS and Windows do), each of them gets `-` and the first 8 hex
//! digits of the SHA-256 of its own name appended, so the folder of a tenant does not depend
//! on the order of the others. The tenant's own name stays inside the files.

use std::collections::{BTreeMap, BTreeSet};

const MAX_CHARS: usize = 64;
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// The folder name of one tenant, before collisions are resolved.
pub fn safe_name(tenant: &str) -> String {
    let mut out = String::new();
    for c in tenant.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
        let c = if keep && !c.is_control() { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out
        .trim_start_matches(['.', '_', '-'])
        .trim_end_matches(['.', '_']);
    let mut name: String = trimmed.chars().take(MAX_CHARS).collect();
    while name.ends_with('.') {
        name.pop();
    }
    if name.is_empty() {
        return "no-tenant".to_owned();
    }
    let stem = name.split('.').next().unwrap_or("").to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        name.push('_');
    }
    name
}

/// The folder of every tenant, collisions disambiguated.
pub fn folders<'a>(tenants: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let tenants: BTreeSet<&str> = tenants.into_iter().collect();
    let mut by_folder: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for t in &tenants {
        by_folder
            .entry(safe_name(t).to_lowercase())
            .or_default()
            .push(t);
    }
    let mut out = BTreeMap::new();
    for t in tenants {
        let base = safe_name(t);
        let clash = by_folder[&base.to_lowercase()].len() > 1;
        let name = if clash {
            let h = super::manifest::sha256_hex(t.as_bytes());
            format!("{base}-{}", &h[..8])
        } else {
            base
        };
        out.insert(t.to_owned(), name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_cannot_escape_or_hide() {
        assert_eq!(safe_name("Acme AB"), "Acme_AB");
        assert_eq!(safe_name("../../etc/passwd"), "etc_passwd");
        assert_eq!(safe_name(".."), "no-tenant");
        assert_eq!(safe_name(""), "no-tenant");
        assert_eq!(safe_name("a\u{0}b\nc\u{1b}[31m"), "a_b_c_31m");
        assert_eq!(safe_name("C:\\Users"), "C_Users");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("-rf"), "rf");
        assert_eq!(safe_name("Kund Åström"), "Kund_Åström");
        assert_eq!(safe_name("CON"), "CON_");
        assert_eq!(safe_name("nul.txt"), "nul.txt_");
        assert_eq!(safe_name(&"x".repeat(300)).chars().count(), 64);
        for s in ["/", "\\", "a/../b", "\t", "~", "*?"] {
            let n = safe_name(s);
            assert!(
                !n.contains(['/', '\\']) && n != "." && n != ".." && !n.is_empty(),
                "{s:?} -> {n:?}"
            );
        }
    }

    #[test]
    fn colliding_tenants_get_distinct_stable_folders() {
        let f = folders(["Acme", "ACME", "acme/", "Beta"]);
        assert_eq!(f["Beta"], "Beta");
        let acme: BTreeSet<String> = ["Acme", "ACME", "acme/"]
            .iter()
            .map(|t| f[*t].to_lowercase())
            .collect();
        assert_eq!(acme.len(), 3, "{f:?}");
        assert!(f["Acme"].starts_with("Acme-"), "{f:?}");
        // A tenant's folder does not depend on which other tenant it collides with.
        let g = folders(["Acme", "ACME"]);
        assert_eq!(g["Acme"], f["Acme"]);
    }
}
