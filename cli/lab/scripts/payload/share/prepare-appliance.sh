# prepare-appliance.sh (ecsfleet lab): placeholder installed by the simulated highstate
