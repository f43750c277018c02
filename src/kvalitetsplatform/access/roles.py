"""Roles: what each kind of user may see, stated once. The gate reads these; nothing else decides access."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

NATIONAL = "DK"  # the scope code of national grants (public viewers, KiAP administrators)


class Role(StrEnum):
    GP = "gp"
    PRACTICE_STAFF = "practice_staff"
    CLUSTER_COORDINATOR = "cluster_coordinator"
    REGIONAL_QUALITY_UNIT = "regional_quality_unit"
    MUNICIPALITY = "municipality"
    PUBLIC_VIEWER = "public_viewer"
    KIAP_ADMIN = "kiap_admin"


class Purpose(StrEnum):
    """Why a clinical user looks up patient data (Sundhedsloven)."""

    TREATMENT = "42a"  # § 42 a: current treatment
    QUALITY = "42d"  # § 42 d: quality assurance and development


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    scope_level: str  # the kind of org unit a grant names: practice | cluster | region | municipality | national
    clinical: bool  # patient rows (worklists, identity look-ups) for the own practice
    sees_results: bool
    admin: bool  # packages, users, deliveries, usage
    label_da: str


ROLES: dict[Role, RoleSpec] = {s.role: s for s in (
    RoleSpec(Role.GP, "practice", True, True, False, "Praktiserende læge"),
    RoleSpec(Role.PRACTICE_STAFF, "practice", True, True, False, "Praksispersonale"),
    RoleSpec(Role.CLUSTER_COORDINATOR, "cluster", False, True, False, "Klyngekoordinator"),
    RoleSpec(Role.REGIONAL_QUALITY_UNIT, "region", False, True, False, "Regional kvalitetsenhed"),
    RoleSpec(Role.MUNICIPALITY, "municipality", False, True, False, "Kommune"),
    RoleSpec(Role.PUBLIC_VIEWER, "national", False, True, False, "Offentlig/politisk oversigt"),
    RoleSpec(Role.KIAP_ADMIN, "national", False, False, True, "KiAP-administrator"),
)}

ORG_LEVELS = ("practice", "cluster", "region", "municipality", "national")
PEER_DISPLAY = ("names", "letters")


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"ukendt rolle {value!r}; gyldige roller: {', '.join(r.value for r in Role)}") from None


def purpose_of(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError:
        raise ValueError(f"ukendt formål {value!r}: brug 42a (aktuel behandling) eller 42d (kvalitetsarbejde)") \
            from None
