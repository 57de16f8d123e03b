//! Integration tests for issue 7: faults, interrupts, hostile input, secrets, host keys, load.
