"""Which authorities a user of the "Báo cáo CCHC" page may see, from what Airflow's auth manager knows.

The mapping (README, "Báo cáo CCHC: quyền truy cập"):

- FAB auth manager (docker-compose): a role named ``cchc_<authority_id>`` (e.g. ``cchc_tu-ky``) sees
  that authority; a user may hold several. The role ``Admin`` sees every authority. The roles only
  add authorities: the user also needs Airflow's own read access to the ``cchc_letters`` DAG (the
  ``Viewer`` role gives it), so a role ``cchc_tu-ky`` is given beside ``Viewer`` or ``User``.
- Simple auth manager (``make airflow``, one machine): it has no groups, so every user it logs in
  sees every authority (its ``admin`` included).

Pure functions over role names, so the rule is tested without Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ROLE_PREFIX = "cchc_"
ADMIN_ROLES = frozenset({"Admin"})


@dataclass(frozen=True)
class Access:
    """The authorities one user may see: all of them, or those named."""

    everything: bool = False
    authorities: frozenset[str] = frozenset()

    def allows(self, authority_id: str) -> bool:
        return self.everything or authority_id in self.authorities

    def visible(self, authority_ids: Iterable[str]) -> list[str]:
        """The given authorities this user may see, in their order."""
        return [a for a in authority_ids if self.allows(a)]


NOTHING = Access()
EVERYTHING = Access(everything=True)


def from_roles(role_names: Iterable[str]) -> Access:
    """``Admin`` sees all; ``cchc_<id>`` sees authority ``<id>``; any other role adds nothing."""
    names = {str(n) for n in role_names}
    if names & ADMIN_ROLES:
        return EVERYTHING
    return Access(authorities=frozenset(n[len(ROLE_PREFIX) :] for n in names if n.startswith(ROLE_PREFIX)))


def for_user(user: Any) -> Access:
    """The access of an Airflow user object: a FAB user (``roles``) or a simple auth manager user."""
    roles = getattr(user, "roles", None)
    if roles is not None and not callable(roles):  # FAB: a list of Role rows
        return from_roles(getattr(r, "name", str(r)) for r in roles)
    if hasattr(user, "role"):  # the simple auth manager's user: one role, no groups
        return EVERYTHING
    return NOTHING
