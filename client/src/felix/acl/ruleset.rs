//! The compiled nftables table as data, and its text for `nft -f -`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ipnetwork::IpNetwork;

/// Where a chain is rendered: chains may only name chains and maps that
/// come before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Policy and profile chains.
    Policy,
    /// Per-endpoint tier chains.
    Tier,
    /// Per-endpoint chains (named by the dispatch maps).
    Endpoint,
    /// Dispatch chains (use the maps).
    Dispatch,
    /// Base chains, attached to a hook.
    Base,
}

/// One chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Its name.
    pub name: String,
    /// Where it is rendered.
    pub stage: Stage,
    /// For a base chain, its hook (`forward`, `input`, `output`).
    pub hook: Option<&'static str>,
    /// Its rules, as nft rule text.
    pub rules: Vec<String>,
}

/// A named set of addresses (a selector's endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSet {
    /// Its name.
    pub name: String,
    /// IPv6 (`ipv6_addr`) rather than IPv4.
    pub ipv6: bool,
    /// Its networks, without overlaps.
    pub elements: Vec<IpNetwork>,
    /// What it holds (the selector), as a comment.
    pub comment: String,
}

/// A named verdict map from interface names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceMap {
    /// Its name.
    pub name: String,
    /// Interface name -> verdict (`goto fw-cali1`).
    pub elements: Vec<(String, String)>,
}

/// The whole table Reflex owns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ruleset {
    /// The table's name (family `inet`).
    pub table: String,
    /// Address sets.
    pub sets: Vec<AddressSet>,
    /// Dispatch maps.
    pub maps: Vec<InterfaceMap>,
    /// Chains, in rendering order within each stage.
    pub chains: Vec<Chain>,
    /// How many local endpoints it polices; 0 means the table should not exist.
    pub endpoints: usize,
    /// What could not be compiled (rules left out, unknown profiles).
    pub warnings: Vec<String>,
}

impl Ruleset {
    /// The chain called `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// The set called `name`.
    pub fn set(&self, name: &str) -> Option<&AddressSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    /// The number of rules in every chain.
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// The table's definition alone (`table inet NAME { ... }`).
    pub fn definition(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "table inet {} {{", self.table);
        for set in &self.sets {
            let _ = writeln!(out, "\tset {} {{", set.name);
            let _ = writeln!(
                out,
                "\t\ttype {}; flags interval; auto-merge;",
                if set.ipv6 { "ipv6_addr" } else { "ipv4_addr" }
            );
            let _ = writeln!(out, "\t\tcomment {};", quote(&set.comment));
            if !set.elements.is_empty() {
                let _ = writeln!(out, "\t\telements = {{ {} }}", join(&set.elements));
            }
            out.push_str("\t}\n");
        }
        let mut stages: Vec<&Chain> = self.chains.iter().collect();
        stages.sort_by_key(|c| c.stage);
        let mut maps_done = false;
        for chain in stages {
            if chain.stage >= Stage::Dispatch && !maps_done {
                maps_done = true;
                self.render_maps(&mut out);
            }
            let _ = writeln!(out, "\tchain {} {{", chain.name);
            if let Some(hook) = chain.hook {
                let _ = writeln!(
                    out,
                    "\t\ttype filter hook {hook} priority filter; policy accept;"
                );
            }
            for rule in &chain.rules {
                let _ = writeln!(out, "\t\t{rule}");
            }
            out.push_str("\t}\n");
        }
        if !maps_done {
            self.render_maps(&mut out);
        }
        out.push_str("}\n");
        out
    }

    fn render_maps(&self, out: &mut String) {
        for map in &self.maps {
            let _ = writeln!(out, "\tmap {} {{", map.name);
            out.push_str("\t\ttype ifname : verdict;\n");
            if !map.elements.is_empty() {
                let elements: Vec<String> = map
                    .elements
                    .iter()
                    .map(|(k, v)| format!("{} : {v}", quote(k)))
                    .collect();
                let _ = writeln!(out, "\t\telements = {{ {} }}", elements.join(", "));
            }
            out.push_str("\t}\n");
        }
    }

    /// The script that replaces the table in one transaction: create it
    /// empty if absent, delete it, define it again. `nft -f` commits the
    /// whole file atomically, so packets see the old table or the new one.
    pub fn script(&self) -> String {
        format!(
            "table inet {0} {{}}\ndelete table inet {0}\n{1}",
            self.table,
            self.definition()
        )
    }
}

impl Ruleset {
    /// The transaction that turns the table `old` (as applied) into this
    /// one, touching only what differs: new sets and chains are added,
    /// changed sets and maps are flushed and refilled, changed chains
    /// flushed and refilled, and what is gone deleted last (after every
    /// reference to it is). `None` when only a full replace fits (another
    /// table, or a base chain's hook changed). Also returns the blocks
    /// (`chain X`, `set X`, `map X`) it changed, and those it deleted.
    pub fn update_script(&self, old: &Ruleset) -> Option<Update> {
        if self.table != old.table {
            return None;
        }
        let t = format!("inet {}", self.table);
        let mut out = String::new();
        let mut changed = Vec::new();
        let mut deleted = Vec::new();
        let old_sets: BTreeMap<&str, &AddressSet> =
            old.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        let new_sets: BTreeMap<&str, &AddressSet> =
            self.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        for set in &self.sets {
            match old_sets.get(set.name.as_str()) {
                None => {
                    let _ = writeln!(
                        out,
                        "add set {t} {} {{ type {}; flags interval; auto-merge; comment {}; }}",
                        set.name,
                        if set.ipv6 { "ipv6_addr" } else { "ipv4_addr" },
                        quote(&set.comment)
                    );
                }
                Some(o) if o.elements != set.elements || o.ipv6 != set.ipv6 => {
                    if o.ipv6 != set.ipv6 {
                        return None;
                    }
                    let _ = writeln!(out, "flush set {t} {}", set.name);
                }
                Some(_) => continue,
            }
            if !set.elements.is_empty() {
                let _ = writeln!(
                    out,
                    "add element {t} {} {{ {} }}",
                    set.name,
                    join(&set.elements)
                );
            }
            changed.push(format!("set {}", set.name));
        }
        let old_chains: BTreeMap<&str, &Chain> =
            old.chains.iter().map(|c| (c.name.as_str(), c)).collect();
        let new_chains: BTreeMap<&str, &Chain> =
            self.chains.iter().map(|c| (c.name.as_str(), c)).collect();
        for chain in &self.chains {
            match old_chains.get(chain.name.as_str()) {
                Some(o) if o.hook != chain.hook => return None,
                Some(_) => {}
                None if chain.hook.is_some() => return None,
                None => {
                    let _ = writeln!(out, "add chain {t} {}", chain.name);
                }
            }
        }
        let mut stages: Vec<&Chain> = self.chains.iter().collect();
        stages.sort_by_key(|c| c.stage);
        let mut maps_done = false;
        for chain in stages {
            if chain.stage >= Stage::Dispatch && !maps_done {
                maps_done = true;
                self.update_maps(old, &t, &mut out, &mut changed);
            }
            match old_chains.get(chain.name.as_str()) {
                Some(o) if o.rules == chain.rules => continue,
                Some(_) => {
                    let _ = writeln!(out, "flush chain {t} {}", chain.name);
                }
                None => {}
            }
            for rule in &chain.rules {
                let _ = writeln!(out, "add rule {t} {} {rule}", chain.name);
            }
            changed.push(format!("chain {}", chain.name));
        }
        if !maps_done {
            self.update_maps(old, &t, &mut out, &mut changed);
        }
        let gone: Vec<&Chain> = old
            .chains
            .iter()
            .filter(|c| !new_chains.contains_key(c.name.as_str()))
            .collect();
        if gone.iter().any(|c| c.hook.is_some()) {
            return None;
        }
        for chain in &gone {
            let _ = writeln!(out, "flush chain {t} {}", chain.name);
        }
        for chain in &gone {
            let _ = writeln!(out, "delete chain {t} {}", chain.name);
            deleted.push(format!("chain {}", chain.name));
        }
        for set in old
            .sets
            .iter()
            .filter(|s| !new_sets.contains_key(s.name.as_str()))
        {
            let _ = writeln!(out, "delete set {t} {}", set.name);
            deleted.push(format!("set {}", set.name));
        }
        if old
            .maps
            .iter()
            .map(|m| &m.name)
            .ne(self.maps.iter().map(|m| &m.name))
        {
            return None;
        }
        Some(Update {
            script: out,
            changed,
            deleted,
        })
    }

    fn update_maps(&self, old: &Ruleset, t: &str, out: &mut String, changed: &mut Vec<String>) {
        for map in &self.maps {
            if old.maps.iter().any(|o| o == map) {
                continue;
            }
            let _ = writeln!(out, "flush map {t} {}", map.name);
            if !map.elements.is_empty() {
                let elements: Vec<String> = map
                    .elements
                    .iter()
                    .map(|(k, v)| format!("{} : {v}", quote(k)))
                    .collect();
                let _ = writeln!(
                    out,
                    "add element {t} {} {{ {} }}",
                    map.name,
                    elements.join(", ")
                );
            }
            changed.push(format!("map {}", map.name));
        }
    }
}

/// An incremental change of the table: see [`Ruleset::update_script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The `nft -f` script (one transaction).
    pub script: String,
    /// The blocks it adds or changes (`chain X`, `set X`, `map X`).
    pub changed: Vec<String>,
    /// The blocks it deletes.
    pub deleted: Vec<String>,
}

/// Split a listing (`nft list table|chain|set|map`, one or several) into
/// its blocks: `"chain X"` -> the block's lines, from its opening line
/// to its closing brace.
pub fn listing_blocks(listing: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in listing.lines() {
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line == "\t}" {
                if let Some((key, text)) = current.take() {
                    out.insert(key, text);
                }
            }
            continue;
        }
        let is_block = line.starts_with('\t') && !line.starts_with("\t\t") && line.ends_with(" {");
        if is_block {
            let key = line.trim().trim_end_matches(" {").to_string();
            current = Some((key, format!("{line}\n")));
        }
    }
    out
}

fn join(nets: &[IpNetwork]) -> String {
    nets.iter().map(net_text).collect::<Vec<_>>().join(", ")
}

/// `10.0.0.1` for a host network, `10.0.0.0/8` otherwise.
pub fn net_text(net: &IpNetwork) -> String {
    let host = match net {
        IpNetwork::V4(_) => 32,
        IpNetwork::V6(_) => 128,
    };
    if net.prefix() == host {
        net.ip().to_string()
    } else {
        net.to_string()
    }
}

/// A string literal for nft: double quotes, with `"` and `\` (which nft
/// strings cannot hold) replaced, at most 127 bytes.
pub fn quote(text: &str) -> String {
    let mut clean: String = text
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    while clean.len() > 127 {
        clean.pop();
    }
    format!("\"{clean}\"")
}
