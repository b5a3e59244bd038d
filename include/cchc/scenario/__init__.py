"""Scenarios: configuration folders made up for demonstrations, tests and measurements.

- ``roles``: the arithmetic a scenario is built with (shown rates, the decisions a unit's counts lead
  to, the CSV files of an authority folder), shared by scenarios/build_province.py and ``generate``;
- ``data``: the 34 provinces and cities after the merger of 1 July 2025, their departments and the
  place-name syllables of their communes;
- ``generate``: ``cchc scenario generate``, a national configuration (one folder per province).
"""
