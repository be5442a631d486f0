//! imaging-source
