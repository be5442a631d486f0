//! Imaging Document Source and Consumer (RAD-68, RAD-69, WADO-RS, WADO-URI, import reconciliation).
//!
//! Not built yet: its issue depends on the registry, repository and PIX manager. The crate exists
//! so the workspace layout is the final one.
