"""ecs.core.models stand-in: EthicsCommission (table core_ethicscommission)."""
from ecslab.orm import Model


class EthicsCommission(Model):
    _table = 'core_ethicscommission'
    _fields = {'uuid': '', 'name': '', 'city': ''}

    def __str__(self):
        return self.name
