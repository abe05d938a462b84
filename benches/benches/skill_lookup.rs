//! Skill lookup: the typo-tolerant search a counsellor runs on every keystroke, and the
//! one-off parse of the embedded reference data that precedes the first search.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jobmatch_domain::reference::Reference;

/// What counsellors type, typos included.
const QUERIES: [&str; 10] = [
    "sewing",
    "sewing machne",
    "brick layng",
    "welding",
    "opertae forklift",
    "cook rice",
    "garment qualty check",
    "drive truck",
    "housekeeping",
    "iron clothes",
];

fn lookup(c: &mut Criterion) {
    let taxonomy = &Reference::embedded().taxonomy;
    let mut group = c.benchmark_group("lookup_skills");
    group.bench_function("10 mixed queries, limit 10", |b| {
        b.iter(|| {
            for query in QUERIES {
                black_box(taxonomy.lookup_skills(black_box(query), 10));
            }
        })
    });
    group.bench_function("empty query, limit 10", |b| {
        b.iter(|| black_box(taxonomy.lookup_skills(black_box(""), 10)))
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("parse embedded data", |b| {
        b.iter_with_large_drop(Reference::parse_embedded)
    });
    group.finish();
}

criterion_group!(benches, lookup, load);
criterion_main!(benches);
