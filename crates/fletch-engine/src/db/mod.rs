//! Relational databases as sources (`db-import`): PostgreSQL, MySQL/MariaDB
//! and SQLite through datafusion-table-providers, read in key-range splits
//! that run on the executors.

pub mod scan;
pub mod select;
pub mod source;

pub use scan::{DbScan, DbScanExec, DbTable};
pub use select::{From, Select};
pub use source::{Engine, Pool, Source};
