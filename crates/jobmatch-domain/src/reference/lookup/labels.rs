//! The label index: every label of one kind of item normalised once at load and split
//! into word tokens, the distinct tokens as a vocabulary with postings (token →
//! labels).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::text::{STOP_WORD_WEIGHT, STOP_WORDS, letter_mask, normalise, stem, tokenise};

/// A distinct label token.
pub(super) struct Token {
    pub(super) text: String,
    pub(super) stem: String,
    pub(super) chars: usize,
    pub(super) letters: u32,
    pub(super) weight: f32,
}

/// One label of one item, normalised.
pub(super) struct Label {
    pub(super) item: u32,
    /// As written in ESCO.
    pub(super) text: String,
    /// NFC, lowercase, whitespace collapsed.
    pub(super) full: String,
    /// The word tokens joined by single spaces (punctuation dropped); empty when that
    /// equals `full`, to save an allocation per label. Read through `joined()`.
    pub(super) joined: String,
    pub(super) tokens: Vec<u32>,
    /// Sum of the token weights.
    pub(super) weight: f32,
}

impl Label {
    pub(super) fn joined(&self) -> &str {
        if self.joined.is_empty() {
            &self.full
        } else {
            &self.joined
        }
    }
}

/// Normalised labels of one kind of item, with a token vocabulary and postings.
pub(in crate::reference) struct LabelIndex {
    pub(super) vocab: Vec<Token>,
    pub(super) vocab_ids: HashMap<String, u32>,
    /// Vocabulary index → labels containing that token, ascending, no duplicates.
    pub(super) postings: Vec<Vec<u32>>,
    pub(super) labels: Vec<Label>,
    pub(super) items: usize,
    /// Per item, the popularity that orders near-equal matches; computed from the
    /// taxonomy's relations on first use.
    pub(in crate::reference) priors: OnceLock<Vec<u32>>,
}

/// An item's best label and its rounded score.
pub(super) struct Hit {
    pub item: u32,
    pub label: u32,
    pub score: f64,
}

impl LabelIndex {
    /// Indexes the labels of each item (preferred label first); item ids are the
    /// iteration positions. Labels that normalise to the same text as an earlier label
    /// of the same item are skipped.
    pub(in crate::reference) fn build<'a, L>(items: impl Iterator<Item = L>) -> LabelIndex
    where
        L: Iterator<Item = &'a str>,
    {
        let mut vocab: Vec<Token> = Vec::new();
        let mut vocab_ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        let mut labels: Vec<Label> = Vec::new();
        let mut item_count = 0;
        for (item, item_labels) in items.enumerate() {
            item_count = item + 1;
            let first_label = labels.len();
            for text in item_labels {
                let full = normalise(text);
                if full.is_empty() || labels[first_label..].iter().any(|l| l.full == full) {
                    continue;
                }
                let label_id = labels.len() as u32;
                let mut tokens = Vec::new();
                let mut joined = String::with_capacity(full.len());
                let mut weight = 0.0;
                for word in tokenise(&full) {
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(word);
                    let id = match vocab_ids.get(word) {
                        Some(&id) => id,
                        None => {
                            let id = vocab.len() as u32;
                            vocab.push(Token::new(word));
                            postings.push(Vec::new());
                            vocab_ids.insert(word.to_string(), id);
                            id
                        }
                    };
                    let posting = &mut postings[id as usize];
                    if posting.last() != Some(&label_id) {
                        posting.push(label_id);
                    }
                    weight += vocab[id as usize].weight;
                    tokens.push(id);
                }
                labels.push(Label {
                    item: item as u32,
                    text: text.trim().to_string(),
                    joined: if joined == full {
                        String::new()
                    } else {
                        joined
                    },
                    full,
                    tokens,
                    weight,
                });
            }
        }
        LabelIndex {
            vocab,
            vocab_ids,
            postings,
            labels,
            items: item_count,
            priors: OnceLock::new(),
        }
    }

    pub(super) fn label_text(&self, label: u32) -> &str {
        &self.labels[label as usize].text
    }
}

impl Token {
    pub(super) fn new(text: &str) -> Token {
        let stop_word = STOP_WORDS.contains(&text);
        Token {
            text: text.to_string(),
            stem: stem(text).to_string(),
            chars: text.chars().count(),
            letters: letter_mask(text),
            weight: if stop_word { STOP_WORD_WEIGHT } else { 1.0 },
        }
    }
}
