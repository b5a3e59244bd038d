"""The README's configuration table names every environment variable and connection the code reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from cchc.core import settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
TABLE = README[README.index("## Configuration") : README.index("Each authority folder holds:")]


@pytest.mark.parametrize("name", sorted(settings.VARIABLES))
def test_every_environment_variable_is_documented(name):
    assert f"`{name}`" in TABLE


@pytest.mark.parametrize("conn_id", sorted(settings.CONNECTIONS))
def test_every_connection_is_documented(conn_id):
    assert f"connection `{conn_id}`" in TABLE
