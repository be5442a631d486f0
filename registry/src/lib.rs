//! registry: the XDS Document Registry (ITI-42, ITI-18, ITI-57, ITI-62).

pub mod storage;
