//! XDS-I.b Imaging Document Source: RAD-69 Retrieve Imaging Document Set (instances streamed
//! from the local instance store or the hospital PACS into an MTOM answer), WADO-RS and
//! WADO-URI, and a C-STORE SCP feeding the instance store.

pub mod config;
pub mod dicomweb;
pub mod instance_store;
pub mod rad69;
pub mod server;
pub mod service;
pub mod source;
pub mod store_scp;
pub mod study;
pub mod wado;
