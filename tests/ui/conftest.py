"""The "Báo cáo CCHC" page's fixtures: the seed month (support.ui_month) and Airflow's API app.

``airflow_client`` is Airflow's own API app (``create_app``), which loads plugins/cchc_reports.py as
the API server does, with the simple auth manager; ``token`` is a JWT that auth manager issued.
"""

from __future__ import annotations

import pytest
from support.ui_month import Month, build_month, simple_token


@pytest.fixture(scope="session")
def ui_month(tmp_path_factory) -> Month:
    return build_month(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def airflow_client(airflow_db, ui_month, tmp_path_factory):
    """Airflow's API app with the plugin loaded, reading ``ui_month`` (no user: add ``token``)."""
    from fastapi.testclient import TestClient

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CCHC_CONFIG_DIR", str(ui_month.config))
        mp.setenv("CCHC_OUTPUT_DIR", str(ui_month.out))
        mp.delenv("CCHC_WAREHOUSE_URL", raising=False)
        mp.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer")
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        from airflow.api_fastapi.app import create_app, purge_cached_app

        purge_cached_app()
        with TestClient(create_app(apps="core"), base_url="http://localhost") as client:
            yield client
        purge_cached_app()


@pytest.fixture(scope="module")
def token(airflow_client) -> str:
    return simple_token()


@pytest.fixture(scope="module")
def client(airflow_client, token):
    """The API app as the logged-in UI calls it: the JWT in the ``_token`` cookie."""
    airflow_client.cookies.set("_token", token)
    yield airflow_client
    airflow_client.cookies.clear()
