"""The approval of one authority's letter ("Duyệt phát hành"): Airflow's human-in-the-loop approval,
asked per authority, of that authority's approvers, with its own timeout.

At run time, from the rendered letter (``letter``, templated from the render task's XCom): no approval
is asked when the letter needs none (a letter that went out already, a revision report, a dry run, or an
authority that does not require approval) — the task skips itself and the issue goes on. Otherwise
the subject, the text (the draft's PDF, its recipients, its content hash), the assigned users and
the timeout come from the authority's ``distribution:`` block, and the approvers get the request by
email with the draft attached. The answer (and what was approved) is recorded in the warehouse:
Airflow's own screen is not the record of what was approved.

Light to import (the DAG file imports it at parse time): the stages are imported when it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

PLACEHOLDER = "Duyệt phát hành công văn CCHC"


class LetterApproval(ApprovalOperator):
    template_fields = (*ApprovalOperator.template_fields, "letter")

    def __init__(self, *, letter: Any, **kwargs: Any) -> None:
        super().__init__(subject=PLACEHOLDER, body=None, defaults="Reject", **kwargs)
        self.letter = letter

    def execute(self, context: Any) -> Any:
        from airflow.sdk.exceptions import AirflowSkipException

        from cchc.pipeline import tasks

        tasks.label(self.letter)
        request = tasks.approval_request(self.letter, context.get("params"))
        if request is None:
            raise AirflowSkipException("công văn này không cần duyệt")
        self.subject = request["subject"]
        self.body = request["body"]
        self.response_timeout = timedelta(hours=float(request["timeout_hours"]))
        self.assigned_users = request["assigned_users"] or None
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from cchc.pipeline import tasks

        tasks.label(self.letter)  # a new process resumes the task: name its instance again
        chosen = (event.get("chosen_options") or [self.REJECT])[0] if "error" not in event else self.REJECT
        try:
            return super().execute_complete(context, event)
        finally:
            # Rejected (or timed out: the default is Reject) and approved alike are recorded.
            tasks.record_approval(self.letter, chosen, event.get("responded_by_user"), context.get("run_id"))
