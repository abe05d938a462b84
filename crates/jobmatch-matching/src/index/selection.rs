//! Selection of the best `limit` among the slots generation met: the pooled
//! per-query [`Scratch`] (a bitset of slots met and their partial bounds), the
//! bounded list [`TopK`], and [`select`], which visits slots from the best bound down
//! and stops where no slot left can enter the list.

use crate::score::Raw;

/// Buckets of upper bounds for the selection order.
const BUCKETS: usize = 1024;

/// Per-query working memory, pooled so that a query never allocates or clears a
/// million-entry array: a bitset of the slots met so far (128 KiB for a million
/// slots, so it stays in cache) and beside it each met slot's partial bound (only
/// meaningful where the bit is set, so never cleared).
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) values: Vec<f32>,
    pub(super) touched: Vec<u64>,
    /// During a second round: the slots of the first, to leave out.
    pub(super) first_round: Vec<u64>,
    /// Touched slots with their score bounds, then the same sorted by bucket.
    pub(super) bounded: Vec<(u32, f32)>,
    pub(super) order: Vec<(u32, f32)>,
    pub(super) bucket_starts: Vec<u32>,
    /// By vacancy slot: required skills a worker holds at level, while counting
    /// congestion (left all 0 after each count).
    pub(super) requirement_counts: Vec<u8>,
    /// The vacancy slots `requirement_counts` touched.
    pub(super) counted: Vec<u32>,
}

impl Scratch {
    pub(super) fn begin(&mut self, slots: usize) {
        if self.values.len() < slots {
            self.values.resize(slots, 0.0);
        }
        let words = slots.div_ceil(64);
        self.touched.clear();
        self.touched.resize(words, 0);
        self.first_round.clear();
    }

    /// Starts a second round that only collects slots the first did not touch.
    pub(super) fn begin_related_only(&mut self) {
        std::mem::swap(&mut self.touched, &mut self.first_round);
        let words = self.first_round.len();
        self.touched.clear();
        self.touched.resize(words, 0);
    }

    #[inline]
    pub(super) fn add(&mut self, slot: u32, bound: f32) {
        let (word, bit) = ((slot >> 6) as usize, 1u64 << (slot & 63));
        if self.touched[word] & bit != 0 {
            self.values[slot as usize] += bound;
        } else {
            self.touched[word] |= bit;
            self.values[slot as usize] = bound;
        }
    }

    /// [`Scratch::add`] unless the first round touched the slot.
    #[inline]
    pub(super) fn add_new(&mut self, slot: u32, bound: f32) {
        if self.first_round[(slot >> 6) as usize] & (1u64 << (slot & 63)) == 0 {
            self.add(slot, bound);
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.values.capacity() * 4
            + (self.touched.capacity() + self.first_round.capacity()) * 8
            + self.bucket_starts.capacity() * 4
            + (self.bounded.capacity() + self.order.capacity()) * 8
            + self.requirement_counts.capacity()
            + self.counted.capacity() * 4
    }
}

/// A scored candidate.
pub(super) struct Hit {
    pub(super) slot: u32,
    pub(super) group: u32,
    pub(super) raw: Raw,
}

/// The best `limit` hits, best first, at most `per_group` of one group (0: no cap).
pub(super) struct TopK {
    pub(super) limit: usize,
    pub(super) per_group: usize,
    pub(super) hits: Vec<Hit>,
}

impl TopK {
    /// The score a new hit must reach to enter (ties decided by id), if full.
    pub(super) fn threshold(&self) -> Option<f64> {
        (self.hits.len() >= self.limit).then(|| self.hits[self.hits.len() - 1].raw.score)
    }

    pub(super) fn offer(&mut self, hit: Hit, before: impl Fn(&Hit, &Hit) -> bool) {
        if self.per_group > 0 {
            let same: Vec<usize> = (0..self.hits.len())
                .filter(|&i| self.hits[i].group == hit.group)
                .collect();
            if same.len() >= self.per_group {
                let worst = same[same.len() - 1];
                if before(&hit, &self.hits[worst]) {
                    self.hits.remove(worst);
                    self.insert(hit, &before);
                }
                return;
            }
        }
        if self.hits.len() < self.limit {
            self.insert(hit, &before);
        } else if before(&hit, &self.hits[self.hits.len() - 1]) {
            self.hits.pop();
            self.insert(hit, &before);
        }
    }

    pub(super) fn insert(&mut self, hit: Hit, before: &impl Fn(&Hit, &Hit) -> bool) {
        let position = self.hits.partition_point(|kept| before(kept, &hit));
        self.hits.insert(position, hit);
    }
}

/// The positions of the set bits of a bitset, in increasing order.
pub(super) fn set_bits(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(index, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                (index as u32) * 64 + bit
            })
        })
    })
}

/// Visits the touched slots from the highest upper bound down, scoring each with
/// `evaluate` until no remaining slot can enter `top`. `bound(slot, partial)` turns
/// the partial bound gathered from the posting lists into a bound of the whole score;
/// it is called once per touched slot, in slot order, and should not read memory
/// per slot. `refine(slot, bound)` tightens it from the slot's gate (negative to
/// drop the slot) just before a slot would be scored.
pub(super) fn select(
    scratch: &mut Scratch,
    top: &mut TopK,
    min_score: f64,
    bound: impl Fn(u32, f32) -> f32,
    refine: impl Fn(u32, f64) -> f64,
    mut evaluate: impl FnMut(u32) -> Option<Hit>,
    before: impl Fn(&Hit, &Hit) -> bool,
) {
    let Scratch {
        values,
        touched,
        bounded,
        order,
        bucket_starts,
        ..
    } = scratch;
    let bucket_of = |value: f32| ((value * BUCKETS as f32) as usize).min(BUCKETS - 1);
    bucket_starts.clear();
    bucket_starts.resize(BUCKETS + 1, 0);
    bounded.clear();
    // In slot order, so that reading `values` sweeps memory forward.
    for slot in set_bits(touched) {
        // In `f32`: the constants carry `BOUND_MARGIN`, far above `f32` rounding.
        let stored = bound(slot, values[slot as usize]);
        if f64::from(stored) < min_score {
            continue;
        }
        bounded.push((slot, stored));
        bucket_starts[bucket_of(stored) + 1] += 1;
    }
    for bucket in 0..BUCKETS {
        bucket_starts[bucket + 1] += bucket_starts[bucket];
    }
    order.clear();
    order.resize(bounded.len(), (0, 0.0));
    {
        let mut next = bucket_starts.clone();
        for &(slot, stored) in bounded.iter() {
            let bucket = bucket_of(stored);
            order[next[bucket] as usize] = (slot, stored);
            next[bucket] += 1;
        }
    }
    for bucket in (0..BUCKETS).rev() {
        let bucket_top = (bucket + 1) as f64 / BUCKETS as f64;
        if bucket_top < min_score || top.threshold().is_some_and(|worst| bucket_top < worst) {
            break;
        }
        let range = bucket_starts[bucket] as usize..bucket_starts[bucket + 1] as usize;
        for &(slot, stored) in &order[range] {
            let floor = top
                .threshold()
                .map_or(min_score, |worst| worst.max(min_score));
            if f64::from(stored) < floor || refine(slot, f64::from(stored)) < floor {
                continue;
            }
            if let Some(hit) = evaluate(slot) {
                top.offer(hit, &before);
            }
        }
    }
}
