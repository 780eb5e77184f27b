"""Who is asking: the signed-in principal every page query carries, its role and its region scope.

Roles include the ones before them: a steward may do all an analyst may, and so on. The scope is a
region code (`50` for the whole city); a principal sees that region and everything below it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.contract import CITY_CODE

ROLES = ("viewer", "analyst", "steward", "admin")


@dataclass(frozen=True)
class Principal:
    """An account, a wall display, or the open demo, with the role and the region it is confined to."""

    name: str
    role: str
    scope: str
    via: str  # "password", "oidc", "display" or "open" (the demo before any account exists)
    session: str | None = None  # the session row's id, for sign-out and the audit log

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if not self.scope or not self.scope.isdigit():
            raise ValueError(f"scope is not a region code: {self.scope!r}")

    def can(self, role: str) -> bool:
        """True when this principal's role is `role` or one above it."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def covers(self, code: str) -> bool:
        """True when the region `code` lies inside this principal's scope."""
        return str(code).startswith(self.scope)


def open_demo(scope: str | None = None) -> Principal:
    """The principal of the demo while no account exists: every page, no account, still scoped."""
    return Principal(name="", role="analyst", scope=scope or CITY_CODE, via="open")
