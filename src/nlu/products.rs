//! Product lookup over the catalog, built for what people type on a phone: typos (up to two
//! edits on long words), plurals, any word order, partial names ("choc"), joined or split words
//! ("t shirt"), and variation words (sizes, colours, flavours) that narrow an item to some of its
//! variations.
//!
//! The index is a term dictionary with a SymSpell-style deletion map for fuzzy term lookup and
//! posting lists from terms to items. A query scores each item by the IDF-weighted similarity of
//! its best-matching terms, scaled by how much of the item's own name the query covered.

use super::text::{Token, edit_distance, is_stopword, tokenize};
use crate::domain::{Catalog, ItemId, VariationId};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Name,
    Variation,
    Category,
}

impl Field {
    fn weight(self) -> f32 {
        match self {
            Field::Name => 1.0,
            Field::Variation => 0.8,
            Field::Category => 0.3,
        }
    }
}

struct Term {
    text: String,
    idf: f32,
    postings: Vec<(u32, Field)>,
}

struct ItemDoc {
    item_id: ItemId,
    name: String,
    name_terms: Vec<u32>,
    name_weight: f32,
    variations: Vec<(VariationId, String, Vec<u32>)>,
}

/// One item the query matched, narrowed to the variations its option words picked out.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductMatch {
    pub item_id: ItemId,
    pub item_name: String,
    /// The matching variations with their display names; all of the item's when the query
    /// named no option.
    pub variations: Vec<(VariationId, String)>,
    /// Whether option words in the query picked out some of the item's variations.
    pub narrowed: bool,
    pub score: f32,
    /// Which query tokens the match used (indexes into the tokenised query).
    pub positions: Vec<usize>,
}

/// What a query resolved to.
#[derive(Clone, Debug, PartialEq)]
pub enum ProductResolution {
    None,
    One(ProductMatch),
    /// Several items fit about equally well: ask which.
    Ambiguous(Vec<ProductMatch>),
}

pub struct ProductIndex {
    terms: Vec<Term>,
    vocab: HashMap<String, u32>,
    /// Deletion variants (up to two deletions) → terms that produce them.
    deletes: HashMap<String, Vec<u32>>,
    /// Term ids sorted by text, for prefix lookups.
    sorted: Vec<u32>,
    docs: Vec<ItemDoc>,
}

/// How far a term may be from a query word and still match it.
fn max_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

fn deletions(word: &str, depth: usize, out: &mut Vec<String>) {
    if depth == 0 {
        return;
    }
    let chars: Vec<char> = word.chars().collect();
    if chars.len() <= 2 {
        return;
    }
    for i in 0..chars.len() {
        let variant: String = chars.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c).collect();
        if !out.contains(&variant) {
            deletions(&variant, depth - 1, out);
            out.push(variant);
        }
    }
}

impl ProductIndex {
    pub fn build(catalog: &Catalog) -> ProductIndex {
        let mut builder = Builder::default();
        for item in &catalog.items {
            let doc = builder.docs.len() as u32;
            let category = item.category_id.as_ref().and_then(|c| catalog.category_name(c)).unwrap_or("");
            let name_terms = builder.add_text(&item.name, doc, Field::Name);
            builder.add_text(category, doc, Field::Category);
            let variations = item
                .variations
                .iter()
                .map(|v| {
                    let terms =
                        if v.name == "Regular" { Vec::new() } else { builder.add_text(&v.name, doc, Field::Variation) };
                    (v.id.clone(), item.display_name(v), terms)
                })
                .collect();
            builder.docs.push(ItemDoc {
                item_id: item.id.clone(),
                name: item.name.clone(),
                name_terms,
                name_weight: 0.0,
                variations,
            });
        }
        builder.finish()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Terms similar to `word`, with a similarity in (0, 1].
    fn similar_terms(&self, word: &str) -> Vec<(u32, f32)> {
        let mut found: Vec<(u32, f32)> = Vec::new();
        let add = |found: &mut Vec<(u32, f32)>, id: u32, sim: f32| match found.iter_mut().find(|(t, _)| *t == id) {
            Some(entry) => entry.1 = entry.1.max(sim),
            None => found.push((id, sim)),
        };
        if let Some(&id) = self.vocab.get(word) {
            add(&mut found, id, 1.0);
        }
        let allowed = max_edits(word.chars().count());
        if allowed > 0 {
            let mut variants = vec![word.to_owned()];
            deletions(word, allowed, &mut variants);
            for variant in &variants {
                for &id in self.deletes.get(variant).map(Vec::as_slice).unwrap_or(&[]) {
                    let term = &self.terms[id as usize].text;
                    let limit = allowed.min(max_edits(term.chars().count()).max(1));
                    if let Some(d) = edit_distance(word, term, limit)
                        && d > 0
                    {
                        add(&mut found, id, if d == 1 { 0.75 } else { 0.55 });
                    }
                }
            }
        }
        if word.len() >= 3 {
            let start = self.sorted.partition_point(|&id| self.terms[id as usize].text.as_str() < word);
            for &id in
                self.sorted[start..].iter().take_while(|&&id| self.terms[id as usize].text.starts_with(word)).take(24)
            {
                if self.terms[id as usize].text != word {
                    add(&mut found, id, 0.6);
                }
            }
        }
        found
    }

    /// The best items for `text`, best first, at most `limit`.
    pub fn search(&self, text: &str, limit: usize) -> Vec<ProductMatch> {
        let tokens = tokenize(text);
        let skip = vec![false; tokens.len()];
        self.search_tokens(&tokens, &skip, limit)
    }

    /// Like `search` over pre-tokenised text, ignoring tokens marked in `skip` (already used by
    /// another entity, such as a location).
    pub fn search_tokens(&self, tokens: &[Token], skip: &[bool], limit: usize) -> Vec<ProductMatch> {
        // Query words: single tokens and adjacent pairs joined ("t shirt" → "tshirt").
        let mut words: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            if skip.get(i).copied().unwrap_or(false) {
                continue;
            }
            if !is_stopword(&token.norm) && !token.raw.starts_with('#') {
                words.push((token.norm.clone(), vec![i]));
            }
            if let Some(next) = tokens.get(i + 1)
                && !skip.get(i + 1).copied().unwrap_or(false)
                && !(is_stopword(&token.norm) && is_stopword(&next.norm))
            {
                words.push((format!("{}{}", token.norm, next.norm), vec![i, i + 1]));
            }
        }
        let n = self.docs.len();
        let mut total = vec![0f32; n];
        let mut touched: Vec<u32> = Vec::new();
        // Per doc: (query word index, best contribution) so each word counts once per doc.
        let mut word_best: Vec<(u32, f32)> = vec![(u32::MAX, 0.0); n];
        let mut matched: HashMap<u32, Vec<(usize, u32, f32)>> = HashMap::new();
        for (w, (word, _)) in words.iter().enumerate() {
            let w = w as u32;
            for (term_id, sim) in self.similar_terms(word) {
                let term = &self.terms[term_id as usize];
                for &(doc, field) in &term.postings {
                    let value = sim * term.idf * field.weight();
                    let slot = &mut word_best[doc as usize];
                    if slot.0 != w {
                        *slot = (w, 0.0);
                    }
                    if value > slot.1 {
                        if total[doc as usize] == 0.0 && slot.1 == 0.0 {
                            touched.push(doc);
                        }
                        total[doc as usize] += value - slot.1;
                        slot.1 = value;
                        matched.entry(doc).or_default().push((w as usize, term_id, sim));
                    }
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let mut scored: Vec<(u32, f32)> = touched
            .iter()
            .map(|&doc| {
                let d = &self.docs[doc as usize];
                let hits = matched.get(&doc).map(Vec::as_slice).unwrap_or(&[]);
                let covered: f32 = d
                    .name_terms
                    .iter()
                    .filter(|t| hits.iter().any(|(_, term, _)| term == *t))
                    .map(|t| self.terms[*t as usize].idf)
                    .sum();
                let coverage = if d.name_weight > 0.0 { covered / d.name_weight } else { 0.0 };
                (doc, total[doc as usize] * (0.5 + 0.5 * coverage))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(limit);
        scored
            .into_iter()
            .map(|(doc, score)| self.describe(doc, score, &words, matched.get(&doc).map(Vec::as_slice).unwrap_or(&[])))
            .collect()
    }

    fn describe(
        &self,
        doc: u32,
        score: f32,
        words: &[(String, Vec<usize>)],
        hits: &[(usize, u32, f32)],
    ) -> ProductMatch {
        let d = &self.docs[doc as usize];
        // Option words the query used that belong to this item's variations.
        let option_terms: Vec<u32> = hits
            .iter()
            .filter(|(_, term, sim)| {
                *sim >= 0.75
                    && d.variations.iter().any(|(_, _, terms)| terms.contains(term))
                    && !d.name_terms.contains(term)
            })
            .map(|(_, term, _)| *term)
            .collect();
        let variations = d
            .variations
            .iter()
            .filter(|(_, _, terms)| option_terms.iter().all(|t| terms.contains(t)))
            .map(|(id, name, _)| (id.clone(), name.clone()))
            .collect::<Vec<_>>();
        let narrowed = !option_terms.is_empty() && !variations.is_empty();
        let variations = if narrowed {
            variations
        } else {
            d.variations.iter().map(|(id, name, _)| (id.clone(), name.clone())).collect()
        };
        let mut positions: Vec<usize> = hits.iter().flat_map(|(w, _, _)| words[*w].1.iter().copied()).collect();
        positions.sort_unstable();
        positions.dedup();
        ProductMatch { item_id: d.item_id.clone(), item_name: d.name.clone(), variations, narrowed, score, positions }
    }

    /// Resolves a query to one item, several close ones, or nothing. `min_score` filters noise;
    /// items within 80% of the best are considered equally likely.
    pub fn resolve_tokens(&self, tokens: &[Token], skip: &[bool]) -> ProductResolution {
        let matches = self.search_tokens(tokens, skip, 6);
        let Some(best) = matches.first() else { return ProductResolution::None };
        if best.score < self.min_score() {
            return ProductResolution::None;
        }
        let close: Vec<ProductMatch> = matches.iter().filter(|m| m.score >= best.score * 0.8).cloned().collect();
        if close.len() == 1 {
            ProductResolution::One(close.into_iter().next().unwrap_or_else(|| best.clone()))
        } else {
            ProductResolution::Ambiguous(close)
        }
    }

    /// Below this a match is noise: less than an exact hit on a word every item shares.
    fn min_score(&self) -> f32 {
        0.5
    }
}

#[derive(Default)]
struct Builder {
    terms: Vec<Term>,
    vocab: HashMap<String, u32>,
    docs: Vec<ItemDoc>,
}

impl Builder {
    fn add_text(&mut self, text: &str, doc: u32, field: Field) -> Vec<u32> {
        let mut ids = Vec::new();
        for token in tokenize(text) {
            let id = match self.vocab.get(&token.norm) {
                Some(&id) => id,
                None => {
                    let id = self.terms.len() as u32;
                    self.terms.push(Term { text: token.norm.clone(), idf: 0.0, postings: Vec::new() });
                    self.vocab.insert(token.norm.clone(), id);
                    id
                }
            };
            let postings = &mut self.terms[id as usize].postings;
            if !postings.iter().any(|&(d, f)| d == doc && f == field) {
                postings.push((doc, field));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    fn finish(mut self) -> ProductIndex {
        let n = self.docs.len().max(1) as f32;
        for term in &mut self.terms {
            let mut docs: Vec<u32> = term.postings.iter().map(|(d, _)| *d).collect();
            docs.dedup();
            term.idf = (1.0 + n / docs.len().max(1) as f32).ln();
        }
        for doc in &mut self.docs {
            doc.name_weight = doc.name_terms.iter().map(|t| self.terms[*t as usize].idf).sum();
        }
        let mut deletes: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, term) in self.terms.iter().enumerate() {
            let mut variants = Vec::new();
            deletions(&term.text, max_edits(term.text.chars().count()).max(1), &mut variants);
            variants.push(term.text.clone());
            for variant in variants {
                deletes.entry(variant).or_default().push(id as u32);
            }
        }
        let mut sorted: Vec<u32> = (0..self.terms.len() as u32).collect();
        sorted.sort_by(|a, b| self.terms[*a as usize].text.cmp(&self.terms[*b as usize].text));
        ProductIndex { terms: self.terms, vocab: self.vocab, deletes, sorted, docs: self.docs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, CategoryId, Item, Money, Variation};

    fn catalog() -> Catalog {
        let item = |id: &str, name: &str, options: &[&str]| Item {
            id: ItemId::new(id),
            name: name.into(),
            category_id: Some(CategoryId::new("C")),
            variations: if options.is_empty() { vec![""] } else { options.to_vec() }
                .iter()
                .enumerate()
                .map(|(i, o)| Variation {
                    id: VariationId::new(format!("{id}-{i}")),
                    item_id: ItemId::new(id),
                    name: if o.is_empty() { "Regular".into() } else { (*o).into() },
                    sku: None,
                    price: Money(100),
                    low_stock_at: None,
                })
                .collect(),
        };
        Catalog {
            categories: vec![Category { id: CategoryId::new("C"), name: "General".into() }],
            items: vec![
                item("mug", "Ceramic Mug", &["Blue", "White"]),
                item("oat", "Oat Milk 1L", &[]),
                item("whole", "Whole Milk 1L", &[]),
                item("tee", "Crew T-Shirt", &["Small, Blue", "Large, Blue", "Large, Black"]),
                item("choc", "Dark Chocolate Bar 70% 100g", &[]),
                item("sour", "Sourdough Loaf", &[]),
            ],
        }
    }

    fn top(index: &ProductIndex, query: &str) -> ProductMatch {
        index.search(query, 3).into_iter().next().unwrap_or_else(|| panic!("nothing for {query:?}"))
    }

    #[test]
    fn finds_items_through_typos_plurals_order_and_partials() {
        let index = ProductIndex::build(&catalog());
        assert_eq!(top(&index, "how many blue mugs do we have").item_id.as_str(), "mug");
        assert_eq!(top(&index, "milk oat").item_id.as_str(), "oat");
        assert_eq!(top(&index, "sourdogh").item_id.as_str(), "sour");
        assert_eq!(top(&index, "choc").item_id.as_str(), "choc");
        assert_eq!(top(&index, "t shirt").item_id.as_str(), "tee");
        assert_eq!(top(&index, "tshirts").item_id.as_str(), "tee");
    }

    #[test]
    fn option_words_narrow_to_variations() {
        let index = ProductIndex::build(&catalog());
        let names = |q: &str| top(&index, q).variations.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        assert_eq!(names("blue mug"), ["Ceramic Mug (Blue)"]);
        assert_eq!(names("large tshirt"), ["Crew T-Shirt (Large, Blue)", "Crew T-Shirt (Large, Black)"]);
        assert_eq!(names("lg blue tee"), ["Crew T-Shirt (Large, Blue)"]);
        assert_eq!(names("mug").len(), 2);
    }

    #[test]
    fn a_bare_shared_word_is_ambiguous() {
        let index = ProductIndex::build(&catalog());
        let tokens = tokenize("milk");
        match index.resolve_tokens(&tokens, &vec![false; tokens.len()]) {
            ProductResolution::Ambiguous(options) => assert_eq!(options.len(), 2),
            other => panic!("expected a question, got {other:?}"),
        }
        let tokens = tokenize("weather forecast");
        assert_eq!(index.resolve_tokens(&tokens, &vec![false; tokens.len()]), ProductResolution::None);
    }
}
