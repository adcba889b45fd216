//! Functions over lists and the vectors they hold.

mod list_size;
mod taar_distance;

pub use list_size::ListSize;
pub use taar_distance::{TaarDistance, client_distance};

scalar_udf!(list_size, ListSize::new());
scalar_udf!(taar_distance, TaarDistance::new());
