"""Who a report is for. A report is made once per audience (a practice's clinical users, a cluster's coordinators, a
region's quality unit) and read through the gate as that audience: with a principal that holds exactly the
audience's grant, so the report shows what every member of the audience may see and nothing more.

A report is visible only to people who hold one of the audience's roles on the same unit. A cluster's meeting pack
is not given to the cluster's GPs: a GP knows their own practice's exact numbers and could subtract them from the
pack's totals (disclosure control for the coordinator's view does not count on that knowledge).
"""

from __future__ import annotations

from dataclasses import dataclass

from kvalitetsplatform.access.principal import Grant, Principal
from kvalitetsplatform.access.roles import Role

KINDS = ("practice", "cluster", "region")


@dataclass(frozen=True)
class Audience:
    kind: str  # practice | cluster | region: the report and the level of its unit
    code: str  # ydernummer | cluster id | region code

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ukendt rapporttype {self.kind!r}; brug en af: {', '.join(KINDS)}")

    @property
    def role(self) -> Role:
        """The role the report is read as."""
        return READ_AS[self.kind]

    @property
    def roles(self) -> tuple[Role, ...]:
        """The roles that may open it (on the same unit)."""
        return OPENED_BY[self.kind]

    def principal(self) -> Principal:
        """The audience as a principal for the gate: the one grant, no user (user id 0 is never a real user)."""
        return Principal(0, f"rapport:{self.kind}:{self.code}", (Grant(self.role, self.kind, self.code),))

    def admits(self, principal: Principal) -> bool:
        return any(g.role in self.roles and g.scope_level == self.kind and g.scope_code == self.code
                   for g in principal.grants)


READ_AS = {"practice": Role.GP, "cluster": Role.CLUSTER_COORDINATOR, "region": Role.REGIONAL_QUALITY_UNIT}
OPENED_BY = {"practice": (Role.GP, Role.PRACTICE_STAFF), "cluster": (Role.CLUSTER_COORDINATOR,),
             "region": (Role.REGIONAL_QUALITY_UNIT,)}


def audiences_of(principal: Principal) -> list[Audience]:
    """Every audience the person belongs to."""
    found = {Audience(kind, g.scope_code) for g in principal.grants for kind, roles in OPENED_BY.items()
             if g.role in roles and g.scope_level == kind}
    return sorted(found, key=lambda a: (KINDS.index(a.kind), a.code))
