//! The binary's integration tests: one test binary, one module per area.
//! Tests that start sshd or the lab need root (namespaces, bind mounts, port 22);
//! CI runs as root.

mod support;

mod env_cmd;
mod env_package;
mod fleet_ops;
mod lab;
mod lifecycle;
mod operator;
mod ops;
mod reliability;
mod session_shell;
mod size_init;
mod ssh;
mod twin;
