//! Shared test helpers: the built binary, temporary sshd servers, lab fleets.
#![allow(dead_code)]
pub mod lab;
pub mod secrets;
pub mod sshd;
