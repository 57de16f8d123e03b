#!/bin/bash
# env-create.sh (lab): not simulated; ecsfleet makes envs on the workstation.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
echo "env-create.sh is not simulated in the lab; use \`ecsfleet env new DOMAIN\`" >&2
exit 1
