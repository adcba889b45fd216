//! Binary feature blocks: every transformer of pflip's pipeline yields 0/1
//! columns (one-hot bins, token indicators, their products), so a block is
//! each row's sorted active columns and the block's width. Products follow
//! `PolynomialFeatures(interaction_only=True, include_bias=False)`: degree by
//! degree, each degree's column subsets in `itertools.combinations` order.
//! A block also knows what each column is ([`Names`]), for the model's
//! feature names.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::par_map;
use super::select::varies;

#[derive(Clone, Debug)]
pub struct Block {
    pub width: u64,
    pub rows: Vec<Vec<u64>>,
    pub names: Names,
}

/// Blocks are equal when their columns are: names follow from how a block was made.
impl PartialEq for Block {
    fn eq(&self, other: &Block) -> bool {
        (self.width, &self.rows) == (other.width, &other.rows)
    }
}

/// What a block's columns are, kept as the transforms that made them, so a
/// column's name is spelled out only when asked for (a block of products
/// has billions of columns, a model weighs a few hundred).
#[derive(Clone, Debug)]
pub enum Names {
    /// One name per column.
    Listed(Arc<Vec<String>>),
    /// Blocks side by side: each block's first column and names.
    Stacked(Arc<Vec<(u64, Names)>>),
    /// The interaction products of degrees `low..=high` of `width` columns.
    Products { of: Arc<Names>, width: u64, low: u32, high: u32 },
    /// The kept columns of a block.
    Kept { of: Arc<Names>, columns: Arc<Vec<u64>> },
}

impl Names {
    /// The name of column `c`: leaf names, products joined by ` & `.
    pub fn name(&self, c: u64) -> String {
        match self {
            Names::Listed(names) => names.get(c as usize).cloned().unwrap_or_else(|| format!("x{c}")),
            Names::Stacked(blocks) => {
                let i = blocks.partition_point(|(first, _)| *first <= c) - 1;
                blocks[i].1.name(c - blocks[i].0)
            }
            Names::Products { of, width, low, high } => {
                let binomial = Binomial::new(*width, *high);
                let mut rank = c;
                for d in *low..=*high {
                    let count = binomial.get(*width, d);
                    if rank < count {
                        let members = binomial.unrank(rank, d, *width).into_iter().map(|m| of.name(m));
                        return members.map(|n| if n.contains(" & ") { format!("({n})") } else { n }).collect::<Vec<_>>().join(" & ");
                    }
                    rank -= count;
                }
                format!("x{c}")
            }
            Names::Kept { of, columns } => of.name(columns[c as usize]),
        }
    }
}

impl Block {
    /// A block whose columns are named `names`.
    pub fn named(rows: Vec<Vec<u64>>, names: Vec<String>) -> Block {
        Block { width: names.len() as u64, rows, names: Names::Listed(Arc::new(names)) }
    }

    /// Blocks side by side, as a ColumnTransformer (or one-hot of several columns) stacks them.
    pub fn hstack(blocks: &[Block]) -> Block {
        let n = blocks.first().map_or(0, |b| b.rows.len());
        let mut rows = vec![Vec::new(); n];
        let mut offset = 0;
        let mut names = Vec::with_capacity(blocks.len());
        for b in blocks {
            for (out, r) in rows.iter_mut().zip(&b.rows) {
                out.extend(r.iter().map(|c| c + offset));
            }
            names.push((offset, b.names.clone()));
            offset += b.width;
        }
        Block { width: offset, rows, names: Names::Stacked(Arc::new(names)) }
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
        let rows = par_map(&self.rows, |r| {
            let mut out = Vec::new();
            for (d, base) in (low..=high).zip(&offsets) {
                for_each_subset(r, d as usize, &mut |subset| out.push(base + binomial.rank(subset, self.width)));
            }
            out
        });
        let names = Names::Products { of: Arc::new(self.names.clone()), width: self.width, low, high };
        Block { width: offset, rows, names }
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
        // Each column's new number by index where the block is narrow enough
        // (products are millions of columns wide), else by binary search.
        let numbers = (block.width <= DENSE_WIDTH).then(|| {
            let mut numbers = vec![u32::MAX; block.width as usize];
            for (i, &c) in self.columns.iter().enumerate() {
                numbers[c as usize] = i as u32;
            }
            numbers
        });
        let number = |c: u64| match &numbers {
            Some(numbers) => Some(numbers[c as usize]).filter(|&i| i != u32::MAX).map(u64::from),
            None => self.columns.binary_search(&c).ok().map(|i| i as u64),
        };
        let rows = par_map(&block.rows, |r| r.iter().filter_map(|&c| number(c)).collect());
        let names = Names::Kept { of: Arc::new(block.names.clone()), columns: Arc::new(self.columns.clone()) };
        Block { width: self.columns.len() as u64, rows, names }
    }
}

/// Blocks at most this wide renumber kept columns through a table (64 MB at most).
const DENSE_WIDTH: u64 = 1 << 24;

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

    /// The `k`-subset of `n` columns with rank `rank`: at each position the
    /// smallest column whose subsets (those starting with it) reach the rank.
    fn unrank(&self, mut rank: u64, k: u32, n: u64) -> Vec<u64> {
        let mut subset = Vec::with_capacity(k as usize);
        let mut c = 0;
        for t in 0..k {
            loop {
                let starting_here = self.get(n - c - 1, k - t - 1);
                if rank < starting_here {
                    break;
                }
                rank -= starting_here;
                c += 1;
            }
            subset.push(c);
            c += 1;
        }
        subset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_follow_combinations_order() {
        // 4 columns: pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); degrees 1..2 put the singles first.
        let b = unnamed(4, vec![vec![0, 2, 3], vec![1]]);
        let pairs = b.products(2, 2);
        assert_eq!(pairs.width, 6);
        assert_eq!(pairs.rows, vec![vec![1, 2, 5], vec![]]);
        let both = b.products(1, 2);
        assert_eq!(both.width, 10);
        assert_eq!(both.rows[0], vec![0, 2, 3, 4 + 1, 4 + 2, 4 + 5]);
        // Triples of 5: (0,1,2)=0 … (2,3,4)=9; (1,3,4) is 8.
        let triples = unnamed(5, vec![vec![1, 3, 4]]).products(3, 3);
        assert_eq!((triples.width, triples.rows[0].clone()), (10, vec![8]));
    }

    #[test]
    fn variance_thresholds_keep_and_renumber_columns() {
        let b = unnamed(3, vec![vec![0, 1], vec![0], vec![0, 2]]);
        let kept = b.varying(0.0).unwrap();
        assert_eq!(kept.columns, vec![1, 2], "column 0 is in every row");
        assert_eq!(kept.apply(&b).rows, vec![vec![0], vec![], vec![1]]);
        let constant = unnamed(1, vec![vec![0], vec![0]]);
        assert_eq!(constant.varying(0.0).unwrap_err(), "No feature in X meets the variance threshold 0.00000");
    }

    #[test]
    fn hstack_offsets_later_blocks() {
        let a = unnamed(2, vec![vec![1], vec![0]]);
        let b = unnamed(3, vec![vec![0, 2], vec![]]);
        assert_eq!(Block::hstack(&[a, b]), unnamed(5, vec![vec![1, 2, 4], vec![0]]));
    }

    #[test]
    fn names_follow_stacking_products_and_kept_columns() {
        let a = Block::named(vec![vec![0]], vec!["a0".into(), "a1".into()]);
        let b = Block::named(vec![vec![1]], vec!["b0".into(), "b1".into(), "b2".into()]);
        let stacked = Block::hstack(&[a, b]);
        assert_eq!((0..5).map(|c| stacked.names.name(c)).collect::<Vec<_>>(), ["a0", "a1", "b0", "b1", "b2"]);
        // Pairs of 5 in combinations order: (0,1) (0,2) (0,3) (0,4) (1,2) … (3,4).
        let pairs = stacked.products(1, 2);
        assert_eq!(pairs.names.name(4), "b2");
        assert_eq!(pairs.names.name(5), "a0 & a1");
        assert_eq!(pairs.names.name(9), "a1 & b0");
        assert_eq!(pairs.names.name(14), "b1 & b2");
        let kept = Kept { width: 15, columns: vec![2, 9] }.apply(&pairs);
        assert_eq!(kept.names.name(1), "a1 & b0");
        let quads = kept.products(2, 2);
        assert_eq!(quads.names.name(0), "b0 & (a1 & b0)");
        // Unranking inverts ranking for every triple of 7.
        let binomial = Binomial::new(7, 3);
        for rank in 0..binomial.get(7, 3) {
            assert_eq!(binomial.rank(&binomial.unrank(rank, 3, 7), 7), rank);
        }
    }

    fn unnamed(width: u64, rows: Vec<Vec<u64>>) -> Block {
        Block { width, rows, names: Names::Listed(Arc::default()) }
    }
}
