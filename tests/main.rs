//! Integration tests of the `fletch` binary: one test binary for the whole
//! workspace, since each one links DataFusion again.

mod ab_readout;
mod access_logs;
mod chaos;
mod cli_errors;
mod cluster_faults;
mod db_import;
mod deploy;
mod distributed;
mod flight_sql;
mod ising;
mod jobs;
mod lookalike_audience;
mod lookalike_prepare;
mod lookalike_scores;
mod lookalike_service;
mod operator;
mod pflip;
mod reliability;
mod s3;
mod security;
mod taar_collaborative;
mod taar_ensemble;
mod taar_lite;
mod taar_locale;
mod taar_profiles;
mod taar_similarity;
mod support;
