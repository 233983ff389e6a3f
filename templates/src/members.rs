//! A message's fields and oneofs in field-number order (a oneof where its
//! lowest-numbered member is), each with the index that the JSON and text
//! readers use to catch a field given twice: the walk the format emitters
//! share.

use crate::model::{Field, Message, Oneof};

/// A field or a oneof of a message.
pub enum Member<'a> {
    /// A field outside oneofs, with its index.
    Field(&'a Field, u32),
    /// A oneof, with its index (after the fields').
    Oneof(&'a Oneof, u32),
}

/// The members of `message` in field-number order.
pub fn in_number_order(message: &Message) -> Vec<Member<'_>> {
    let mut items: Vec<(u32, Member<'_>)> = Vec::new();
    for (i, f) in message.fields.iter().enumerate() {
        items.push((f.number, Member::Field(f, i as u32)));
    }
    let base = message.fields.len() as u32;
    for (i, o) in message.oneofs.iter().enumerate() {
        let first = o.variants.iter().map(|v| v.number).min().unwrap_or(0);
        items.push((first, Member::Oneof(o, base + i as u32)));
    }
    items.sort_by_key(|(n, _)| *n);
    items.into_iter().map(|(_, m)| m).collect()
}

/// Names that read as a field: each name goes to the first field that
/// claims it (a later field with the same name would be an unreachable
/// match arm).
#[derive(Default)]
pub struct Names(std::collections::HashSet<String>);

impl Names {
    /// The names among `names` not claimed yet, now claimed.
    pub fn claim<'n>(&mut self, names: &[&'n str]) -> Vec<&'n str> {
        names
            .iter()
            .copied()
            .filter(|n| self.0.insert((*n).to_owned()))
            .collect()
    }
}
