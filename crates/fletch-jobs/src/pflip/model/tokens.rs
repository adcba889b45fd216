//! A column of token sets (`LOCAL_USER_HELPFULNESS_RATINGS`, …) with each
//! distinct token stored once and rows holding ids: at scale 1 the training
//! rows hold about 170M tokens of a few hundred thousand distinct ones, so
//! counting and looking them up is an array index, not a string compare.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub struct TokenSets {
    /// Shared by the rows [`TokenSets::take`] picks.
    dictionary: Arc<Dictionary>,
    /// Each row's token ids.
    rows: Vec<Vec<u32>>,
}

#[derive(Clone, Debug, Default)]
struct Dictionary {
    /// The distinct tokens, in the order first seen.
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl TokenSets {
    /// Appends a row of tokens.
    pub fn push<'a>(&mut self, tokens: impl Iterator<Item = &'a str>) {
        let dictionary = Arc::make_mut(&mut self.dictionary);
        let row = tokens
            .map(|t| match dictionary.ids.get(t) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(dictionary.tokens.len()).expect("fewer than 2^32 distinct tokens");
                    dictionary.tokens.push(t.to_string());
                    dictionary.ids.insert(t.to_string(), id);
                    id
                }
            })
            .collect();
        self.rows.push(row);
    }

    /// The rows `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> TokenSets {
        TokenSets { dictionary: self.dictionary.clone(), rows: rows.iter().map(|&i| self.rows[i].clone()).collect() }
    }

    /// CountVectorizer's vocabulary (identity tokenizer, no lower-casing):
    /// the tokens in at least `min_df` rows, sorted.
    pub fn vocabulary(&self, min_df: usize) -> Result<Vec<String>, String> {
        let mut df = vec![0usize; self.dictionary.tokens.len()];
        for row in &self.rows {
            for &id in row {
                df[id as usize] += 1;
            }
        }
        if df.iter().all(|n| *n == 0) {
            return Err("empty vocabulary; perhaps the documents only contain stop words".into());
        }
        // At least one row: the dictionary also holds tokens of rows not picked by `take`.
        let mut kept: Vec<String> = df.iter().zip(&self.dictionary.tokens).filter(|(n, _)| **n >= min_df.max(1)).map(|(_, t)| t.clone()).collect();
        if kept.is_empty() {
            return Err("After pruning, no terms remain. Try a lower min_df or a higher max_df.".into());
        }
        kept.sort_unstable();
        Ok(kept)
    }

    /// Each row's positions in `vocabulary`, sorted; tokens outside it are left out.
    pub fn positions(&self, vocabulary: &[String]) -> Vec<Vec<u64>> {
        let mut position = vec![u64::MAX; self.dictionary.tokens.len()];
        for (p, token) in vocabulary.iter().enumerate() {
            if let Some(&id) = self.dictionary.ids.get(token) {
                position[id as usize] = p as u64;
            }
        }
        self.rows
            .iter()
            .map(|row| {
                let mut r: Vec<u64> = row.iter().map(|&id| position[id as usize]).filter(|&p| p != u64::MAX).collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(rows: &[&[&str]]) -> TokenSets {
        let mut sets = TokenSets::default();
        for row in rows {
            sets.push(row.iter().copied());
        }
        sets
    }

    #[test]
    fn vocabularies_are_sorted_and_pruned_by_document_count() {
        let d = sets(&[&["b:x", "A:y"], &["b:x"], &["c:z", "b:x"]]);
        assert_eq!(d.vocabulary(1).unwrap(), ["A:y", "b:x", "c:z"]);
        assert_eq!(d.vocabulary(3).unwrap(), ["b:x"]);
        assert!(d.vocabulary(4).unwrap_err().starts_with("After pruning, no terms remain"));
        assert!(sets(&[&[], &[]]).vocabulary(1).unwrap_err().starts_with("empty vocabulary"));
    }

    #[test]
    fn positions_follow_the_vocabulary_and_skip_unknown_tokens() {
        let d = sets(&[&["c:z", "b:x", "q:q"], &[], &["A:y"]]);
        let vocabulary = ["A:y".to_string(), "b:x".to_string(), "c:z".to_string()];
        assert_eq!(d.positions(&vocabulary), vec![vec![1, 2], vec![], vec![0]]);
        // Picked rows share the dictionary.
        assert_eq!(d.take(&[2, 0]).positions(&vocabulary), vec![vec![0], vec![1, 2]]);
    }
}
