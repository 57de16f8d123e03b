#!/usr/bin/env bash
# Sets up what is needed and runs the main job against a local lab fleet:
# three simulated ECS appliances are installed, configured, activated, and
# the fleet's status is shown. Needs root (the lab uses namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet
exec target/debug/ecsfleet lab demo --hosts "${HOSTS:-3}" --dir "${LAB_DIR:-lab}"
