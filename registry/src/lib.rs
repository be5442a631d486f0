//! XDS Document Registry (ITI-42 Register, ITI-18 Stored Query, ITI-57 Update, ITI-62 Delete,
//! patient identity feed).

pub mod code_lists;
pub mod config;
pub mod delete;
pub mod identity_feed;
pub mod register;
pub mod server;
pub mod service;
pub mod storage;
pub mod stored_query;
pub mod update;
