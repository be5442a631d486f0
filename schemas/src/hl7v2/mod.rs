//! (to be written)
pub mod message;
pub mod mllp;
