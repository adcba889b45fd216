//! Functions over lists and the vectors they hold.

mod centroids;
mod list_size;
mod mean_top_similarity;
mod nearest_centroid;
mod normalize_scores;
mod score_vector;
mod squared_norm;
mod taar_distance;

pub use centroids::{Centroids, distance2};
pub use list_size::ListSize;
pub use mean_top_similarity::{MeanTopSimilarity, Measure, SeedSimilarity};
pub use nearest_centroid::NearestCentroid;
pub use normalize_scores::NormalizeScores;
pub use score_vector::ScoreVector;
pub use squared_norm::SquaredNorm;
pub use taar_distance::{TaarDistance, client_distance};

scalar_udf!(list_size, ListSize::new());
scalar_udf!(mean_top_similarity, MeanTopSimilarity::new());
scalar_udf!(nearest_centroid, NearestCentroid::new());
scalar_udf!(normalize_scores, NormalizeScores::new());
scalar_udf!(score_vector, ScoreVector::new());
scalar_udf!(squared_norm, SquaredNorm::new());
scalar_udf!(taar_distance, TaarDistance::new());
