"""Decisions: the rulebook, commend / remind / criticise / request, escalation, decisions.json.

Modules (import from the one that defines a name):

- ``rulebook``: the rulebook file and its dated versions (``load_rulebook``, ``campaign_starts_for``);
- ``decide``: pure functions from a period's figures to decisions and the letter's sections;
- ``document``: decisions.json built from those (docs/decisions.md);
- ``store``: the decisions in the warehouse and decisions.json on disk;
- ``escalation``: the n-th criticism of the year, and recounts when an earlier period changes;
- ``history``: history.csv, the criticisms issued before the system existed;
- ``service``: ``decide_period``, the whole stage for one authority and period;
- ``summary``: the decisions in Vietnamese for an operator; ``cli``: ``cchc decide``.

Typical use in a task::

    starts = campaign_starts_for(authority, period)          # for warehouse.rates.compute_rates
    compute_rates(engine, authority.id, period, starts)
    result = decide_period(engine, authority, period, run_id=run_id)
    result.summary()                                         # small dict for XCom
"""
