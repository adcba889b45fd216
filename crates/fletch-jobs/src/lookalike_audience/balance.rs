//! Balancing k-means clusters to a target size (the specified but never
//! committed balance_clusters): a cluster of at least 2× target users is cut
//! into ⌊size / target⌋ pieces (each from target to under 1.5× target
//! users), clusters under 0.9× target are merged with their nearest such
//! neighbours until a group reaches 0.9× target (so under 1.8× target), and
//! the rest stay. Every output cluster then holds under 2× target users, at
//! most one (the last group) under 0.9× target, and ids run 0..k−1.

use fletch_udfs::vector::{Centroids, distance2};

/// What becomes of one k-means cluster: users `0..size` (in the job's
/// seeded order) go to `first_id + ⌊i · pieces / size⌋`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fate {
    pub first_id: i64,
    pub pieces: i64,
}

/// The fate of each cluster of `sizes` (users per k-means cluster, indexed
/// like `centroids`; 0 for an empty one, whose fate does not matter).
pub fn balance(sizes: &[i64], centroids: &Centroids, target: i64) -> Vec<Fate> {
    let small = |s: i64| 10 * s < 9 * target;
    let mut fates = vec![Fate { first_id: 0, pieces: 1 }; sizes.len()];
    let mut next_id = 0;
    for (cluster, &size) in sizes.iter().enumerate().filter(|(_, s)| **s > 0 && !small(**s)) {
        let pieces = if size >= 2 * target { size / target } else { 1 };
        fates[cluster] = Fate { first_id: next_id, pieces };
        next_id += pieces;
    }
    let mut left: Vec<usize> = (0..sizes.len()).filter(|&c| sizes[c] > 0 && small(sizes[c])).collect();
    while !left.is_empty() {
        let first = left.remove(0);
        let (mut users, mut centre) = (sizes[first], centroids.row(first).to_vec());
        fates[first] = Fate { first_id: next_id, pieces: 1 };
        while small(users) && !left.is_empty() {
            let at = (0..left.len()).min_by(|&a, &b| distance2(&centre, centroids.row(left[a])).total_cmp(&distance2(&centre, centroids.row(left[b])))).expect("not empty");
            let cluster = left.remove(at);
            let size = sizes[cluster];
            // The group's centre: its users' mean, as far as centroids tell.
            for (c, x) in centre.iter_mut().zip(centroids.row(cluster)) {
                *c = (*c * users as f64 + x * size as f64) / (users + size) as f64;
            }
            users += size;
            fates[cluster] = Fate { first_id: next_id, pieces: 1 };
        }
        next_id += 1;
    }
    fates
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Users per output cluster, as the job's SQL assigns them.
    fn output_sizes(sizes: &[i64], fates: &[Fate]) -> BTreeMap<i64, i64> {
        let mut out = BTreeMap::new();
        for (&size, fate) in sizes.iter().zip(fates) {
            for i in 0..size {
                *out.entry(fate.first_id + i * fate.pieces / size).or_insert(0) += 1;
            }
        }
        out
    }

    fn line(k: usize) -> Centroids {
        Centroids { dim: 1, values: (0..k).map(|i| i as f64).collect() }
    }

    #[test]
    fn the_specified_clusters_balance_to_the_target() {
        // test_balance_clusters.py: sizes 100..1900 by 100, 2000..7500 by 500, and one of 1500.
        let sizes: Vec<i64> = (1..20).map(|i| i * 100).chain((0..12).map(|i| 2000 + i * 500)).chain([1500]).collect();
        assert_eq!(sizes.len(), 32);
        let target = 1000;
        let out = output_sizes(&sizes, &balance(&sizes, &line(sizes.len()), target));
        assert!(out.values().all(|&s| s < 2 * target), "{out:?}");
        assert!(out.values().filter(|&&s| 10 * s < 9 * target).count() <= 1, "{out:?}");
        assert_eq!(out.values().sum::<i64>(), sizes.iter().sum::<i64>());
        assert_eq!(out.keys().copied().collect::<Vec<_>>(), (0..out.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn hand_checked_splits_and_merges() {
        // 2500 → 2 pieces of 1250; 950 stays; 300, 400 and 350 (nearest
        // neighbours on a line) merge into 1050; 100 is left alone.
        let sizes = [2500, 300, 950, 400, 0, 350, 100];
        let centroids = Centroids { dim: 1, values: vec![0.0, 10.0, 20.0, 11.0, 50.0, 12.5, 100.0] };
        let fates = balance(&sizes, &centroids, 1000);
        assert_eq!(fates[0], Fate { first_id: 0, pieces: 2 });
        assert_eq!(fates[2], Fate { first_id: 2, pieces: 1 });
        assert_eq!([fates[1], fates[3], fates[5]], [Fate { first_id: 3, pieces: 1 }; 3]);
        assert_eq!(fates[6], Fate { first_id: 4, pieces: 1 });
        assert_eq!(output_sizes(&sizes, &fates), BTreeMap::from([(0, 1250), (1, 1250), (2, 950), (3, 1050), (4, 100)]));
    }

    #[test]
    fn random_sizes_keep_the_properties() {
        let mut state = 7u64;
        for _ in 0..200 {
            let k = 1 + (fletch_udfs::hash::splitmix(state) % 60) as usize;
            let sizes: Vec<i64> = (0..k).map(|i| (fletch_udfs::hash::splitmix(state ^ (i as u64 + 1)) % 5000) as i64).collect();
            state = fletch_udfs::hash::splitmix(state);
            let target = 1 + (state % 1500) as i64;
            let out = output_sizes(&sizes, &balance(&sizes, &line(k), target));
            assert!(out.values().all(|&s| s < 2 * target), "{sizes:?} {target} {out:?}");
            assert!(out.values().filter(|&&s| 10 * s < 9 * target).count() <= 1, "{sizes:?} {target} {out:?}");
            assert_eq!(out.values().sum::<i64>(), sizes.iter().sum::<i64>());
        }
    }
}
