//! Black-box conformance tests of the broker against the official schemas and real peers.
