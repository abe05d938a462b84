//! Posting lists: by skill id or ISCO minor group, the `u32` entries of the slots
//! that hold or ask for it (a worker's `slot << 8 | skill attributes`, a vacancy's
//! `slot << 8 | PREFERRED_BIT | min_level`, the bare slot for a minor group), in no
//! particular order.

/// ISCO minor groups are 3-digit numbers.
pub(super) const MINOR_GROUPS: usize = 1000;
/// Bit of a vacancy posting entry for a preferred (not required) skill; the low 3 bits
/// hold the required level.
pub(super) const PREFERRED_BIT: u32 = 0x80;

/// Removes the entry of `slot` from a posting list (order does not matter).
pub(super) fn remove_posting(list: &mut Vec<u32>, slot: u32, shift: u32) {
    if let Some(position) = list.iter().position(|entry| entry >> shift == slot) {
        list.swap_remove(position);
    }
}

pub(super) fn posting_list(lists: &mut Vec<Vec<u32>>, key: usize) -> &mut Vec<u32> {
    if lists.len() <= key {
        lists.resize_with(key + 1, Vec::new);
    }
    &mut lists[key]
}

/// Heap bytes of a table of posting lists, counted from capacities.
pub(super) fn heap_bytes(lists: &Vec<Vec<u32>>) -> usize {
    lists.capacity() * size_of::<Vec<u32>>()
        + lists.iter().map(|list| list.capacity() * 4).sum::<usize>()
}
