//! Integration tests for issue 7: faults, interrupts, hostile input, secrets,
//! host keys, load. Lab host indices 161..=199 and 214..=235 and plain sshd
//! servers on 127.0.3.1..=127.0.3.247 belong to these modules; each test
//! names its own range.
//! Figures for docs/RELIABILITY.md are appended by the tests to
//! target/tmp/reliability-figures.jsonl (see `rig::figure`).

mod rig;

mod faults;
mod hostile;
mod hostkeys;
mod interrupts;
mod load;
mod push_env;
mod reboots;
mod secrets;
mod trials;
