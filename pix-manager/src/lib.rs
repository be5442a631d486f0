//! PIX Manager and Master Patient Index (ITI-8/9/10/21, ITI-44/45).
//!
//! Not built yet: its issue depends on the `schemas` crate. The crate exists so the workspace
//! layout is the final one.

pub mod matching;
