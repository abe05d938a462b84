//! Searching: the request and response, filters, sorting, facet counts and cursors.

use std::collections::HashMap;
use std::ops::Bound;

use chrono::{DateTime, Utc};
use jobmatch_domain::reference::haversine_km;
use jobmatch_domain::resources::VacancyStatus;
use jobmatch_domain::{Reference, Sector};
use serde::{Deserialize, Serialize};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocId, Order, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::error::SearchError;
use crate::index::{SearchIndex, normalize_esco_id};
use crate::query::{ParsedQuery, QueryBuilder, parse};
use crate::schema::names;

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size.
pub const MAX_LIMIT: usize = 100;
/// Deepest result a cursor reaches: pages are cut by offset, whose cost grows with it.
pub const MAX_OFFSET: usize = 10_000;

/// Order of results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Best match first. Without query text there is nothing to rank by, so this is
    /// [`SortOrder::Newest`].
    #[default]
    Relevance,
    /// Most recently posted first.
    Newest,
    /// Highest top of the wage range first; vacancies without a wage last.
    Wage,
}

/// A vacancy search. Every list filter matches any of its values; filters combine with
/// AND. Empty lists and `None` do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchRequest {
    /// What the person typed, in Khmer, English or both; any text is accepted.
    pub q: String,
    pub sector: Vec<Sector>,
    pub province_code: Vec<String>,
    pub district_code: Vec<String>,
    /// ESCO occupation ids (bare or as URIs).
    pub occupation: Vec<String>,
    /// ESCO skill ids (bare or as URIs), required or preferred by the vacancy.
    pub skill: Vec<String>,
    pub employer_id: Vec<String>,
    /// Monthly USD: keeps vacancies whose wage range reaches at least this much.
    /// Vacancies that state no wage are left out.
    pub wage_min_usd: Option<f64>,
    /// Empty means open vacancies only.
    pub status: Vec<VacancyStatus>,
    /// Keeps vacancies posted at or after this instant (seconds precision).
    pub posted_since: Option<DateTime<Utc>>,
    /// Keeps vacancies within `radius_km` (0 when absent) of this province's capital.
    /// Vacancies are located at their province's capital, the finest position the
    /// gazetteer has, so this is exact at that granularity.
    pub near_province_code: Option<String>,
    pub radius_km: Option<f64>,
    pub sort: SortOrder,
    /// Page size, [`DEFAULT_LIMIT`] when absent, at most [`MAX_LIMIT`].
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page of the same search.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    pub items: Vec<Hit>,
    /// How many vacancies match in all.
    pub total: u64,
    pub facets: Facets,
    /// Present when more results follow; pass it back as `cursor`.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub vacancy_id: String,
    /// Relevance; higher is better, comparable only within one search. With no query
    /// text it is 0.
    pub score: f32,
}

/// Counts of matching vacancies per value, over the whole result set (all filters
/// applied), most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    pub sector: Vec<FacetCount>,
    pub province_code: Vec<FacetCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

impl SearchIndex {
    /// Runs a search against the last committed state of the index.
    ///
    /// Every word must match (exactly, as a completion, with typos, or as part of a
    /// Khmer compound); if that finds nothing and there are several words, any word
    /// may match instead.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
        let searcher = self.reader.searcher();
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let fingerprint = fingerprint(request);
        let offset = match &request.cursor {
            Some(cursor) => decode_cursor(cursor, fingerprint)?,
            None => 0,
        };
        let filters = self.filters(request)?;
        let parsed = parse(&request.q);
        let sort = match request.sort {
            SortOrder::Relevance if parsed.is_empty() => SortOrder::Newest,
            other => other,
        };
        let builder = QueryBuilder {
            fields: &self.fields,
            searcher: &searcher,
        };
        // Without text every score is 0: sorting without them lets tantivy collect
        // in blocks.
        let scored = !parsed.is_empty();
        let query = combine(&builder, &parsed, &filters, true)?;
        let mut page = collect(&searcher, query.as_ref(), sort, scored, offset, limit)?;
        if page.total == 0 && parsed.clause_count() > 1 {
            let any_word = combine(&builder, &parsed, &filters, false)?;
            page = collect(&searcher, any_word.as_ref(), sort, scored, offset, limit)?;
        }

        let items = hits(&searcher, &page.top)?;
        let reached = offset + items.len();
        let next_cursor = (reached < page.total.min(MAX_OFFSET) && !items.is_empty())
            .then(|| encode_cursor(fingerprint, reached));
        Ok(SearchResponse {
            items,
            total: page.total as u64,
            facets: page.facets,
            next_cursor,
        })
    }

    fn filters(&self, request: &SearchRequest) -> Result<Vec<Box<dyn Query>>, SearchError> {
        let fields = &self.fields;
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        let statuses: Vec<&str> = if request.status.is_empty() {
            vec![VacancyStatus::Open.code()]
        } else {
            request.status.iter().map(|status| status.code()).collect()
        };
        filters.extend(any_of(fields.status, statuses));
        filters.extend(any_of(
            fields.sector,
            request.sector.iter().map(|sector| sector.code()),
        ));
        filters.extend(any_of(
            fields.province_code,
            request.province_code.iter().map(|code| code.trim()),
        ));
        filters.extend(any_of(
            fields.district_code,
            request.district_code.iter().map(|code| code.trim()),
        ));
        let occupations: Vec<String> = request
            .occupation
            .iter()
            .map(|id| normalize_esco_id(id))
            .collect();
        filters.extend(any_of(
            fields.occupation,
            occupations.iter().map(String::as_str),
        ));
        let skills: Vec<String> = request
            .skill
            .iter()
            .map(|id| normalize_esco_id(id))
            .collect();
        filters.extend(any_of(fields.skill, skills.iter().map(String::as_str)));
        filters.extend(any_of(
            fields.employer_id,
            request.employer_id.iter().map(String::as_str),
        ));

        if let Some(wage) = request.wage_min_usd {
            if !wage.is_finite() || wage < 0.0 {
                return Err(SearchError::InvalidFilter {
                    field: "wage_min_usd",
                    message: "must be a non-negative number",
                });
            }
            filters.push(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(fields.wage_max, wage)),
                Bound::Unbounded,
            )));
        }
        if let Some(since) = request.posted_since {
            filters.push(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_date(
                    fields.posted_at,
                    tantivy::DateTime::from_timestamp_secs(since.timestamp()),
                )),
                Bound::Unbounded,
            )));
        }
        match (&request.near_province_code, request.radius_km) {
            (Some(code), radius) => {
                let radius = radius.unwrap_or(0.0);
                if !radius.is_finite() || radius < 0.0 {
                    return Err(SearchError::InvalidFilter {
                        field: "radius_km",
                        message: "must be a non-negative number",
                    });
                }
                let nearby = provinces_within(code.trim(), radius)?;
                filters.extend(any_of(
                    fields.province_code,
                    nearby.iter().map(String::as_str),
                ));
            }
            (None, Some(_)) => {
                return Err(SearchError::InvalidFilter {
                    field: "radius_km",
                    message: "needs near_province_code",
                });
            }
            (None, None) => {}
        }
        Ok(filters)
    }
}

/// Codes of the provinces whose capitals lie within `radius_km` of `center`'s
/// (always including `center`).
fn provinces_within(center: &str, radius_km: f64) -> Result<Vec<String>, SearchError> {
    let gazetteer = &Reference::embedded().gazetteer;
    let origin = gazetteer
        .province(center)
        .ok_or_else(|| SearchError::UnknownProvince(center.to_string()))?;
    Ok(gazetteer
        .provinces()
        .iter()
        .filter(|province| {
            province.code == origin.code
                || haversine_km((origin.lat, origin.lon), (province.lat, province.lon)) <= radius_km
        })
        .map(|province| province.code.clone())
        .collect())
}

/// A filter matching documents with any of `values` in a raw field; `None` when there
/// are no values (no filter).
fn any_of<'a>(field: Field, values: impl IntoIterator<Item = &'a str>) -> Option<Box<dyn Query>> {
    let mut terms: Vec<Box<dyn Query>> = values
        .into_iter()
        .map(|value| {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )) as Box<dyn Query>
        })
        .collect();
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(Box::new(BooleanQuery::union(terms))),
    }
}

/// Text (if any) AND every filter; filters never change scores.
fn combine(
    builder: &QueryBuilder<'_>,
    parsed: &ParsedQuery,
    filters: &[Box<dyn Query>],
    all_words: bool,
) -> Result<Box<dyn Query>, SearchError> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !parsed.is_empty() {
        clauses.push((Occur::Must, builder.text_query(parsed, all_words)?));
    }
    for filter in filters {
        clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(filter.box_clone(), 0.0)),
        ));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

struct Page {
    top: Vec<(Score, DocAddress)>,
    total: usize,
    facets: Facets,
}

fn collect(
    searcher: &Searcher,
    query: &dyn Query,
    sort: SortOrder,
    scored: bool,
    offset: usize,
    limit: usize,
) -> Result<Page, SearchError> {
    let window = TopDocs::with_limit(limit).and_offset(offset);
    let facets = FacetCollector;
    let (top, total, facets) = match (sort, scored) {
        (SortOrder::Relevance, _) => {
            searcher.search(query, &(window.order_by_score(), Count, facets))?
        }
        // Ties on the sort key are broken by relevance.
        (SortOrder::Newest, true) => {
            let by_date = (
                (
                    SortByStaticFastValue::<tantivy::DateTime>::for_field(names::POSTED_AT),
                    Order::Desc,
                ),
                SortBySimilarityScore,
            );
            let (top, total, facets) =
                searcher.search(query, &(window.order_by(by_date), Count, facets))?;
            (drop_sort_key(top), total, facets)
        }
        (SortOrder::Wage, true) => {
            let by_wage = (
                (
                    SortByStaticFastValue::<f64>::for_field(names::WAGE_MAX),
                    Order::Desc,
                ),
                SortBySimilarityScore,
            );
            let (top, total, facets) =
                searcher.search(query, &(window.order_by(by_wage), Count, facets))?;
            (drop_sort_key(top), total, facets)
        }
        (SortOrder::Newest, false) => {
            let by_date =
                window.order_by_fast_field::<tantivy::DateTime>(names::POSTED_AT, Order::Desc);
            let (top, total, facets) = searcher.search(query, &(by_date, Count, facets))?;
            (unscored(top), total, facets)
        }
        (SortOrder::Wage, false) => {
            let by_wage = window.order_by_fast_field::<f64>(names::WAGE_MAX, Order::Desc);
            let (top, total, facets) = searcher.search(query, &(by_wage, Count, facets))?;
            (unscored(top), total, facets)
        }
    };
    Ok(Page { top, total, facets })
}

fn unscored<K>(top: Vec<(K, DocAddress)>) -> Vec<(Score, DocAddress)> {
    top.into_iter().map(|(_, address)| (0.0, address)).collect()
}

fn drop_sort_key<K>(top: Vec<((K, Score), DocAddress)>) -> Vec<(Score, DocAddress)> {
    top.into_iter()
        .map(|((_, score), address)| (score, address))
        .collect()
}

/// Vacancy ids of the hits, read from the id column (cheaper than the document store):
/// per segment, the hits' term ordinals are resolved in one sorted pass over the
/// column's dictionary.
fn hits(searcher: &Searcher, top: &[(Score, DocAddress)]) -> Result<Vec<Hit>, SearchError> {
    let mut ids: Vec<Option<String>> = vec![None; top.len()];
    let mut segments: Vec<SegmentOrdinal> =
        top.iter().map(|(_, address)| address.segment_ord).collect();
    segments.sort_unstable();
    segments.dedup();
    for segment in segments {
        let Some(column) = searcher
            .segment_reader(segment)
            .fast_fields()
            .str(names::ID)?
        else {
            continue;
        };
        // (ordinal, position in `top`), sorted by ordinal.
        let mut wanted: Vec<(u64, usize)> = top
            .iter()
            .enumerate()
            .filter(|(_, (_, address))| address.segment_ord == segment)
            .filter_map(|(position, (_, address))| {
                Some((column.term_ords(address.doc_id).next()?, position))
            })
            .collect();
        wanted.sort_unstable();
        let ordinals: Vec<u64> = wanted.iter().map(|(ordinal, _)| *ordinal).collect();
        let mut positions = wanted.iter().map(|(_, position)| *position);
        column
            .dictionary()
            .sorted_ords_to_term_cb(&ordinals, |bytes| {
                if let Some(position) = positions.next() {
                    ids[position] = Some(String::from_utf8_lossy(bytes).into_owned());
                }
            })?;
    }
    Ok(top
        .iter()
        .zip(ids)
        .filter_map(|((score, _), id)| {
            Some(Hit {
                vacancy_id: id?,
                score: *score,
            })
        })
        .collect())
}

/// Counts matching documents per sector and per province from their fast columns.
struct FacetCollector;

/// The faceted fields, in the order of the counts arrays below.
const FACET_FIELDS: [&str; 2] = [names::SECTOR, names::PROVINCE_CODE];

struct SegmentFacets {
    /// Per faceted field: its column in this segment (absent if no document has a
    /// value) and a count per term ordinal.
    columns: Vec<(Option<StrColumn>, Vec<u32>)>,
    /// Reused by `collect_block`.
    buffer: Vec<Option<u64>>,
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let mut columns = Vec::with_capacity(FACET_FIELDS.len());
        for field in FACET_FIELDS {
            let column = segment.fast_fields().str(field)?;
            let terms = column.as_ref().map_or(0, |column| column.num_terms());
            columns.push((column, vec![0; terms]));
        }
        Ok(SegmentFacets {
            columns,
            buffer: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        segment_fruits: Vec<Vec<Vec<(String, u64)>>>,
    ) -> tantivy::Result<Facets> {
        let mut merged: Vec<HashMap<String, u64>> = vec![HashMap::new(); FACET_FIELDS.len()];
        for fruit in segment_fruits {
            for (totals, counts) in merged.iter_mut().zip(fruit) {
                for (value, count) in counts {
                    *totals.entry(value).or_default() += count;
                }
            }
        }
        let mut sorted = merged.into_iter().map(|totals| {
            let mut counts: Vec<FacetCount> = totals
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            counts
        });
        Ok(Facets {
            sector: sorted.next().unwrap_or_default(),
            province_code: sorted.next().unwrap_or_default(),
        })
    }
}

impl SegmentCollector for SegmentFacets {
    /// Per faceted field, `(value, count)` for the values seen in this segment.
    type Fruit = Vec<Vec<(String, u64)>>;

    // Faceted fields hold one value per vacancy, so the first value is the value.
    fn collect(&mut self, doc: DocId, _score: Score) {
        for (column, counts) in &mut self.columns {
            if let Some(ordinal) = column.as_ref().and_then(|column| column.ords().first(doc)) {
                counts[ordinal as usize] += 1;
            }
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.buffer.clear();
        self.buffer.resize(docs.len(), None);
        for (column, counts) in &mut self.columns {
            let Some(column) = column else { continue };
            column.ords().first_vals(docs, &mut self.buffer);
            for ordinal in self.buffer.iter().flatten() {
                counts[*ordinal as usize] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.columns
            .into_iter()
            .map(|(column, counts)| {
                let Some(column) = column else {
                    return Vec::new();
                };
                let seen: Vec<(u64, u64)> = counts
                    .iter()
                    .enumerate()
                    .filter(|(_, count)| **count > 0)
                    .map(|(ordinal, count)| (ordinal as u64, u64::from(*count)))
                    .collect();
                let ordinals: Vec<u64> = seen.iter().map(|(ordinal, _)| *ordinal).collect();
                let mut values = Vec::with_capacity(seen.len());
                let mut counts_in_order = seen.iter().map(|(_, count)| *count);
                // An I/O error here leaves the counts of this segment out: `harvest`
                // cannot fail, and a facet is an aid, not the result.
                let _ = column
                    .dictionary()
                    .sorted_ords_to_term_cb(&ordinals, |bytes| {
                        if let Some(count) = counts_in_order.next() {
                            values.push((String::from_utf8_lossy(bytes).into_owned(), count));
                        }
                    });
                values
            })
            .collect()
    }
}

/// A stable 64-bit digest (FNV-1a) of everything in the request that decides the
/// result list, so a cursor cannot be replayed against another search.
fn fingerprint(request: &SearchRequest) -> u64 {
    let mut canonical = request.clone();
    canonical.limit = None;
    canonical.cursor = None;
    let text = format!("{canonical:?}");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Cursor: 16 hex digits of the request fingerprint, then the offset in hex.
fn encode_cursor(fingerprint: u64, offset: usize) -> String {
    format!("{fingerprint:016x}{offset:x}")
}

fn decode_cursor(cursor: &str, expected_fingerprint: u64) -> Result<usize, SearchError> {
    let (digest, offset) = cursor
        .split_at_checked(16)
        .ok_or(SearchError::InvalidCursor)?;
    let digest = u64::from_str_radix(digest, 16).map_err(|_| SearchError::InvalidCursor)?;
    let offset = usize::from_str_radix(offset, 16).map_err(|_| SearchError::InvalidCursor)?;
    if digest != expected_fingerprint || offset == 0 || offset > MAX_OFFSET {
        return Err(SearchError::InvalidCursor);
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_is_bound_to_its_search() {
        let first = SearchRequest {
            q: "sewing".into(),
            ..SearchRequest::default()
        };
        let other = SearchRequest {
            q: "welding".into(),
            ..SearchRequest::default()
        };
        let cursor = encode_cursor(fingerprint(&first), 40);
        assert_eq!(decode_cursor(&cursor, fingerprint(&first)).unwrap(), 40);
        assert!(decode_cursor(&cursor, fingerprint(&other)).is_err());
        assert!(decode_cursor("not a cursor", fingerprint(&first)).is_err());
        assert!(decode_cursor("", fingerprint(&first)).is_err());
    }

    #[test]
    fn page_size_and_cursor_do_not_change_the_fingerprint() {
        let request = SearchRequest {
            q: "sewing".into(),
            ..SearchRequest::default()
        };
        let next_page = SearchRequest {
            limit: Some(50),
            cursor: Some("x".into()),
            ..request.clone()
        };
        assert_eq!(fingerprint(&request), fingerprint(&next_page));
    }

    #[test]
    fn provinces_within_a_radius_include_the_center_and_grow_with_it() {
        let alone = provinces_within("12", 0.0).unwrap();
        assert_eq!(alone, ["12"]);
        let nearby = provinces_within("12", 60.0).unwrap();
        assert!(nearby.len() > 1 && nearby.contains(&"12".to_string()));
        assert!(provinces_within("99", 10.0).is_err());
    }
}
