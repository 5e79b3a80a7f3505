//! JSON and TOML documents alike, as trees whose nodes are numbered in
//! pre-order (0 is the root), so one index picks any node to edit.

use proptest::prelude::*;
use proptest::sample::Index;

/// A document value: an array's items and an object's or table's values
/// are its children.
pub trait Tree: Clone {
    fn children(&self) -> Vec<&Self>;
    fn children_mut(&mut self) -> Vec<&mut Self>;
    /// Removes the child `i` picks, if there is one.
    fn remove_child(&mut self, i: &Index);
    /// Adds `value` to an array, or under `key` to an object or table.
    fn add_child(&mut self, key: &str, value: Self);
}

/// The same code for both crates' values, whose map variant alone is named
/// differently.
macro_rules! tree {
    ($value:ty, $map:ident) => {
        impl Tree for $value {
            fn children(&self) -> Vec<&Self> {
                match self {
                    Self::Array(items) => items.iter().collect(),
                    Self::$map(fields) => fields.values().collect(),
                    _ => Vec::new(),
                }
            }

            fn children_mut(&mut self) -> Vec<&mut Self> {
                match self {
                    Self::Array(items) => items.iter_mut().collect(),
                    Self::$map(fields) => fields.iter_mut().map(|(_, v)| v).collect(),
                    _ => Vec::new(),
                }
            }

            fn remove_child(&mut self, i: &Index) {
                match self {
                    Self::$map(fields) if !fields.is_empty() => {
                        let key = fields.keys().nth(i.index(fields.len())).cloned();
                        if let Some(key) = key {
                            fields.remove(&key);
                        }
                    }
                    Self::Array(items) if !items.is_empty() => {
                        items.remove(i.index(items.len()));
                    }
                    _ => {}
                }
            }

            fn add_child(&mut self, key: &str, value: Self) {
                match self {
                    Self::$map(fields) => {
                        fields.insert(key.to_owned(), value);
                    }
                    Self::Array(items) => items.push(value),
                    _ => {}
                }
            }
        }
    };
}

tree!(serde_json::Value, Object);
tree!(toml::Value, Table);

/// One edit of a node of a parsed document.
#[derive(Debug, Clone)]
pub enum NodeEdit<V> {
    /// Swaps a node for a value of (usually) another type.
    Replace(Index, V),
    /// Removes a field or an element.
    Remove(Index),
    /// Adds a field to an object or table, or an element to an array.
    Add(Index, String, V),
}

/// Node edits: replacements, removals, and additions (weighted `add`
/// against 4 and 2) under `keys`.
pub fn node_edit<V: Tree + std::fmt::Debug>(
    values: impl Strategy<Value = V> + Clone + 'static,
    keys: impl Strategy<Value = String> + Clone + 'static,
    add: u32,
) -> impl Strategy<Value = NodeEdit<V>> + Clone {
    prop_oneof![
        4 => (any::<Index>(), values.clone()).prop_map(|(at, v)| NodeEdit::Replace(at, v)),
        2 => any::<Index>().prop_map(NodeEdit::Remove),
        add => (any::<Index>(), keys, values).prop_map(|(at, k, v)| NodeEdit::Add(at, k, v)),
    ]
}

fn count<T: Tree>(node: &T) -> usize {
    1 + node.children().into_iter().map(count).sum::<usize>()
}

/// The `n`-th node in pre-order.
fn nth<T: Tree>(node: &mut T, n: usize) -> Option<&mut T> {
    if n == 0 {
        return Some(node);
    }
    let mut skip = n - 1;
    for child in node.children_mut() {
        let size = count(child);
        if skip < size {
            return nth(child, skip);
        }
        skip -= size;
    }
    None
}

/// Applies `edit` to `doc`; with `keep_root`, the root is never replaced
/// (a TOML document is a table).
pub fn apply_node_edit<T: Tree>(doc: &mut T, edit: &NodeEdit<T>, keep_root: bool) {
    let total = count(doc);
    match edit {
        NodeEdit::Replace(i, with) => {
            let n = i.index(total);
            if (n > 0 || !keep_root)
                && let Some(node) = nth(doc, n)
            {
                *node = with.clone();
            }
        }
        NodeEdit::Remove(i) => {
            if let Some(node) = nth(doc, i.index(total)) {
                node.remove_child(i);
            }
        }
        NodeEdit::Add(i, key, value) => {
            if let Some(node) = nth(doc, i.index(total)) {
                node.add_child(key, value.clone());
            }
        }
    }
}
