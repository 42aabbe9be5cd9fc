"""Access roles: who may see what. A leaf module: the API and the services both read it.

Every HTTP endpoint declares one :class:`Access` (the set of roles allowed); a test walks the
route table and checks every role against every endpoint.

- ``public``: anonymous; aggregated cells at coarse resolutions only, small counts suppressed,
  public categories only, no free text.
- ``partner``: a partner service pushing data; otherwise sees what the public sees.
- ``planner``: aggregates, hot spots, polygon reports, saved zones; never raw events.
- ``agent``: city staff handling residents' reports (Open311): what a planner sees, plus the
  reports with their personal data and photos, and their workflow.
- ``analyst``: everything a planner sees, plus raw events (and residents' reports, as agents).
- ``admin``: everything, including key management.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The role an API key carries (``public`` is the anonymous caller)."""

    PUBLIC = "public"
    PARTNER = "partner"
    PLANNER = "planner"
    AGENT = "agent"
    ANALYST = "analyst"
    ADMIN = "admin"


KEY_ROLES = (Role.ADMIN, Role.ANALYST, Role.AGENT, Role.PLANNER, Role.PARTNER)
"""Roles an API key may be created with (``public`` needs no key)."""


class Access(frozenset[Role]):
    """The roles allowed on an endpoint or a collection."""

    name: str

    def __new__(cls, name: str, roles: set[Role]) -> Access:
        obj = super().__new__(cls, roles)
        obj.name = name
        return obj

    def allows(self, role: Role) -> bool:
        """Whether ``role`` may use what this access protects.

        Examples
        --------
        >>> AGGREGATES.allows(Role.PLANNER), RAW_EVENTS.allows(Role.PLANNER)
        (True, False)
        """
        return role in self

    def __repr__(self) -> str:
        return f"Access({self.name})"


EVERYONE = Access("everyone", set(Role))
"""Public figures: area outlines, the grid, thresholded coarse counts."""
AGGREGATES = Access("aggregates", {Role.PLANNER, Role.AGENT, Role.ANALYST, Role.ADMIN})
"""Fine aggregated figures, hot spots, reports and saved zones."""
RAW_EVENTS = Access("raw_events", {Role.ANALYST, Role.ADMIN})
"""Individual events with their free text."""
BULLETINS = Access("bulletins", {Role.ANALYST, Role.ADMIN})
"""The weekly bulletin for decision makers (aggregates only, but staff figures unthresholded)."""
INGESTION = Access("ingestion", {Role.PARTNER, Role.ADMIN})
"""Pushing data."""
ADMINISTRATION = Access("administration", {Role.ADMIN})
"""Key management."""
REPORTING = Access("reporting", set(KEY_ROLES))
"""Filing a resident's report (Open311 ``POST requests``): any valid key (Open311 ``api_key``)."""
ALERTS = Access("alerts", {Role.ANALYST, Role.ADMIN})
"""Alert rules ("veille"): an analyst's own, an administrator's all."""
RESIDENT_REPORTS = Access("resident_reports", {Role.AGENT, Role.ANALYST, Role.ADMIN})
"""Residents' reports with their personal data and photos, and their workflow."""


def is_restricted(role: Role) -> bool:
    """Whether ``role`` only sees public, thresholded figures (the public and partners)."""
    return role in (Role.PUBLIC, Role.PARTNER)
