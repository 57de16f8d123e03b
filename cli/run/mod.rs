//! Fan-out of work over many hosts.
