//! Binary feature blocks: every transformer of pflip's pipeline yields 0/1
//! columns (one-hot bins, token indicators, their products), so a block is
//! each row's sorted active columns and the block's width. Products follow
//! `PolynomialFeatures(interaction_only=True, include_bias=False)`: degree by
//! degree, each degree's column subsets in `itertools.combinations` order.

use serde::{Deserialize, Serialize};

use super::select::varies;

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub width: u64,
    pub rows: Vec<Vec<u64>>,
}

impl Block {
    /// Blocks side by side, as a ColumnTransformer (or one-hot of several columns) stacks them.
    pub fn hstack(blocks: &[Block]) -> Block {
        let n = blocks.first().map_or(0, |b| b.rows.len());
        let mut rows = vec![Vec::new(); n];
        let mut offset = 0;
        for b in blocks {
            for (out, r) in rows.iter_mut().zip(&b.rows) {
                out.extend(r.iter().map(|c| c + offset));
            }
            offset += b.width;
        }
        Block { width: offset, rows }
    }

    /// How many rows have each column.
    pub fn counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.width as usize];
        for r in &self.rows {
            for &c in r {
                counts[c as usize] += 1;
            }
        }
        counts
    }

    /// The columns `VarianceThreshold(t)` keeps, fitted on this block.
    pub fn varying(&self, t: f64) -> Result<Kept, String> {
        let n = self.rows.len();
        let columns: Vec<u64> = self.counts().iter().enumerate().filter(|(_, c)| varies(**c as usize, n, t)).map(|(i, _)| i as u64).collect();
        if columns.is_empty() {
            return Err(format!("No feature in X meets the variance threshold {t:.5}"));
        }
        Ok(Kept { width: self.width, columns })
    }

    /// Interaction products of degrees `low..=high` (1 is the block itself).
    pub fn products(&self, low: u32, high: u32) -> Block {
        let binomial = Binomial::new(self.width, high);
        let mut offset = 0;
        let mut offsets = Vec::new();
        for d in low..=high {
            offsets.push(offset);
            offset += binomial.get(self.width, d);
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                for (d, base) in (low..=high).zip(&offsets) {
                    for_each_subset(r, d as usize, &mut |subset| out.push(base + binomial.rank(subset, self.width)));
                }
                out
            })
            .collect();
        Block { width: offset, rows }
    }
}

/// A block's columns a fitted VarianceThreshold keeps, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub width: u64,
    pub columns: Vec<u64>,
}

impl Kept {
    /// The kept columns of `block`, renumbered.
    pub fn apply(&self, block: &Block) -> Block {
        let rows = block.rows.iter().map(|r| r.iter().filter_map(|c| self.columns.binary_search(c).ok().map(|i| i as u64)).collect()).collect();
        Block { width: self.columns.len() as u64, rows }
    }
}

/// Calls `f` with every `k`-subset of the sorted `items`, in lexicographic order.
fn for_each_subset(items: &[u64], k: usize, f: &mut impl FnMut(&[u64])) {
    fn walk(items: &[u64], k: usize, start: usize, chosen: &mut Vec<u64>, f: &mut impl FnMut(&[u64])) {
        if chosen.len() == k {
            f(chosen);
            return;
        }
        for i in start..items.len() {
            if items.len() - i < k - chosen.len() {
                break;
            }
            chosen.push(items[i]);
            walk(items, k, i + 1, chosen, f);
            chosen.pop();
        }
    }
    walk(items, k, 0, &mut Vec::with_capacity(k), f);
}

/// Binomial coefficients, and the rank of a subset among all subsets of its
/// size in lexicographic order.
struct Binomial {
    table: Vec<Vec<u64>>,
}

impl Binomial {
    fn new(n: u64, k: u32) -> Self {
        let mut table = vec![vec![0u64; k as usize + 1]; n as usize + 1];
        for i in 0..=n as usize {
            table[i][0] = 1;
            for j in 1..=(k as usize).min(i) {
                table[i][j] = table[i - 1][j - 1] + if j <= i - 1 { table[i - 1][j] } else { 0 };
            }
        }
        Self { table }
    }

    fn get(&self, n: u64, k: u32) -> u64 {
        if k as u64 > n { 0 } else { self.table[n as usize][k as usize] }
    }

    /// Subsets before `subset` (sorted, of `n` columns) in lexicographic order:
    /// at each position t, those with a smaller element s there (first ≤ s < c)
    /// and any k−t−1 larger ones after it, Σ C(n−s−1, k−t−1) = C(n−first, k−t) − C(n−c, k−t).
    fn rank(&self, subset: &[u64], n: u64) -> u64 {
        let k = subset.len() as u32;
        let mut rank = 0;
        let mut first = 0;
        for (t, &c) in subset.iter().enumerate() {
            let r = k - t as u32;
            rank += self.get(n - first, r) - self.get(n - c, r);
            first = c + 1;
        }
        rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_follow_combinations_order() {
        // 4 columns: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); degrees 1..2 put the singles first.
        let b = Block { width: 4, rows: vec![vec![0, 2, 3], vec![1]] };
        let pairs = b.products(2, 2);
        assert_eq!(pairs.width, 6);
        assert_eq!(pairs.rows, vec![vec![1, 2, 5], vec![]]);
        let both = b.products(1, 2);
        assert_eq!(both.width, 10);
        assert_eq!(both.rows[0], vec![0, 2, 3, 4 + 1, 4 + 2, 4 + 5]);
        // Triples of 5: (0,1,2)=0 … (2,3,4)=9; (1,3,4) is 8.
        let triples = Block { width: 5, rows: vec![vec![1, 3, 4]] }.products(3, 3);
        assert_eq!((triples.width, triples.rows[0].clone()), (10, vec![8]));
    }

    #[test]
    fn variance_thresholds_keep_and_renumber_columns() {
        let b = Block { width: 3, rows: vec![vec![0, 1], vec![0], vec![0, 2]] };
        let kept = b.varying(0.0).unwrap();
        assert_eq!(kept.columns, vec![1, 2], "column 0 is in every row");
        assert_eq!(kept.apply(&b).rows, vec![vec![0], vec![], vec![1]]);
        let constant = Block { width: 1, rows: vec![vec![0], vec![0]] };
        assert_eq!(constant.varying(0.0).unwrap_err(), "No feature in X meets the variance threshold 0.00000");
    }

    #[test]
    fn hstack_offsets_later_blocks() {
        let a = Block { width: 2, rows: vec![vec![1], vec![0]] };
        let b = Block { width: 3, rows: vec![vec![0, 2], vec![]] };
        assert_eq!(Block::hstack(&[a, b]), Block { width: 5, rows: vec![vec![1, 2, 4], vec![0]] });
    }
}
