//! XDS Document Repository (ITI-41 Provide and Register, ITI-43 Retrieve, ITI-86 Remove).
//!
//! Not built yet: its issue depends on the registry. The crate exists so the workspace layout is
//! the final one.
