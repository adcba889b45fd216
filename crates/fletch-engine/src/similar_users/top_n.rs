//! The exact top-N of Blue Marlin's similarity stage (spec lookalike.md
//! §10.4), reproducing its numbers and tie order: similarity
//! `√m − √max(c1ᵤ + c1ᵥ − 2·u·v, 0)` in f64 from the stored float32 values,
//! candidate buckets taken in order, each merged into the users' kept lists
//! with `heapq.nlargest` semantics (new candidates, in bucket order, before
//! the kept ones on equal scores), kept scores rounded to float32 between
//! buckets.
//!
//! Dot products come in blocks of a float32 GEMM (matrixmultiply's sgemm),
//! which only screens: a candidate whose float32 distance is certainly
//! farther than the user's N-th kept one is skipped, and every other one is
//! scored from its exact f64 dot product, so the lists are those of an f64
//! computation throughout.

/// Candidates per GEMM block and users per block: 1 MB of dot products.
const CANDIDATE_CHUNK: usize = 1024;
const USER_CHUNK: usize = 256;
/// Candidates screened at once, without a branch (vectorised).
const LANES: usize = 16;

/// Row-major float32 vectors of `dim` values with their c1 (widened).
#[derive(Clone, Debug, Default)]
pub struct Vectors {
    pub dim: usize,
    pub values: Vec<f32>,
    pub c1: Vec<f64>,
}

impl Vectors {
    pub fn new(dim: usize) -> Self {
        Self { dim, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.c1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.c1.is_empty()
    }

    pub fn push(&mut self, vector: impl IntoIterator<Item = f32>, c1: f32) {
        self.values.extend(vector);
        self.c1.push(f64::from(c1));
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

/// The dot product in f64 of two float32 vectors, as numpy computes it on
/// the widened values.
fn exact_dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// A candidate kept for a user: its score and its index in the caller's list of candidates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kept {
    pub score: f64,
    pub candidate: usize,
}

/// The users' kept lists, best first, across candidate buckets.
pub struct TopN {
    n: usize,
    sqrt_m: f64,
    kept: Vec<Vec<Kept>>,
}

impl TopN {
    pub fn new(users: usize, dim: usize, n: usize) -> Self {
        Self { n, sqrt_m: (dim as f64).sqrt(), kept: vec![Vec::new(); users] }
    }

    /// Merges one candidate bucket, whose candidates are numbered from
    /// `first` on in their order, into every user's list.
    pub fn add_bucket(&mut self, users: &Vectors, candidates: &Vectors, first: usize) {
        let floors: Vec<f64> = self.kept.iter().map(|k| self.floor(k)).collect();
        let news = self.scan(users, &floors, candidates, first);
        for (kept, new) in self.kept.iter_mut().zip(news) {
            *kept = merge(new, kept, self.n);
        }
    }

    /// [`TopN::add_bucket`] for the users `which` (indices into `users`) only.
    pub fn add_bucket_for(&mut self, users: &Vectors, which: &[usize], candidates: &Vectors, first: usize) {
        let mut some = Vectors::new(users.dim);
        for &u in which {
            some.values.extend_from_slice(users.row(u));
            some.c1.push(users.c1[u]);
        }
        let floors: Vec<f64> = which.iter().map(|&u| self.floor(&self.kept[u])).collect();
        let news = self.scan(&some, &floors, candidates, first);
        for (&u, new) in which.iter().zip(news) {
            self.kept[u] = merge(new, &self.kept[u], self.n);
        }
    }

    /// The score a new candidate must reach to enter a kept list: its N-th
    /// (a new candidate wins a tie), or none while the list is short.
    fn floor(&self, kept: &[Kept]) -> f64 {
        if kept.len() == self.n { kept[self.n - 1].score } else { f64::NEG_INFINITY }
    }

    /// Each user's best `n` of `candidates`, best first, earlier ones first
    /// on equal scores; those certainly below the user's `floors` may be left out.
    fn scan(&self, users: &Vectors, floors: &[f64], candidates: &Vectors, first: usize) -> Vec<Vec<Kept>> {
        let m = users.dim;
        // float32 dot products of m terms are within this of the exact ones (|u|, |v| ≤ √c1).
        let slack = |c1u: f64, c1v: f64| 4.0 * m as f64 * f64::from(f32::EPSILON) * (1.0 + c1u + c1v);
        let max_c1v = candidates.c1.iter().copied().fold(0.0, f64::max);
        let half_c1v: Vec<f32> = candidates.c1.iter().map(|c| (c / 2.0) as f32).collect();
        let mut news: Vec<Vec<Kept>> = vec![Vec::with_capacity(self.n + 1); users.len()];
        let mut dots = vec![0.0f32; USER_CHUNK * CANDIDATE_CHUNK];
        for c0 in (0..candidates.len()).step_by(CANDIDATE_CHUNK) {
            let k = CANDIDATE_CHUNK.min(candidates.len() - c0);
            for u0 in (0..users.len()).step_by(USER_CHUNK) {
                let n_u = USER_CHUNK.min(users.len() - u0);
                // dots (n_u × k) = U (n_u × m) · Cᵀ (m × k), both row-major.
                unsafe {
                    matrixmultiply::sgemm(
                        n_u, m, k, 1.0,
                        users.values[u0 * m..].as_ptr(), m as isize, 1,
                        candidates.values[c0 * m..].as_ptr(), 1, m as isize,
                        0.0, dots.as_mut_ptr(), k as isize, 1,
                    );
                }
                for (i, new) in news[u0..u0 + n_u].iter_mut().enumerate() {
                    let (u, c1u) = (u0 + i, users.c1[u0 + i]);
                    let row = &dots[i * k..(i + 1) * k];
                    // d² = c1u + c1v − 2·dot ≤ bound  ⟺  c1v/2 − dot ≤ (bound − c1u)/2.
                    let limit = |new: &Vec<Kept>| match self.floor(new).max(floors[u]) {
                        f if f == f64::NEG_INFINITY => f32::INFINITY,
                        f => ((self.bound(f) - c1u) / 2.0 + slack(c1u, max_c1v)) as f32,
                    };
                    let mut lim = limit(new);
                    for start in (0..k).step_by(LANES) {
                        let end = (start + LANES).min(k);
                        let halves = &half_c1v[c0 + start..c0 + end];
                        if !halves.iter().zip(&row[start..end]).fold(false, |hit, (h, d)| hit | (h - d <= lim)) {
                            continue;
                        }
                        for j in start..end {
                            if half_c1v[c0 + j] - row[j] > lim {
                                continue;
                            }
                            let v = c0 + j;
                            let d2 = c1u + candidates.c1[v] - 2.0 * exact_dot(users.row(u), candidates.row(v));
                            let score = self.sqrt_m - d2.max(0.0).sqrt();
                            if insert(new, self.n, Kept { score, candidate: first + v }) {
                                lim = limit(new);
                            }
                        }
                    }
                }
            }
        }
        news
    }

    /// A squared distance above which a score is certainly below `score`.
    fn bound(&self, score: f64) -> f64 {
        let d = (self.sqrt_m - score).max(0.0);
        d * d * (1.0 + 1e-9) + 1e-12
    }

    /// Each user's kept candidates, best first, scores as float32.
    pub fn finish(self) -> Vec<Vec<(usize, f32)>> {
        self.kept.into_iter().map(|k| k.into_iter().map(|k| (k.candidate, k.score as f32)).collect()).collect()
    }
}

/// Inserts a candidate later in order than every one in `list` (sorted by
/// score, best first): after equal scores, dropped past `n`. Whether it
/// was kept.
fn insert(list: &mut Vec<Kept>, n: usize, c: Kept) -> bool {
    if list.len() == n && list.last().is_none_or(|last| c.score <= last.score) {
        return false;
    }
    let at = list.partition_point(|k| k.score >= c.score);
    list.insert(at, c);
    list.truncate(n);
    true
}

/// `nlargest(n, new + kept)`: stable, new first on equal scores; the result
/// is stored as float32, as Spark stored the original's lists.
fn merge(new: Vec<Kept>, kept: &[Kept], n: usize) -> Vec<Kept> {
    let mut out = Vec::with_capacity(n);
    let (mut a, mut b) = (new.into_iter().peekable(), kept.iter().copied().peekable());
    while out.len() < n {
        let take_new = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.score >= y.score,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_new { a.next() } else { b.next() }.expect("peeked");
        out.push(Kept { score: f64::from(next.score as f32), ..next });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(rows: &[&[f32]]) -> Vectors {
        let mut v = Vectors::new(rows[0].len());
        for r in rows {
            let c1 = r.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() as f32;
            v.push(r.iter().copied(), c1);
        }
        v
    }

    /// The formula, one pair at a time, as the original computed it.
    fn naive(u: &[f32], v: &[f32], c1u: f32, c1v: f32) -> f64 {
        let dot: f64 = u.iter().zip(v).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
        (u.len() as f64).sqrt() - (f64::from(c1u) + f64::from(c1v) - 2.0 * dot).max(0.0).sqrt()
    }

    #[test]
    fn hand_checked_top_n_with_ties_and_zeros() {
        // m = 2, √m ≈ 1.41421356. Users and candidates are the same four.
        let rows: &[&[f32]] = &[&[0.0, 0.0], &[1.0, 0.0], &[0.0, 1.0], &[1.0, 0.0]];
        let all = vectors(rows);
        let mut top = TopN::new(4, 2, 3);
        top.add_bucket(&all, &all, 0);
        let got = top.finish();
        let s2 = 2f64.sqrt();
        // User 0 (all zeros): itself (√2), then 1, 2, 3 at √2 − 1 each: the
        // first two by candidate order.
        assert_eq!(got[0], [(0, s2 as f32), (1, (s2 - 1.0) as f32), (2, (s2 - 1.0) as f32)]);
        // User 1: itself and its twin 3 (√2, the earlier first), then 0 (√2 − 1).
        assert_eq!(got[1], [(1, s2 as f32), (3, s2 as f32), (0, (s2 - 1.0) as f32)]);
        // User 2: itself, then 0 (distance 1), then 1 (distance √2: score 0).
        assert_eq!(got[2], [(2, s2 as f32), (0, (s2 - 1.0) as f32), (1, 0.0)]);
    }

    #[test]
    fn buckets_merge_new_first_on_equal_scores() {
        // Two buckets holding the same vector: the second bucket's copy,
        // compared in f64 with the first's kept (rounded) score, wins a tie.
        let a = vectors(&[&[0.5, 0.25]]);
        let mut top = TopN::new(1, 2, 1);
        top.add_bucket(&a, &a, 0);
        top.add_bucket(&a, &a, 1);
        assert_eq!(top.finish()[0][0].0, 1);
    }

    #[test]
    fn blocks_agree_with_the_formula() {
        // More users and candidates than one GEMM block, in two buckets.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32) / (1u64 << 24) as f32
        };
        let rows: Vec<Vec<f32>> = (0..1500).map(|_| (0..7).map(|_| next()).collect()).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let (users, half) = (vectors(&refs[..300]), 900);
        let (b0, b1) = (vectors(&refs[..half]), vectors(&refs[half..]));
        let mut top = TopN::new(users.len(), 7, 5);
        top.add_bucket(&users, &b0, 0);
        top.add_bucket(&users, &b1, half);
        let got = top.finish();
        let c1s: Vec<f32> = rows.iter().map(|r| r.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() as f32).collect();
        for (u, kept) in got.iter().enumerate() {
            let mut all: Vec<(f64, usize)> = (0..rows.len()).map(|v| (naive(&rows[u], &rows[v], c1s[u], c1s[v]), v)).collect();
            all.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            let expected: Vec<usize> = all.iter().take(5).map(|x| x.1).collect();
            assert_eq!(kept.iter().map(|k| k.0).collect::<Vec<_>>(), expected, "user {u}");
            assert_eq!(kept[0], (u, all[0].0 as f32));
        }
    }
}
