"""Errors of the warehouse stage, in the words an operator reads in the task log and the alert."""

from __future__ import annotations

from cchc.errors import CchcError


class WarehouseError(CchcError):
    """The warehouse cannot be reached or migrated, or refused a load or a computation.

    Whatever raised it, the warehouse is left as it was before the call: every write runs in one
    transaction.
    """


class LoadRefused(WarehouseError):
    """A table of facts cannot be loaded as given; the message names every unit and field at fault."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])
