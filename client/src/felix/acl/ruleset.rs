//! The compiled nftables table as data, and its text for `nft -f -`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use ipnetwork::IpNetwork;

/// FNV-1a as a `Hasher`: chain and set names are short and not chosen by
/// an attacker (they come from our own compile), so the maps of one diff
/// need no SipHash.
#[derive(Debug, Clone, Copy)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` hashed with [`FnvHasher`].
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

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
    /// For a base chain, its hook (`prerouting`, `postrouting`).
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
    /// Chains, in rendering order within each stage (shared between
    /// compiles when unchanged: see `ChainCache`).
    pub chains: Vec<Arc<Chain>>,
    /// How many local endpoints it polices; 0 means the table should not exist.
    pub endpoints: usize,
    /// What could not be compiled (rules left out, unknown profiles).
    pub warnings: Vec<String>,
}

impl Ruleset {
    /// The chain called `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name).map(|c| &**c)
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
        let mut stages: Vec<&Chain> = self.chains.iter().map(|c| &**c).collect();
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
    /// table, or a base chain's hook changed). The [`Update`] also names
    /// the blocks (`chain X`, `set X`, `map X`) it changes and deletes.
    pub fn update_script(&self, old: &Ruleset) -> Option<Update> {
        if self.table != old.table {
            return None;
        }
        let mut ops = Vec::new();
        let mut changed = Vec::new();
        let mut deleted = Vec::new();
        let old_sets: FnvMap<&str, &AddressSet> =
            old.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        let new_sets: FnvMap<&str, &AddressSet> =
            self.sets.iter().map(|s| (s.name.as_str(), s)).collect();
        for set in &self.sets {
            match old_sets.get(set.name.as_str()) {
                None => ops.push(Op::AddSet(set.clone())),
                Some(o) if o.elements != set.elements || o.ipv6 != set.ipv6 => {
                    if o.ipv6 != set.ipv6 {
                        return None;
                    }
                    ops.push(Op::FlushSet(set.name.clone()));
                }
                Some(_) => continue,
            }
            if !set.elements.is_empty() {
                ops.push(Op::AddSetElements(set.clone()));
            }
            changed.push(format!("set {}", set.name));
        }
        // Each chain's old self. The compiler keeps the order of chains,
        // so usually every chain is where it was (shared, or the same
        // name): then no name is hashed and none went.
        let aligned = old.chains.len() == self.chains.len()
            && old
                .chains
                .iter()
                .zip(&self.chains)
                .all(|(o, n)| Arc::ptr_eq(o, n) || o.name == n.name);
        let mut gone: Vec<&Arc<Chain>> = Vec::new();
        let old_of: Vec<Option<&Arc<Chain>>> = if aligned {
            old.chains.iter().map(Some).collect()
        } else {
            let old_chains: FnvMap<&str, &Arc<Chain>> =
                old.chains.iter().map(|c| (c.name.as_str(), c)).collect();
            let new_chains: FnvMap<&str, &Arc<Chain>> =
                self.chains.iter().map(|c| (c.name.as_str(), c)).collect();
            gone = old
                .chains
                .iter()
                .filter(|c| !new_chains.contains_key(c.name.as_str()))
                .collect();
            self.chains
                .iter()
                .map(|c| old_chains.get(c.name.as_str()).copied())
                .collect()
        };
        for (chain, old_chain) in self.chains.iter().zip(&old_of) {
            match old_chain {
                Some(o) if Arc::ptr_eq(o, chain) => {}
                Some(o) if o.hook != chain.hook => return None,
                Some(_) => {}
                None if chain.hook.is_some() => return None,
                None => ops.push(Op::AddChain(chain.name.clone())),
            }
        }
        let mut stages: Vec<(&Arc<Chain>, Option<&Arc<Chain>>)> =
            self.chains.iter().zip(old_of).collect();
        stages.sort_by_key(|(c, _)| c.stage);
        let mut maps_done = false;
        for (chain, old_chain) in stages {
            if chain.stage >= Stage::Dispatch && !maps_done {
                maps_done = true;
                self.update_maps(old, &mut ops, &mut changed);
            }
            match old_chain {
                Some(o) if Arc::ptr_eq(o, chain) || o.rules == chain.rules => continue,
                Some(_) => ops.push(Op::FlushChain(chain.name.clone())),
                None => {}
            }
            ops.push(Op::AddRules(chain.name.clone(), chain.rules.clone()));
            changed.push(format!("chain {}", chain.name));
        }
        if !maps_done {
            self.update_maps(old, &mut ops, &mut changed);
        }
        if gone.iter().any(|c| c.hook.is_some()) {
            return None;
        }
        for chain in &gone {
            ops.push(Op::FlushChain(chain.name.clone()));
        }
        for chain in &gone {
            ops.push(Op::DeleteChain(chain.name.clone()));
            deleted.push(format!("chain {}", chain.name));
        }
        for set in old
            .sets
            .iter()
            .filter(|s| !new_sets.contains_key(s.name.as_str()))
        {
            ops.push(Op::DeleteSet(set.name.clone()));
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
            table: self.table.clone(),
            ops,
            changed,
            deleted,
        })
    }

    fn update_maps(&self, old: &Ruleset, ops: &mut Vec<Op>, changed: &mut Vec<String>) {
        for map in &self.maps {
            if old.maps.iter().any(|o| o == map) {
                continue;
            }
            ops.push(Op::FlushMap(map.name.clone()));
            if !map.elements.is_empty() {
                ops.push(Op::AddMapElements(map.clone()));
            }
            changed.push(format!("map {}", map.name));
        }
    }
}

/// One step of an incremental change of the table, in the order it must
/// be applied (see [`Ruleset::update_script`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create an empty named address set.
    AddSet(AddressSet),
    /// Remove every element of a set.
    FlushSet(String),
    /// Add the set's elements (it is empty, or was flushed before).
    AddSetElements(AddressSet),
    /// Create an empty chain.
    AddChain(String),
    /// Remove every rule of a chain.
    FlushChain(String),
    /// Append rules (nft rule text) to a chain.
    AddRules(String, Vec<String>),
    /// Remove every element of a dispatch map.
    FlushMap(String),
    /// Add the map's elements (it was flushed before).
    AddMapElements(InterfaceMap),
    /// Delete an empty chain that nothing names any more.
    DeleteChain(String),
    /// Delete a set that no rule names any more.
    DeleteSet(String),
}

/// An incremental change of the table: see [`Ruleset::update_script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The table (family `inet`).
    pub table: String,
    /// What to do, in order: one transaction.
    pub ops: Vec<Op>,
    /// The blocks it adds or changes (`chain X`, `set X`, `map X`).
    pub changed: Vec<String>,
    /// The blocks it deletes.
    pub deleted: Vec<String>,
}

impl Update {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The `nft -f` script of the change (one transaction).
    pub fn script(&self) -> String {
        let t = format!("inet {}", self.table);
        let mut out = String::new();
        for op in &self.ops {
            let _ = match op {
                Op::AddSet(set) => writeln!(
                    out,
                    "add set {t} {} {{ type {}; flags interval; auto-merge; comment {}; }}",
                    set.name,
                    if set.ipv6 { "ipv6_addr" } else { "ipv4_addr" },
                    quote(&set.comment)
                ),
                Op::FlushSet(name) => writeln!(out, "flush set {t} {name}"),
                Op::AddSetElements(set) => writeln!(
                    out,
                    "add element {t} {} {{ {} }}",
                    set.name,
                    join(&set.elements)
                ),
                Op::AddChain(name) => writeln!(out, "add chain {t} {name}"),
                Op::FlushChain(name) => writeln!(out, "flush chain {t} {name}"),
                Op::AddRules(chain, rules) => {
                    for rule in rules {
                        let _ = writeln!(out, "add rule {t} {chain} {rule}");
                    }
                    Ok(())
                }
                Op::FlushMap(name) => writeln!(out, "flush map {t} {name}"),
                Op::AddMapElements(map) => {
                    let elements: Vec<String> = map
                        .elements
                        .iter()
                        .map(|(k, v)| format!("{} : {v}", quote(k)))
                        .collect();
                    writeln!(
                        out,
                        "add element {t} {} {{ {} }}",
                        map.name,
                        elements.join(", ")
                    )
                }
                Op::DeleteChain(name) => writeln!(out, "delete chain {t} {name}"),
                Op::DeleteSet(name) => writeln!(out, "delete set {t} {name}"),
            };
        }
        out
    }
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
