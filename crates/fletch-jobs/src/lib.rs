//! The fletch jobs. Each module is one job: its declaration, the SQL steps it
//! runs (from `sql/<job>/`), the few steps that need driver-side Rust, and
//! the outputs it stages. [`framework`] is the job model they share.

pub mod ab_readout;
pub mod access_logs;
pub mod db_import;
pub mod framework;
pub mod ising_denoise;
pub mod lookalike_audience;
pub mod lookalike_prepare;
pub mod lookalike_scores;
pub mod lookalike_similarity;
pub mod lookalike_vectors;
pub mod pflip;
pub mod proportions;
mod sampled_kmeans;
pub mod sql_file;
pub mod taar;

pub use framework::{Job, JobArgs, JobSpec, RunContext, RunOptions};

/// Every job, in the order `fletch jobs` lists them.
pub fn all() -> Vec<&'static dyn Job> {
    vec![
        &sql_file::SqlFile,
        &taar::amodump::AmoDump,
        &taar::update_whitelist::UpdateWhitelist,
        &taar::amowhitelist::AmoWhitelist,
        &taar::locale::TaarLocale,
        &taar::similarity::TaarSimilarity,
        &taar::lite_guidguid::GuidGuid,
        &taar::lite_guidranking::GuidRanking,
        &taar::collaborative::TaarCollaborative,
        &taar::ensemble::TaarEnsemble,
        &taar::profiles::TaarProfiles,
        &lookalike_prepare::LookalikePrepare,
        &lookalike_scores::LookalikeScores,
        &lookalike_vectors::LookalikeVectors,
        &lookalike_similarity::LookalikeSimilarity,
        &lookalike_audience::seeds::LookalikeSeeds,
        &lookalike_audience::clusters::LookalikeClusters,
        &lookalike_audience::extend::LookalikeExtend,
        &lookalike_audience::validate::LookalikeValidate,
        &ab_readout::AbReadout,
        &ising_denoise::IsingDenoise,
        &pflip::features::PflipFeatures,
        &pflip::train::PflipTrain,
        &pflip::predict::PflipPredict,
        &access_logs::AccessLogs,
        &db_import::DbImport,
    ]
}

pub fn find(name: &str) -> Option<&'static dyn Job> {
    all().into_iter().find(|j| j.spec().name == name)
}
