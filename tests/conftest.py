"""Shared test setup: an isolated Airflow home and the seed scenario, set before anything imports Airflow.

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports it. Tests never touch the developer's .airflow/ or output/. The shared helpers
and fixtures live in the package tests/support/ (its fixtures are registered just below).
"""

from __future__ import annotations

import os

from support.paths import AIRFLOW_TEST_HOME, DAGS, ROOT, SEED_CONFIG

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_TEST_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
os.environ["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "120"
os.environ.setdefault("NO_COLOR", "1")
# A developer's shell may point these at real systems; tests define their own.
for name in (
    "AIRFLOW_CONN_CCHC_PORTAL",
    "AIRFLOW_CONN_CCHC_WAREHOUSE",
    "AIRFLOW_CONN_SMTP_DEFAULT",
    "CCHC_INBOX_DIR",
):
    os.environ.pop(name, None)
os.environ["CCHC_CONFIG_DIR"] = str(SEED_CONFIG)

pytest_plugins = ["support.fixtures", "support.standalone_server"]
