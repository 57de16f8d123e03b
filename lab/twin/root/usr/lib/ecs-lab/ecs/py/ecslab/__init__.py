"""ecs-lab: the small stand-in for the ECS Django application (see lab/TWIN-DOCKER.md)."""
