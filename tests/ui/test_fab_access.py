"""With the FAB auth manager (docker-compose's), an operator sees only the authorities his roles name.

Airflow's API app runs with FAB over the test metadata database (its tables added by
``airflow fab-db migrate``); the users and roles are made with FAB's own security manager, and each
request carries the JWT FAB issues for that user. The mapping is the README's: ``cchc_<authority>``
sees that authority, ``Admin`` sees all, ``Viewer`` gives the read access to the DAGs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ui_month import AUTHORITY, OTHER, PERIOD

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@pytest.fixture(scope="module")
def fab(airflow_db, ui_month):
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__CORE__AUTH_MANAGER", FAB)
        mp.setenv("CCHC_CONFIG_DIR", str(ui_month.config))
        mp.setenv("CCHC_OUTPUT_DIR", str(ui_month.out))
        mp.delenv("CCHC_WAREHOUSE_URL", raising=False)
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "fab-db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
        from airflow.api_fastapi.app import create_app, get_auth_manager, purge_cached_app
        from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

        purge_cached_app()
        app = create_app(apps="core")
        manager = get_auth_manager()
        tokens = {}
        with get_application_builder() as appbuilder:
            sm = appbuilder.sm
            viewer = sm.find_role("Viewer")
            for username, roles in (
                ("op-tuky", [viewer, sm.find_role(f"cchc_{AUTHORITY}") or sm.add_role(f"cchc_{AUTHORITY}")]),
                ("op-khac", [viewer, sm.find_role(f"cchc_{OTHER}") or sm.add_role(f"cchc_{OTHER}")]),
                ("quan-tri", [sm.find_role("Admin")]),
                ("chi-xem", [viewer]),
            ):
                user = sm.find_user(username=username) or sm.add_user(
                    username, username, "CCHC", f"{username}@example.vn", roles, password="mat-khau-thu"
                )
                tokens[username] = manager.generate_jwt(user)
        with TestClient(app, base_url="http://localhost") as client:
            yield client, tokens
        purge_cached_app()


def get(client, token, path, authority, **params):
    return client.get(
        path, params={"authority": authority, "period": PERIOD, **params}, cookies={"_token": token}
    )


PATHS = ["/cchc/", "/cchc/units", "/cchc/units/X-HD", "/cchc/units.csv", "/cchc/deliveries", "/cchc/files"]


def test_an_operator_sees_his_authority_only_pages_and_files(fab):
    client, tokens = fab
    mine, theirs = tokens["op-tuky"], tokens["op-khac"]
    for path in PATHS:
        assert get(client, mine, path, AUTHORITY).status_code == 200, path
        assert get(client, theirs, path, AUTHORITY).status_code == 403, path
        assert get(client, theirs, path, OTHER).status_code == 200, path
    assert get(client, mine, "/cchc/download/letter-pdf", AUTHORITY).content.startswith(b"%PDF")
    assert get(client, theirs, "/cchc/download/letter-pdf", AUTHORITY).status_code == 403
    docs = f"/cchc/datadocs/{AUTHORITY}/{PERIOD}/index.html"
    assert client.get(docs, cookies={"_token": mine}).status_code == 200
    assert client.get(docs, cookies={"_token": theirs}).status_code == 403


def test_the_choice_of_authorities_lists_only_those_the_roles_allow(fab):
    from lxml import html

    client, tokens = fab
    response = client.get("/cchc/units", cookies={"_token": tokens["op-khac"]})
    assert response.status_code == 200
    options = html.fromstring(response.text).xpath("//select[@id='authority']/option/@value")
    assert options == [OTHER]
    admin = client.get("/cchc/units", cookies={"_token": tokens["quan-tri"]})
    assert html.fromstring(admin.text).xpath("//select[@id='authority']/option/@value") == [OTHER, AUTHORITY]


def test_a_viewer_without_an_authority_role_is_refused(fab):
    client, tokens = fab
    assert get(client, tokens["chi-xem"], "/cchc/", AUTHORITY).status_code == 403
    assert client.get("/cchc/", cookies={"_token": tokens["chi-xem"]}).status_code == 403
