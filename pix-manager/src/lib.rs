//! PIX Manager and Master Patient Index: ITI-8 Patient Identity Feed, ITI-9 PIX Query, ITI-10
//! PIX Update Notification and ITI-21 Patient Demographics Query over HL7 v2 / MLLP, ITI-44
//! Patient Identity Feed HL7 V3 and ITI-45 PIXV3 Query over SOAP, with the review-queue HTTP API.
//!
//! - [`storage`]: records, persons, links, decisions, review queue, history (SQLite/PostgreSQL).
//! - [`matching`]: the record matcher the feed calls.
//! - [`v2`]: ITI-8 / ITI-9 / ITI-21 interpretation, answers and the MLLP listener.
//! - [`v3`]: ITI-44 / ITI-45 interpretation and answers (SOAP 1.2 on `POST /pix`).
//! - [`manager`]: identity operations, each followed by ITI-10 ([`notify`]).
//! - [`service`]: the `/pix` SOAP endpoint and JSON API; [`server`]: start everything;
//!   [`config`]: `[pix_manager]`.
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
pub mod v3;
