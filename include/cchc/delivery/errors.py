"""Errors of the distribution stage, worded for the operator who reads the task log or the alert."""

from __future__ import annotations

from typing import Any

from cchc.core.errors import CchcError


class DeliveryError(CchcError):
    """The distribution cannot start or cannot go on (configuration, letter, warehouse, SMTP server)."""


class RecipientRefused(DeliveryError):
    """One or more recipients are outside the authority's allowed domains; nothing has been sent.

    ``refused`` lists ``(who, address)`` pairs, ``who`` naming the unit or the list the address came from.
    """

    def __init__(self, message: str, refused: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.refused = list(refused)


class SmtpUnavailable(DeliveryError):
    """The SMTP server could not be reached or refused the session (login) after every attempt.

    Messages not yet handed over stay ``pending`` in the ledger: a retry of the task sends them.
    ``result`` is the distribution's ``DistributionResult`` so far, when raised by ``distribute``.
    """

    result: Any = None
