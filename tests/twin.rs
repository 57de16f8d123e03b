//! The appliance twin (issue 13): hosts with real systemd in containers,
//! the real ecs-appliance installed by `ecsfleet install`, its real scripts
//! and unit files in the loop. Twin tests use host indices 100..=160.

mod backup;
mod demo;
mod failure;
mod hosts;
mod install;
mod install_gate;
mod lifecycle;
mod reliability;
mod status;
mod update;
mod vagrant;
