//! PIX Manager and Master Patient Index: ITI-8 Patient Identity Feed, ITI-9 PIX Query, ITI-10
//! PIX Update Notification and ITI-21 Patient Demographics Query over HL7 v2 / MLLP, with the
//! review-queue HTTP API.
//!
//! - [`storage`]: records, persons, links, decisions, review queue, history (SQLite/PostgreSQL).
//! - [`matching`]: the record matcher the feed calls.
//! - [`v2`]: ITI-8 / ITI-9 / ITI-21 interpretation, answers and the MLLP listener.
//! - [`manager`]: identity operations, each followed by ITI-10 ([`notify`]).
//! - [`service`]: the `/pix` JSON API; [`server`]: start everything; [`config`]: `[pix_manager]`.
//! - [`batch`]: `hie mpi link`, CSV record linkage through the ITI-8 handler.

pub mod batch;
pub mod config;
pub mod manager;
pub mod matching;
pub mod notify;
pub mod server;
pub mod service;
pub mod storage;
pub mod v2;
