//! registry
pub mod stored_query;
