"""Distribution: issue the letter's number, email it to every recipient exactly once, report.

Modules (import from the one that defines a name):

- ``issue``: the next number of the authority's per-year register, gap-free, once per letter;
- ``recipients``: who receives the letter (units, copies, operators) and the allowed domains;
- ``compose``: one recipient's email; ``send``: the SMTP session; ``sink``: a local SMTP sink;
- ``ledger``: one row per (letter, recipient, kind, batch), so that a message goes out once;
- ``distribute``: the distribution itself (or a dry run, or a resend);
- ``status``: the ledger's counts; ``preview``: what a distribution would do, for the approver;
- ``notices``: the operators' summary and the failure alert; ``cli``: ``cchc distribute``.

Typical use in the letters DAG's tasks::

    number = issue_letter(engine, (authority.id, period))        # after approval; same number on retry
    result = distribute(engine, authority, period, smtp)          # or dry_run=True / resend=[...]
    send_summary(engine, authority, result.letter_id, smtp, missing_email=result.missing_email)
    distribution_report(engine, (authority.id, period))          # sent / failed / unknown / pending
"""
