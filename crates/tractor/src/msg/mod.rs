//! wire messages
