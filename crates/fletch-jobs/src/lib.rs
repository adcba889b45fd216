//! The fletch jobs. Each module is one job: its typed parameters, the SQL
//! steps it runs (from `sql/<job>/`), the few steps that need driver-side
//! Rust, and the outputs it declares. [`framework`] holds what they share.

pub mod dynamodb;
pub mod framework;
pub mod lookalike_prepare;
pub mod quickstart;
pub mod sql_file;
pub mod taar_amodump;
pub mod taar_amowhitelist;
pub mod taar_lite;
pub mod taar_locale;
pub mod taar_profiles;
pub mod taar_similarity;

pub use framework::{Job, JobArgs, ParamSpec, RunContext, RunOptions};

/// Every job, in the order `fletch jobs` lists them.
pub fn all() -> Vec<&'static dyn Job> {
    vec![
        &sql_file::SqlFile,
        &taar_amodump::AmoDump,
        &taar_amowhitelist::AmoWhitelist,
        &taar_locale::TaarLocale,
        &taar_similarity::TaarSimilarity,
        &taar_lite::GuidGuid,
        &taar_lite::GuidRanking,
        &taar_profiles::TaarProfiles,
        &lookalike_prepare::LookalikePrepare,
    ]
}

pub fn find(name: &str) -> Option<&'static dyn Job> {
    all().into_iter().find(|j| j.name() == name)
}
