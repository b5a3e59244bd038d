"""The warehouse: unit registry with history, versioned monthly facts, rates computed in SQL, and the
tables of every later stage.

SQLAlchemy Core over SQLite (the embedded default, ``<output>/warehouse.db``) or PostgreSQL, with the
schema under Alembic migrations shipped in this package. Modules (import from the one that defines
a name): ``schema`` (every table), ``migrate`` (Alembic), ``load`` (registry and facts), ``rates``
(month, year-to-date and campaign rates), ``cli`` (``cchc warehouse``). The engine and the masked
URLs are the core's (``cchc.core.db``). Typical use in a task::

    engine = engine_for(url)
    upgrade(engine)
    sync_units(engine, authority, period)
    load_facts(engine, authority.id, period, frame, run_id, source)
    compute_rates(engine, authority.id, period, {"payment": "2023-04"})
    rates_summary(engine, authority.id, period)
"""
