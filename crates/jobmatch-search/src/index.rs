//! The index's lifecycle: open or create, write vacancies, commit with the change-feed
//! position, and detect an index that must be rebuilt.
//!
//! The database is the truth and this index is derived from it. Each commit records
//! the last change-feed sequence number it includes in tantivy's commit payload, in the
//! same atomic write as the segments: after a crash the index reopens exactly as of its
//! last commit, and the indexer resumes the feed after the recorded sequence. Anything
//! that makes the recorded state untrustworthy (no index, files that fail their
//! checksums, another schema version, a fresh index whose filling never finished)
//! yields an empty index and
//! [`OpenOutcome::Rebuilt`], and the caller replays the feed from the start.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use jobmatch_domain::Reference;
use jobmatch_domain::reference::esco_id;
use jobmatch_domain::resources::{Benefit, VacancyInput};
use tantivy::directory::error::LockError;
use tantivy::directory::{Directory, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::schema::Field;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::analysis;
use crate::error::SearchError;
use crate::schema::{self, Fields, SCHEMA_VERSION};

/// How an index was found at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// A valid index of the current schema; it includes the change feed up to and
    /// including `seq`, so the caller resumes after it.
    Opened { seq: i64 },
    /// The index is new and empty (for the reason given): the caller must replay the
    /// whole change feed (or load every vacancy) and then commit.
    Rebuilt { reason: RebuildReason },
}

/// Why an index had to be started afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildReason {
    /// No index existed (always the case in memory).
    Missing,
    /// The index was written under another schema version (`None`: no readable
    /// version, e.g. an index created by something else, or interrupted before its
    /// first commit).
    SchemaVersion { found: Option<u32> },
    /// The index could not be opened or its files failed their checksums.
    Corrupt { detail: String },
    /// The index was created afresh but never filled and committed by its caller,
    /// e.g. the process died while rebuilding it: it may hold only part of the data.
    Incomplete,
}

/// Resources for the writer.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Indexing memory shared by the writer's threads, in bytes; a segment is flushed
    /// when it is used up. tantivy needs at least 15 MB per thread.
    pub writer_memory_bytes: usize,
    pub writer_threads: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            writer_memory_bytes: 64 << 20,
            writer_threads: 1,
        }
    }
}

/// The vacancy index: one writer (behind a mutex, since the change-feed follower is
/// the only writer) and a reader that is reloaded after every commit, so a committed
/// write is searchable as soon as [`SearchIndex::commit`] returns.
pub struct SearchIndex {
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    /// Sequence number recorded by the last commit (0 for a new index).
    last_applied_seq: AtomicI64,
    /// Analysis of the taxonomy's and gazetteer's texts, which recur across vacancies:
    /// at most one entry per label (about 60,000), filled as vacancies use them.
    /// Keyed by each text's address and length: the texts live for the whole
    /// process, and hashing two numbers instead of a label's every byte was a
    /// visible share of indexing a vacancy.
    static_texts: Mutex<HashMap<(usize, usize), Arc<AnalyzedText>>>,
    directory: Option<PathBuf>,
    index: Index,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("directory", &self.directory)
            .field("last_applied_seq", &self.last_applied_seq())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if there is none, or an index in memory
    /// when `dir` is `None`. See [`SearchIndex::open_or_create_with`].
    pub fn open_or_create(dir: Option<&Path>) -> Result<(SearchIndex, OpenOutcome), SearchError> {
        SearchIndex::open_or_create_with(dir, OpenOptions::default())
    }

    /// Opens the index in `dir` (created if needed), or in memory when `None`.
    ///
    /// The directory belongs to the index: when the index in it is missing, corrupt or
    /// of another schema version, tantivy's files in it are deleted and a new empty
    /// index is created (other files are left alone). Fails with
    /// [`SearchError::Locked`] if another writer holds the directory, and deletes
    /// nothing in that case.
    pub fn open_or_create_with(
        dir: Option<&Path>,
        options: OpenOptions,
    ) -> Result<(SearchIndex, OpenOutcome), SearchError> {
        let Some(path) = dir else {
            let (schema, _) = schema::build();
            let index = Index::create_in_ram(schema);
            return SearchIndex::fresh(index, None, options, RebuildReason::Missing);
        };
        fs::create_dir_all(path)?;
        let directory = MmapDirectory::open(path).map_err(|error| {
            SearchError::Io(std::io::Error::other(format!(
                "cannot open index directory: {error}"
            )))
        })?;
        // Held while the directory is inspected and possibly wiped, so that an index in
        // use by another process is never touched. Released before the writer, which
        // takes the same lock, is created.
        let guard = directory
            .acquire_lock(&INDEX_WRITER_LOCK)
            .map_err(|error| match error {
                LockError::LockBusy => SearchError::Locked,
                LockError::IoError(io) => SearchError::Io(std::io::Error::other(io.to_string())),
            })?;
        let inspected = inspect(path);
        match inspected {
            Ok((index, reader, seq)) => {
                drop(guard);
                let writer = open_writer(&index, options)?;
                let search_index = SearchIndex {
                    fields: schema::fields(),
                    reader,
                    writer: Mutex::new(writer),
                    last_applied_seq: AtomicI64::new(seq),
                    static_texts: Mutex::default(),
                    directory: Some(path.to_path_buf()),
                    index,
                };
                Ok((search_index, OpenOutcome::Opened { seq }))
            }
            Err(reason) => {
                remove_index_files(path)?;
                drop(guard);
                let (schema, _) = schema::build();
                let index = Index::create_in_dir(path, schema)?;
                SearchIndex::fresh(index, Some(path.to_path_buf()), options, reason)
            }
        }
    }

    /// Wraps a newly created, empty index and commits it once as incomplete: until the
    /// caller has filled it and called [`SearchIndex::commit`], reopening it reports
    /// [`RebuildReason::Incomplete`], so a rebuild cut short starts over rather than
    /// passing for a complete index.
    fn fresh(
        index: Index,
        directory: Option<PathBuf>,
        options: OpenOptions,
        reason: RebuildReason,
    ) -> Result<(SearchIndex, OpenOutcome), SearchError> {
        analysis::register(index.tokenizers());
        let writer = open_writer(&index, options)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let search_index = SearchIndex {
            fields: schema::fields(),
            reader,
            writer: Mutex::new(writer),
            last_applied_seq: AtomicI64::new(0),
            static_texts: Mutex::default(),
            directory,
            index,
        };
        search_index.commit_payload(&encode_payload(None))?;
        Ok((search_index, OpenOutcome::Rebuilt { reason }))
    }

    /// Adds the vacancy, replacing any earlier version with the same id. Visible to
    /// searches after the next [`SearchIndex::commit`].
    ///
    /// `vacancy` is the validated stored document (ESCO ids bare, codes known);
    /// `posted_at` is when it was first published (the "newest" sort key).
    pub fn upsert(
        &self,
        id: &str,
        vacancy: &VacancyInput,
        employer_name: &str,
        posted_at: DateTime<Utc>,
    ) -> Result<(), SearchError> {
        let document = self.document(id, vacancy, employer_name, posted_at);
        let writer = self.writer();
        // Within one commit a delete only affects documents added before it, so the
        // new version survives its own delete.
        writer.delete_term(Term::from_field_text(self.fields.id, id));
        writer.add_document(document)?;
        Ok(())
    }

    /// Removes the vacancy (a no-op if it is not indexed). Takes effect at the next commit.
    pub fn delete(&self, id: &str) -> Result<(), SearchError> {
        self.writer()
            .delete_term(Term::from_field_text(self.fields.id, id));
        Ok(())
    }

    /// Removes every vacancy, e.g. before reloading all of them from the database.
    /// Takes effect at the next commit.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes every write so far durable and searchable, recording that the index now
    /// reflects the change feed up to and including `last_applied_seq`. When it returns
    /// Ok, searches see the writes (the reader has been reloaded).
    pub fn commit(&self, last_applied_seq: i64) -> Result<(), SearchError> {
        self.commit_payload(&encode_payload(Some(last_applied_seq)))?;
        self.last_applied_seq
            .store(last_applied_seq, Ordering::SeqCst);
        Ok(())
    }

    fn commit_payload(&self, payload: &str) -> Result<(), SearchError> {
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(payload);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Forgets every write since the last commit, so that the caller can apply them
    /// again (a failed write or commit may leave tantivy's writer unusable; this
    /// replaces it with a fresh one holding the same lock).
    pub fn rollback(&self) -> Result<(), SearchError> {
        self.writer().rollback()?;
        Ok(())
    }

    /// The change-feed sequence number recorded by the last commit (0 for a new index).
    pub fn last_applied_seq(&self) -> i64 {
        self.last_applied_seq.load(Ordering::SeqCst)
    }

    /// Vacancies visible to searches (all statuses).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Searchable segments; each adds a fixed cost to every search (term lookups and
    /// expansions run per segment), so this is worth watching after bulk loads.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// The index directory, `None` in memory.
    pub fn directory(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    /// Blocks until background segment merges finish; for benchmarks and tools that
    /// measure the settled size of an index. Consumes the index.
    pub fn wait_for_merges(self) -> Result<(), SearchError> {
        let writer = self
            .writer
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        writer.wait_merging_threads()?;
        drop(self.index);
        Ok(())
    }

    /// The analysis of a reference text (taxonomy label, place or sector name),
    /// computed on first use.
    fn static_analysis(
        &self,
        analyzer: &mut TextAnalyzer,
        text: &'static str,
    ) -> Arc<AnalyzedText> {
        let mut cache = self
            .static_texts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .entry((text.as_ptr() as usize, text.len()))
            .or_insert_with(|| Arc::new(AnalyzedText::new(analyzer, text)))
            .clone()
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter<TantivyDocument>> {
        // A panic while holding the lock cannot leave tantivy's writer half-updated in
        // a way a later commit would persist: uncommitted operations are all or nothing.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn document(
        &self,
        id: &str,
        vacancy: &VacancyInput,
        employer_name: &str,
        posted_at: DateTime<Utc>,
    ) -> TantivyDocument {
        // 'static: every taxonomy label and place name below borrows from it, which
        // lets their analysis be cached for the life of the process.
        let reference: &'static Reference = Reference::embedded();
        let fields = &self.fields;
        let mut document = TantivyDocument::new();
        document.add_text(fields.id, id);

        let mut texts: Vec<(Field, Text<'_>)> = vec![
            (fields.title, Text::Fresh(&vacancy.title)),
            (fields.employer, Text::Fresh(employer_name)),
        ];
        if let Some(description) = &vacancy.description {
            texts.push((fields.description, Text::Fresh(description)));
        }

        let taxonomy = &reference.taxonomy;
        if let Some(occupation_id) = vacancy
            .occupation
            .as_deref()
            .and_then(|occupation| taxonomy.occupation_id(occupation))
        {
            let occupation = taxonomy.occupation(occupation_id);
            texts.push((fields.labels, Text::Static(&occupation.label)));
            for label in &occupation.alt_labels {
                texts.push((fields.labels, Text::Static(label)));
            }
            document.add_text(fields.occupation, &occupation.id);
        }
        let skill_ids = vacancy
            .required_skills
            .iter()
            .map(|skill| skill.skill.as_str())
            .chain(
                vacancy
                    .preferred_skills
                    .iter()
                    .map(|skill| skill.skill.as_str()),
            );
        for skill_id in skill_ids {
            if let Some(id) = taxonomy.skill_id(skill_id) {
                let skill = taxonomy.skill(id);
                texts.push((fields.labels, Text::Static(&skill.label)));
                for label in &skill.alt_labels {
                    texts.push((fields.labels, Text::Static(label)));
                }
                document.add_text(fields.skill, &skill.id);
            }
        }
        texts.push((fields.labels, Text::Static(vacancy.sector.name_en())));
        texts.push((fields.labels, Text::Static(vacancy.sector.name_km())));
        for benefit in &vacancy.benefits {
            let (english, khmer) = benefit_names(*benefit);
            texts.push((fields.labels, Text::Static(english)));
            texts.push((fields.labels, Text::Static(khmer)));
        }

        let gazetteer = &reference.gazetteer;
        if let Some(province) = gazetteer.province(&vacancy.province_code) {
            texts.push((fields.place, Text::Static(&province.name_en)));
            texts.push((fields.place, Text::Static(&province.name_km)));
            // Only province coordinates exist; a district or commune resolves to them.
            document.add_f64(fields.lat, province.lat);
            document.add_f64(fields.lon, province.lon);
        }
        if let Some(district) = vacancy
            .district_code
            .as_deref()
            .and_then(|code| gazetteer.district(code))
        {
            texts.push((fields.place, Text::Static(&district.name_en)));
            texts.push((fields.place, Text::Static(&district.name_km)));
            document.add_text(fields.district_code, &district.code);
        }
        if let Some(commune) = vacancy
            .commune_code
            .as_deref()
            .and_then(|code| gazetteer.commune(code))
        {
            texts.push((fields.place, Text::Static(&commune.name_en)));
            texts.push((fields.place, Text::Static(&commune.name_km)));
        }

        // Each text is segmented once (reference texts once per process): its stems
        // go to its scored field, its words (each distinct word once per vacancy) to
        // the typo-and-prefix field, which is only ever matched by sets of terms.
        let mut analyzer = analysis::words_analyzer();
        let analyzed: Vec<(Field, &str, Arc<AnalyzedText>)> = texts
            .into_iter()
            .map(|(field, text)| match text {
                Text::Fresh(text) => (
                    field,
                    text,
                    Arc::new(AnalyzedText::new(&mut analyzer, text)),
                ),
                Text::Static(text) => (field, text, self.static_analysis(&mut analyzer, text)),
            })
            .collect();
        let mut distinct_words: HashSet<&str> = HashSet::new();
        for (field, text, analysis) in &analyzed {
            // Alternative labels are many near-duplicates ("apply stitching
            // techniques", "master stitching techniques"); one that adds no new word
            // would only inflate term frequencies and the field length.
            let adds_a_word = analysis
                .words
                .iter()
                .any(|word| !distinct_words.contains(word.as_str()));
            if *field == fields.labels && !adds_a_word {
                continue;
            }
            // Stems too: one term of the words field then stands for "some stemmed
            // field has this word", the floor of the exact tier.
            distinct_words.extend(analysis.words.iter().map(String::as_str));
            distinct_words.extend(analysis.stems.iter().map(String::as_str));
            document.add_text(*field, &analysis.stemmed_text);
            if analysis.khmer {
                document.add_text(fields.khmer_grams, text);
            }
        }
        let mut words: Vec<&str> = distinct_words.into_iter().collect();
        words.sort_unstable();
        document.add_text(fields.words, words.join(" "));

        document.add_text(fields.sector, vacancy.sector.code());
        document.add_text(fields.province_code, vacancy.province_code.trim());
        document.add_text(fields.status, vacancy.status.code());
        document.add_text(fields.employer_id, &vacancy.employer_id);
        let wage_top = vacancy.wage_max_usd.or(vacancy.wage_min_usd);
        let wage_bottom = vacancy.wage_min_usd.or(vacancy.wage_max_usd);
        if let (Some(bottom), Some(top)) = (wage_bottom, wage_top) {
            document.add_f64(fields.wage_min, bottom);
            document.add_f64(fields.wage_max, top);
        }
        document.add_u64(fields.positions, u64::from(vacancy.positions));
        document.add_date(
            fields.posted_at,
            tantivy::DateTime::from_timestamp_secs(posted_at.timestamp()),
        );
        if let Some(starts_on) = vacancy.starts_on {
            document.add_date(fields.starts_on, date_at_midnight(starts_on));
        }
        document
    }
}

/// A text of a vacancy: its own, or one from the reference data.
enum Text<'a> {
    Fresh(&'a str),
    Static(&'static str),
}

/// One text's terms.
struct AnalyzedText {
    /// Unstemmed words, in order.
    words: Vec<String>,
    /// Their stems, in the same order.
    stems: Vec<String>,
    /// `stems` joined by spaces: what the scored field is given (see `analysis`).
    stemmed_text: String,
    khmer: bool,
}

impl AnalyzedText {
    fn new(analyzer: &mut TextAnalyzer, text: &str) -> Self {
        let words: Vec<String> = analysis::word_tokens(analyzer, text)
            .into_iter()
            .map(|token| token.text)
            .collect();
        let stems: Vec<String> = words.iter().map(|word| analysis::stem(word)).collect();
        AnalyzedText {
            stemmed_text: stems.join(" "),
            words,
            stems,
            khmer: analysis::has_khmer(text),
        }
    }
}

/// Normalises an ESCO reference (bare id or URI) to the lowercase bare id the index holds.
pub(crate) fn normalize_esco_id(input: &str) -> String {
    esco_id(input).to_ascii_lowercase()
}

fn date_at_midnight(date: NaiveDate) -> tantivy::DateTime {
    let seconds = date
        .and_hms_opt(0, 0, 0)
        .map(|midnight| midnight.and_utc().timestamp())
        .unwrap_or_default();
    tantivy::DateTime::from_timestamp_secs(seconds)
}

/// Words for each benefit, so that `accommodation` or `ស្នាក់នៅ` finds vacancies that
/// offer it even when the text does not say so.
fn benefit_names(benefit: Benefit) -> (&'static str, &'static str) {
    match benefit {
        Benefit::Accommodation => ("accommodation", "កន្លែងស្នាក់នៅ"),
        Benefit::Transport => ("transport", "ការដឹកជញ្ជូន"),
        Benefit::Meals => ("meals", "អាហារ"),
        Benefit::HealthInsurance => ("health insurance", "ធានារ៉ាប់រងសុខភាព"),
        Benefit::SocialSecurity => ("social security NSSF", "របបសន្តិសុខសង្គម ប.ស.ស"),
        Benefit::Childcare => ("childcare", "ថែទាំកុមារ"),
        Benefit::Training => ("training", "វគ្គបណ្តុះបណ្តាល"),
        Benefit::OvertimePay => ("overtime pay", "ប្រាក់ម៉ោងបន្ថែម"),
    }
}

fn open_writer(
    index: &Index,
    options: OpenOptions,
) -> Result<IndexWriter<TantivyDocument>, SearchError> {
    index
        .writer_with_num_threads(options.writer_threads.max(1), options.writer_memory_bytes)
        .map_err(|error| match error {
            TantivyError::LockFailure(LockError::LockBusy, _) => SearchError::Locked,
            other => SearchError::Index(other),
        })
}

/// Opens the index in `path` and checks that it can be trusted: readable metadata, our
/// schema version and schema, intact files, segments that open.
fn inspect(path: &Path) -> Result<(Index, IndexReader, i64), RebuildReason> {
    if !path.join("meta.json").exists() {
        return Err(RebuildReason::Missing);
    }
    let corrupt = |error: TantivyError| RebuildReason::Corrupt {
        detail: error.to_string(),
    };
    let index = Index::open_in_dir(path).map_err(corrupt)?;
    let metas = index.load_metas().map_err(corrupt)?;
    let (version, seq) = match metas.payload.as_deref().and_then(decode_payload) {
        Some(decoded) => decoded,
        None => return Err(RebuildReason::SchemaVersion { found: None }),
    };
    let (expected_schema, _) = schema::build();
    if version != SCHEMA_VERSION || index.schema() != expected_schema {
        return Err(RebuildReason::SchemaVersion {
            found: Some(version),
        });
    }
    let Some(seq) = seq else {
        return Err(RebuildReason::Incomplete);
    };
    let damaged = index.validate_checksum().map_err(corrupt)?;
    if !damaged.is_empty() {
        let mut names: Vec<String> = damaged
            .iter()
            .map(|file| file.display().to_string())
            .collect();
        names.sort();
        return Err(RebuildReason::Corrupt {
            detail: format!("checksum mismatch in {}", names.join(", ")),
        });
    }
    analysis::register(index.tokenizers());
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(corrupt)?;
    Ok((index, reader, seq))
}

/// Deletes tantivy's files in `path`: `meta.json`, `.managed.json` and segment files
/// (named by a 32-hex-digit segment id). Lock files stay (one is held by the caller);
/// anything else is not ours and stays too.
fn remove_index_files(path: &Path) -> Result<(), SearchError> {
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_segment_file = name.len() > 33
            && name.as_bytes()[32] == b'.'
            && name[..32].bytes().all(|b| b.is_ascii_hexdigit());
        if (name == "meta.json" || name == ".managed.json" || is_segment_file)
            && entry.file_type()?.is_file()
        {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

const PAYLOAD_PREFIX: &str = "jobmatch-search";
/// Stands for the sequence number in the payload of an index not yet filled.
const INCOMPLETE: &str = "incomplete";

/// `seq`: the last change-feed sequence the index includes; `None` for a fresh index
/// its caller has not filled yet.
fn encode_payload(seq: Option<i64>) -> String {
    match seq {
        Some(seq) => format!("{PAYLOAD_PREFIX} schema={SCHEMA_VERSION} seq={seq}"),
        None => format!("{PAYLOAD_PREFIX} schema={SCHEMA_VERSION} {INCOMPLETE}"),
    }
}

/// `(schema version, sequence)` from a payload written by [`encode_payload`].
fn decode_payload(payload: &str) -> Option<(u32, Option<i64>)> {
    let mut parts = payload.split(' ');
    if parts.next()? != PAYLOAD_PREFIX {
        return None;
    }
    let version = parts.next()?.strip_prefix("schema=")?.parse().ok()?;
    let seq = match parts.next()? {
        INCOMPLETE => None,
        part => Some(part.strip_prefix("seq=")?.parse().ok()?),
    };
    if parts.next().is_some() {
        return None;
    }
    Some((version, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SearchIndex>();
    }

    #[test]
    fn payload_round_trips_and_rejects_foreign_text() {
        assert_eq!(
            decode_payload(&encode_payload(Some(42))),
            Some((SCHEMA_VERSION, Some(42)))
        );
        assert_eq!(
            decode_payload(&encode_payload(None)),
            Some((SCHEMA_VERSION, None))
        );
        assert_eq!(
            decode_payload("jobmatch-search schema=1 seq=-1"),
            Some((1, Some(-1)))
        );
        assert_eq!(decode_payload("jobmatch-search schema=1 seq=x"), None);
        assert_eq!(decode_payload("something else"), None);
        assert_eq!(decode_payload("jobmatch-search schema=x seq=1"), None);
    }
}
