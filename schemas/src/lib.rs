//! Wire formats of the XDS-I.b broker: the only crate that knows XML, SOAP, MTOM and HL7 v2 details.
//!
//! - [`xml`]: hardened XML reading (no DTD, no external entities, bounded size and depth).
//! - [`soap`]: SOAP 1.2 envelopes, WS-Addressing 1.0 headers, IHE action URIs, SOAP Faults.
//! - [`mtom`]: MTOM/XOP `multipart/related` reading and writing, streamed part by part.
//! - [`ebrim`]: ebXML RegRep 3.0 objects and messages (rim, rs, lcm, query).
//! - [`ihe`]: XDS.b, XDS-I.b and RMD message bodies (Provide and Register, Retrieve, Remove).
//! - [`xds`]: the XDS metadata model (DocumentEntry, SubmissionSet, Folder, Association) and its
//!   lossless mapping to ebRIM.
//! - [`hl7v2`]: HL7 v2 data types used in XDS slots (CX, XCN, XON, XTN, DTM).
//! - [`constants`]: the standard UUIDs, URNs and stored query ids.

pub mod constants;
pub mod ebrim;
pub mod hl7v2;
pub mod hl7v3;
pub mod ihe;
pub mod mtom;
pub mod soap;
pub mod xds;
pub mod xml;
