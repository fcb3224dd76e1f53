//! A set of node indices as a bitset, and selector evaluation over a label index, so
//! a selector is matched against thousands of nodes with a few word operations.

use std::collections::HashMap;

use crate::selector::Expr;

/// A set of node indices (0..len).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSet {
    words: Vec<u64>,
    len: usize,
}

impl NodeSet {
    /// The empty set over `len` nodes.
    pub fn empty(len: usize) -> Self {
        NodeSet {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Every node of `len`.
    pub fn full(len: usize) -> Self {
        let mut s = NodeSet {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        s.trim();
        s
    }

    fn trim(&mut self) {
        let extra = self.words.len() * 64 - self.len;
        if extra > 0 {
            if let Some(last) = self.words.last_mut() {
                *last &= u64::MAX >> extra;
            }
        }
    }

    /// Adds a node.
    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether a node is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The set's members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + bit)
            })
        })
    }

    /// The number of members.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn union_with(&mut self, other: &NodeSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    fn intersect_with(&mut self, other: &NodeSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    fn complement(mut self) -> Self {
        for w in &mut self.words {
            *w = !*w;
        }
        self.trim();
        self
    }
}

/// For each label key, the nodes having each value (as sorted index lists: most
/// values, such as host names, belong to one node, so bitsets would be wasted).
#[derive(Debug, Default)]
pub(crate) struct LabelIndex {
    len: usize,
    by_key: HashMap<String, HashMap<String, Vec<u32>>>,
}

impl LabelIndex {
    /// Indexes the label maps of nodes `0..len`.
    pub(crate) fn build<'a>(
        len: usize,
        labels: impl Iterator<Item = (usize, &'a std::collections::BTreeMap<String, String>)>,
    ) -> Self {
        let mut by_key: HashMap<String, HashMap<String, Vec<u32>>> = HashMap::new();
        for (i, map) in labels {
            for (k, v) in map {
                let values = match by_key.get_mut(k.as_str()) {
                    Some(values) => values,
                    None => by_key.entry(k.clone()).or_default(),
                };
                match values.get_mut(v.as_str()) {
                    Some(nodes) => nodes.push(i as u32),
                    None => {
                        values.insert(v.clone(), vec![i as u32]);
                    }
                }
            }
        }
        LabelIndex { len, by_key }
    }

    fn values_where(&self, key: &str, pred: impl Fn(&str) -> bool) -> NodeSet {
        let mut out = NodeSet::empty(self.len);
        if let Some(values) = self.by_key.get(key) {
            for (v, nodes) in values {
                if pred(v) {
                    for &i in nodes {
                        out.insert(i as usize);
                    }
                }
            }
        }
        out
    }

    fn exact(&self, key: &str, value: &str) -> NodeSet {
        let mut out = NodeSet::empty(self.len);
        if let Some(nodes) = self.by_key.get(key).and_then(|values| values.get(value)) {
            for &i in nodes {
                out.insert(i as usize);
            }
        }
        out
    }

    /// The nodes the expression matches; the same result as [`Expr::matches`] on
    /// each node's labels.
    pub(crate) fn eval(&self, e: &Expr) -> NodeSet {
        match e {
            Expr::All => NodeSet::full(self.len),
            Expr::Has(k) => self.values_where(k, |_| true),
            Expr::Eq(k, v) => self.exact(k, v),
            Expr::Ne(k, v) => self.exact(k, v).complement(),
            Expr::In(k, set) => self.values_where(k, |v| set.contains(v)),
            Expr::NotIn(k, set) => self.values_where(k, |v| set.contains(v)).complement(),
            Expr::Contains(k, s) => self.values_where(k, |v| v.contains(s.as_str())),
            Expr::StartsWith(k, s) => self.values_where(k, |v| v.starts_with(s.as_str())),
            Expr::EndsWith(k, s) => self.values_where(k, |v| v.ends_with(s.as_str())),
            Expr::Not(e) => self.eval(e).complement(),
            Expr::And(es) => {
                let mut out = NodeSet::full(self.len);
                for e in es {
                    out.intersect_with(&self.eval(e));
                }
                out
            }
            Expr::Or(es) => {
                let mut out = NodeSet::empty(self.len);
                for e in es {
                    out.union_with(&self.eval(e));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::selector::Selector;

    #[test]
    fn bitset_basics() {
        let mut s = NodeSet::empty(130);
        for i in [0, 63, 64, 129] {
            s.insert(i);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 63, 64, 129]);
        assert_eq!(s.count(), 4);
        assert!(!s.contains(1) && !s.contains(500));
        assert_eq!(NodeSet::full(130).count(), 130);
        assert_eq!(s.clone().complement().count(), 126);
    }

    /// The index gives the same answer as evaluating each node's labels.
    #[test]
    fn index_agrees_with_direct_evaluation() {
        let maps: Vec<BTreeMap<String, String>> = (0..70)
            .map(|i| {
                let mut m = BTreeMap::new();
                m.insert("rack".to_string(), format!("r{}", i % 7));
                if i % 3 == 0 {
                    m.insert("rr".to_string(), "true".to_string());
                }
                m
            })
            .collect();
        let index = LabelIndex::build(maps.len(), maps.iter().enumerate());
        for text in [
            "all()",
            "has(rr)",
            "!has(rr)",
            "rack == 'r1'",
            "rack != 'r1'",
            "rack in {'r1', 'r2'}",
            "rack not in {'r1', 'r2'}",
            "rack starts with 'r'",
            "rack ends with '3' || has(rr) && rack contains '4'",
            "!(has(rr) || rack == 'r0')",
            "nothing == 'x'",
        ] {
            let sel = Selector::parse(text).unwrap();
            let got: Vec<usize> = index.eval(sel.expr()).iter().collect();
            let want: Vec<usize> = (0..maps.len()).filter(|&i| sel.matches(&maps[i])).collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
