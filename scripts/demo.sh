#!/usr/bin/env bash
# Sets up what is needed and runs the main job on a local twin fleet: three
# twin hosts (containers with real systemd, sshd and PostgreSQL) get the real
# ecs-appliance installed, an env each, activated, a first user, and the
# fleet's status is shown. Needs root (the twin boots containers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --workspace --bins
exec target/debug/ecsfleet-lab demo --hosts "${HOSTS:-3}" --dir "${LAB_DIR:-lab}"
