//! hie
