//! The index schema: which parts of a vacancy are searched, filtered, counted and sorted,
//! and how.
//!
//! Any change here must bump [`SCHEMA_VERSION`]: an index written under another version
//! is reported at open as needing a rebuild (the schema itself is compared too, as a
//! safety net for a forgotten bump).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};

use crate::analysis;

/// Version of the schema and of the analysis that produced the terms. Bump it when
/// either changes, so that existing indexes are rebuilt rather than silently mixing
/// terms from two analyzers.
pub const SCHEMA_VERSION: u32 = 1;

/// Field handles, resolved once from the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The vacancy id: stored, indexed as one raw term (for delete and lookup) and a
    /// fast column (to read hits without touching the document store).
    pub id: Field,
    /// Stemmed, scored text. `labels` carries the taxonomy's words for the vacancy: the
    /// occupation's labels, its required and preferred skills' labels, the sector's and
    /// the benefits' names in English and Khmer. `place` carries the names of the
    /// province, district and commune.
    pub title: Field,
    pub description: Field,
    pub employer: Field,
    pub labels: Field,
    pub place: Field,
    /// Every distinct word of the texts above, unstemmed and stemmed: the vocabulary
    /// that typos and prefixes expand into, and the exact tier's floor.
    pub words: Field,
    /// Every Khmer text above as grapheme bigrams and trigrams, for parts of compounds.
    pub khmer_grams: Field,
    /// Raw codes for filters; `sector`, `province_code` and `status` are also fast
    /// columns, for facet counts.
    pub sector: Field,
    pub province_code: Field,
    pub district_code: Field,
    pub status: Field,
    pub employer_id: Field,
    pub occupation: Field,
    /// Required and preferred skills' ids, multi-valued.
    pub skill: Field,
    /// Monthly wages in USD. `wage_max` holds the top of the offered range, or its
    /// bottom when only that is given; `wage_min` the reverse. Absent when the vacancy
    /// states no wage.
    pub wage_min: Field,
    pub wage_max: Field,
    pub positions: Field,
    /// When the vacancy was first published (seconds precision).
    pub posted_at: Field,
    pub starts_on: Field,
    /// Degrees (WGS 84) of the best-known location: the province's capital town, as the
    /// gazetteer has no finer coordinates.
    pub lat: Field,
    pub lon: Field,
}

pub(crate) mod names {
    pub const ID: &str = "id";
    pub const SECTOR: &str = "sector";
    pub const PROVINCE_CODE: &str = "province_code";
    pub const POSTED_AT: &str = "posted_at";
    pub const WAGE_MAX: &str = "wage_max";
}

/// Builds the schema and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    // Text fields receive terms the index analyzed itself (stems for the scored
    // fields; see `analysis`), separated by spaces.
    let scored = text(analysis::ANALYZED, IndexRecordOption::WithFreqsAndPositions);
    // Only ever matched as a whole set of expanded terms with a constant score, so
    // neither frequencies nor field norms are needed.
    let expansion = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analysis::ANALYZED)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analysis::KHMER_GRAMS)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let date = DateOptions::default()
        .set_fast()
        .set_precision(DateTimePrecision::Seconds);

    let fields = Fields {
        id: builder.add_text_field(names::ID, STRING | STORED | FAST),
        title: builder.add_text_field("title", scored.clone()),
        description: builder.add_text_field("description", scored.clone()),
        employer: builder.add_text_field("employer", scored.clone()),
        labels: builder.add_text_field("labels", scored.clone()),
        place: builder.add_text_field("place", scored),
        words: builder.add_text_field("words", expansion),
        khmer_grams: builder.add_text_field("khmer_grams", grams),
        sector: builder.add_text_field(names::SECTOR, STRING | FAST),
        province_code: builder.add_text_field(names::PROVINCE_CODE, STRING | FAST),
        district_code: builder.add_text_field("district_code", STRING),
        status: builder.add_text_field("status", STRING | FAST),
        employer_id: builder.add_text_field("employer_id", STRING),
        occupation: builder.add_text_field("occupation", STRING),
        skill: builder.add_text_field("skill", STRING),
        wage_min: builder.add_f64_field("wage_min", FAST),
        wage_max: builder.add_f64_field(names::WAGE_MAX, FAST),
        positions: builder.add_u64_field("positions", FAST),
        posted_at: builder.add_date_field(names::POSTED_AT, date.clone()),
        starts_on: builder.add_date_field("starts_on", date),
        lat: builder.add_f64_field("lat", FAST),
        lon: builder.add_f64_field("lon", FAST),
    };
    (builder.build(), fields)
}

/// Field handles of a schema that equals [`build`]'s (checked at open).
pub(crate) fn fields() -> Fields {
    build().1
}
