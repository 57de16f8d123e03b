"""ecs-lab stand-in: the few pieces of Django 1.8 the appliance's helper scripts import."""
VERSION = (1, 8, 17, 'final', 0)


def get_version():
    return '1.8.17'
