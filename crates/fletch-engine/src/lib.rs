//! The machinery every fletch job stands on: sessions (embedded or on a
//! Ballista cluster), the scheduler and executor processes, object stores,
//! the catalog of input tables, SQL scripts with typed parameters, progress
//! output and the output transaction.

pub mod auth;
pub mod aws;
pub mod batches;
pub mod broadcast_joins;
pub mod catalog;
pub mod cluster;
pub mod codec;
pub mod confined;
pub mod db;
pub mod dialect;
pub mod distribute_by;
pub mod error;
pub mod external_tables;
pub mod faults;
pub mod flight_sql;
pub mod gcs;
pub mod gzip_lines;
pub mod location;
pub mod long_poll;
pub mod memory;
pub mod outputs;
pub mod params;
pub mod progress;
pub mod recovery;
pub mod remote;
pub mod script;
pub mod server;
pub mod session;
pub mod signals;
pub mod similar_users;
pub mod sized_jobs;
pub mod split_sink;
pub mod stores;
pub mod tsv;
pub mod view_types;
pub mod work_items;

pub use error::{Error, Result};
pub use location::Location;
