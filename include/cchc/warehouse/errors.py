"""Errors of the warehouse stage, in the words an operator reads in the task log and the alert.

``WarehouseError`` itself lives in ``cchc.core.errors``: the database helpers of the core raise it too.
"""

from __future__ import annotations

from cchc.core.errors import WarehouseError


class LoadRefused(WarehouseError):
    """A table of facts cannot be loaded as given; the message names every unit and field at fault."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])
