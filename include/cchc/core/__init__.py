"""The core: what every stage uses, importing no stage (and nothing of ``cchc`` outside ``cchc.core``).

- ``settings``: every environment variable and Airflow connection id, read in one place;
- ``paths``: the period folder ``<output>/<authority>/<period>/`` and every artefact in it;
- ``files``: atomic writes (a reader sees the old file or the new one, never half of one), hashes;
- ``db``: the warehouse engine (SQLite or PostgreSQL), masked URLs, transactions on an Engine or a
  Connection, advisory locks, database errors an operator can read;
- ``errors``: the errors a user or operator sees;
- ``periods``: reporting months; ``authorities``: an authority folder (authority.yaml, units.csv …);
- ``fields``: the counts, metrics and windows every stage speaks of;
- ``percent``: how a rate is shown (half-up on the exact fraction, decimal comma);
- ``wording``: the Vietnamese phrasing shared by the decisions, the letter and the emails.
"""
