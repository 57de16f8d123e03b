#!/bin/bash
# env-package.sh (lab): not simulated; ecsfleet packages envs on the workstation.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
echo "env-package.sh is not simulated in the lab; use \`ecsfleet env package FILE\`" >&2
exit 1
