"""Distribution: issue the letter's number, email it to every recipient exactly once, report.

Typical use in the letters DAG's tasks::

    number = issue_letter(engine, (authority.id, period))        # after approval; same number on retry
    smtp = smtp_settings_from_connection(BaseHook.get_connection("smtp_default"))
    result = distribute(engine, authority, period, smtp, batch=None)   # or dry_run=True / resend=[...]
    result.as_dict()                                             # small dict for XCom
    send_summary(engine, authority, result.letter_id, smtp, missing_email=result.missing_email)
    distribution_report(engine, (authority.id, period))          # sent / failed / unknown / pending
    failure_alert_message(context, sender=..., to=[...])         # from an on_failure_callback

The names are imported lazily: ``cchc.delivery.tables`` is imported by the warehouse schema (so that
the schema-vs-migrations check sees the ledger), and must not pull the whole stage, which itself
imports the warehouse, while the schema module is still loading.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DeliveryError": "cchc.delivery.errors",
    "RecipientRefused": "cchc.delivery.errors",
    "SmtpUnavailable": "cchc.delivery.errors",
    "Contact": "cchc.delivery.recipients",
    "DistributionConfig": "cchc.delivery.recipients",
    "Recipient": "cchc.delivery.recipients",
    "RecipientPlan": "cchc.delivery.recipients",
    "check_allowed": "cchc.delivery.recipients",
    "distribution_config": "cchc.delivery.recipients",
    "plan_recipients": "cchc.delivery.recipients",
    "select": "cchc.delivery.recipients",
    "MailContext": "cchc.delivery.compose",
    "compose_message": "cchc.delivery.compose",
    "subject_line": "cchc.delivery.compose",
    "attachment_name": "cchc.delivery.compose",
    "LetterRef": "cchc.delivery.letters",
    "find_letter": "cchc.delivery.letters",
    "Delivery": "cchc.delivery.ledger",
    "message_id": "cchc.delivery.ledger",
    "settle_unknown": "cchc.delivery.ledger",
    "SmtpSettings": "cchc.delivery.send",
    "SmtpSession": "cchc.delivery.send",
    "smtp_settings_from_connection": "cchc.delivery.send",
    "connection_from_uri": "cchc.delivery.send",
    "DistributionResult": "cchc.delivery.distribute",
    "distribute": "cchc.delivery.distribute",
    "prepare": "cchc.delivery.distribute",
    "issue_letter": "cchc.delivery.issue",
    "document_number_text": "cchc.delivery.issue",
    "distribution_report": "cchc.delivery.report",
    "distribution_preview": "cchc.delivery.report",
    "approval_summary": "cchc.delivery.report",
    "summary_message": "cchc.delivery.report",
    "send_summary": "cchc.delivery.report",
    "send_notice": "cchc.delivery.report",
    "failure_alert_text": "cchc.delivery.report",
    "failure_alert_message": "cchc.delivery.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cchc.delivery' has no attribute {name!r}")
    return getattr(import_module(module), name)
