#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and the integration
# tests against real sshd hosts and the lab (needs root; CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The integration tests drive both binaries: ecsfleet and ecsfleet-lab (the twin).
cargo build --workspace --bins --quiet
cargo test --workspace --quiet
# The long load case (240 hosts, --forks 200; a few minutes on 2 cores).
cargo test --quiet --test integration reliability::load -- --ignored
