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
    /// Every term of the item (name, variations, category), sorted.
    all_terms: Vec<u32>,
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
    scratch: std::sync::Mutex<Vec<Scratch>>,
}

/// How far a term may be from a query word and still match it.
/// Short words get no typo allowance: "year" is not a misspelt "pear".
fn max_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Every string `word` becomes with one to `depth` characters deleted, without duplicates.
fn deletions(word: &str, depth: usize, out: &mut Vec<String>) {
    let mut frontier = vec![word.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for current in &frontier {
            let chars: Vec<char> = current.chars().collect();
            if chars.len() <= 2 {
                continue;
            }
            for i in 0..chars.len() {
                next.push(chars.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c).collect::<String>());
            }
        }
        next.sort_unstable();
        next.dedup();
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out.sort_unstable();
    out.dedup();
}

/// The words a query is matched with: each token that is not a stopword, and each adjacent
/// pair joined ("t shirt" → "tshirt"), with the token positions they came from.
fn query_words(tokens: &[Token], skip: &[bool]) -> Vec<(String, Vec<usize>)> {
    let skipped = |i: usize| skip.get(i).copied().unwrap_or(false);
    let mut words = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if skipped(i) {
            continue;
        }
        if !is_stopword(&token.norm) && !token.raw.starts_with('#') {
            words.push((token.norm.clone(), vec![i]));
        }
        if let Some(next) = tokens.get(i + 1)
            && !skipped(i + 1)
            && !(is_stopword(&token.norm) && is_stopword(&next.norm))
        {
            words.push((format!("{}{}", token.norm, next.norm), vec![i, i + 1]));
        }
    }
    words
}

/// Per-query working memory, reused across queries. Arrays are indexed by item and made valid
/// lazily by comparing a slot's generation with the query's, so no query pays to clear them.
#[derive(Default)]
struct Scratch {
    generation: u32,
    seen: Vec<u32>,
    total: Vec<f32>,
    covered: Vec<f32>,
    /// The query word whose best contribution `word_value` (and its name coverage
    /// `word_cover`) holds.
    word: Vec<u32>,
    word_value: Vec<f32>,
    word_cover: Vec<f32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn reset(&mut self, docs: usize) {
        if self.seen.len() != docs || self.generation == u32::MAX {
            *self = Scratch {
                generation: 0,
                seen: vec![0; docs],
                total: vec![0.0; docs],
                covered: vec![0.0; docs],
                word: vec![0; docs],
                word_value: vec![0.0; docs],
                word_cover: vec![0.0; docs],
                touched: Vec::new(),
            };
        }
        self.generation += 1;
        self.touched.clear();
    }

    /// Makes `doc`'s slots current for this query.
    fn visit(&mut self, doc: usize) {
        if self.seen[doc] != self.generation {
            self.seen[doc] = self.generation;
            self.total[doc] = 0.0;
            self.covered[doc] = 0.0;
            self.word[doc] = u32::MAX;
            self.word_value[doc] = 0.0;
            self.word_cover[doc] = 0.0;
            self.touched.push(doc as u32);
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
            let mut all_terms = name_terms.clone();
            all_terms.extend(builder.add_text(category, doc, Field::Category));
            let variations = item
                .variations
                .iter()
                .map(|v| {
                    let terms =
                        if v.name == "Regular" { Vec::new() } else { builder.add_text(&v.name, doc, Field::Variation) };
                    (v.id.clone(), item.display_name(v), terms)
                })
                .collect();
            let variations: Vec<(VariationId, String, Vec<u32>)> = variations;
            all_terms.extend(variations.iter().flat_map(|(_, _, terms)| terms.iter().copied()));
            all_terms.sort_unstable();
            all_terms.dedup();
            builder.docs.push(ItemDoc {
                item_id: item.id.clone(),
                name: item.name.clone(),
                name_terms,
                name_weight: 0.0,
                variations,
                all_terms,
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

    /// Terms similar to `word`: `(term, similarity in (0, 1], weight)`. The weight is the
    /// similarity times the term's IDF, except for prefix matches ("choc"), which are only as
    /// telling as the prefix itself: they share the IDF of all items with a term starting so.
    fn similar_terms(&self, word: &str) -> Vec<(u32, f32, f32)> {
        let mut found: Vec<(u32, f32, f32)> = Vec::new();
        let add = |found: &mut Vec<(u32, f32, f32)>, id: u32, sim: f32, weight: f32| match found
            .iter_mut()
            .find(|(t, _, _)| *t == id)
        {
            Some(entry) if entry.2 >= weight => {}
            Some(entry) => *entry = (id, sim, weight),
            None => found.push((id, sim, weight)),
        };
        if let Some(&id) = self.vocab.get(word) {
            add(&mut found, id, 1.0, self.terms[id as usize].idf);
        }
        let allowed = max_edits(word.chars().count());
        if allowed > 0 {
            let mut variants = vec![word.to_owned()];
            deletions(word, allowed, &mut variants);
            for variant in &variants {
                for &id in self.deletes.get(variant).map(Vec::as_slice).unwrap_or(&[]) {
                    let term = &self.terms[id as usize];
                    let limit = allowed.min(max_edits(term.text.chars().count()).max(1));
                    if let Some(d) = edit_distance(word, &term.text, limit)
                        && d > 0
                    {
                        let sim = if d == 1 { 0.75 } else { 0.55 };
                        add(&mut found, id, sim, sim * term.idf);
                    }
                }
            }
        }
        if word.len() >= 4 {
            let start = self.sorted.partition_point(|&id| self.terms[id as usize].text.as_str() < word);
            let prefixed: Vec<u32> = self.sorted[start..]
                .iter()
                .copied()
                .take_while(|&id| self.terms[id as usize].text.starts_with(word))
                .filter(|&id| self.terms[id as usize].text != word)
                .take(24)
                .collect();
            if !prefixed.is_empty() {
                let mut docs: Vec<u32> =
                    prefixed.iter().flat_map(|&id| self.terms[id as usize].postings.iter().map(|(d, _)| *d)).collect();
                docs.sort_unstable();
                docs.dedup();
                let idf = (1.0 + self.docs.len() as f32 / docs.len().max(1) as f32).ln();
                for id in prefixed {
                    add(&mut found, id, 0.6, 0.6 * idf);
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
        let words = query_words(tokens, skip);
        let candidates: Vec<Vec<(u32, f32, f32)>> = words.iter().map(|(word, _)| self.similar_terms(word)).collect();
        let mut scratch = self.scratch.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
        scratch.reset(self.docs.len());
        for (w, ((_, positions), similar)) in words.iter().zip(&candidates).enumerate() {
            let w = w as u32;
            let compound = positions.len() > 1;
            for &(term_id, sim, weight) in similar {
                // A joined pair counts only when it is (nearly) a word of the catalog.
                if compound && sim < 0.75 {
                    continue;
                }
                let term = &self.terms[term_id as usize];
                for &(doc, field) in &term.postings {
                    let d = doc as usize;
                    scratch.visit(d);
                    if scratch.word[d] != w {
                        scratch.word[d] = w;
                        scratch.word_value[d] = 0.0;
                        scratch.word_cover[d] = 0.0;
                    }
                    let value = weight * field.weight();
                    if value > scratch.word_value[d] {
                        scratch.total[d] += value - scratch.word_value[d];
                        scratch.word_value[d] = value;
                        let cover = if field == Field::Name { term.idf } else { 0.0 };
                        scratch.covered[d] += cover - scratch.word_cover[d];
                        scratch.word_cover[d] = cover;
                    }
                }
            }
        }
        let mut scored: Vec<(u32, f32)> = scratch
            .touched
            .iter()
            .map(|&doc| {
                let d = &self.docs[doc as usize];
                let covered = scratch.covered[doc as usize];
                let coverage = if d.name_weight > 0.0 { (covered / d.name_weight).min(1.0) } else { 0.0 };
                (doc, scratch.total[doc as usize] * (0.5 + 0.5 * coverage))
            })
            .collect();
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if limit > 0 && scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, order);
            scored.truncate(limit);
        }
        scored.sort_by(order);
        scored.truncate(limit);
        scored.into_iter().map(|(doc, score)| self.describe(doc, score, &words, &candidates)).collect()
    }

    /// Explains one scored item: which query words matched its terms, and which of its
    /// variations the option words pick out. Runs only for the few items returned.
    fn describe(
        &self,
        doc: u32,
        score: f32,
        words: &[(String, Vec<usize>)],
        candidates: &[Vec<(u32, f32, f32)>],
    ) -> ProductMatch {
        let d = &self.docs[doc as usize];
        let mut hits: Vec<(usize, u32, f32)> = Vec::new();
        for (w, ((_, positions), similar)) in words.iter().zip(candidates).enumerate() {
            for &(term, sim, _) in similar {
                if (positions.len() == 1 || sim >= 0.75) && d.all_terms.binary_search(&term).is_ok() {
                    hits.push((w, term, sim));
                }
            }
        }
        let hits = hits.as_slice();
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
    /// items within 75% of the best are close enough that we ask which one was meant.
    pub fn resolve_tokens(&self, tokens: &[Token], skip: &[bool]) -> ProductResolution {
        let matches = self.search_tokens(tokens, skip, 6);
        let Some(best) = matches.first() else { return ProductResolution::None };
        if best.score < self.min_score() {
            return ProductResolution::None;
        }
        let close: Vec<ProductMatch> = matches.iter().filter(|m| m.score >= best.score * 0.75).cloned().collect();
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
        ProductIndex {
            terms: self.terms,
            vocab: self.vocab,
            deletes,
            sorted,
            docs: self.docs,
            scratch: std::sync::Mutex::new(Vec::new()),
        }
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
