//! HL7 v2.5 data types as XDS metadata uses them in slot and external identifier values
//! (ITI TF-3 Table 4.2.3.1.7-2): CX, HD, XCN, XON, XTN and the DTM timestamps.
//!
//! Every type parses with `parse(&str)` and writes back with `Display` exactly as read (same
//! components, same trailing empty components, same escape sequences), and offers the XDS
//! validation rules as separate methods so that a caller can tell a syntax error from a rule
//! XDS imposes.

mod types;

pub use types::*;
