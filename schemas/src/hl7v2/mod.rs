//! HL7 v2: the data types XDS metadata carries in slot and external identifier values
//! (ITI TF-3 Table 4.2.3.1.7-2: CX, HD, XCN, XON, XTN, DTM), ER7 messages ([`message`]), the
//! refusals of a message and their ACK/ERR mapping ([`refusal`]) and MLLP framing ([`mllp`]).
//!
//! Every data type parses with `parse(&str)` and writes back with `Display` exactly as read (same
//! components, same trailing empty components, same escape sequences), and offers the XDS
//! validation rules as separate methods so that a caller can tell a syntax error from a rule
//! XDS imposes.

pub mod message;
pub mod mllp;
pub mod refusal;
mod time;
mod types;

pub use time::{utc_now, utc_timestamp};
pub use types::*;
