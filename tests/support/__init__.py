"""Shared helpers and fixtures of the test suite: one home for each, imported as ``support.<module>``.

- ``paths``: the repository, the seed scenario, the letter tests' data files.
- ``net``: a free TCP port on 127.0.0.1.
- ``authorities``: the one builder of ``Authority`` objects, the small unit lists, an authority's
  config folder on disk (authority.yaml, units.csv), editing a YAML file.
- ``warehouse``: warehouse URLs per backend, migrated engines, the warehouse a run wrote, the extract
  stage's tidy table, table dumps, loading periods and the seed.
- ``postgres``: the local PostgreSQL server (a fresh database per test module, emptying a schema).
- ``decisions``: the rules in force, units and figures for ``decide``, what the rules stage stored.
- ``delivery``: the delivery tests' authority with its distribution lists, a decisions.json, a letter row.
- ``letters``: the letter's text as a reader sees it, JSON files, command output.
- ``smtp``: an aiosmtpd server that stores what it accepts and misbehaves on demand.
- ``portal``: the portal tests' config folder and the OpenAPI spec as a judge.
- ``seed_letter``: the seed letter's printed figures.
- ``fixtures``: the shared pytest fixtures and the automatic markers (registered by tests/conftest.py).

``pyproject.toml`` puts tests/ on ``sys.path`` (pytest's ``pythonpath``), so every test folder imports
these by name; no test imports a sibling folder's module.
"""
