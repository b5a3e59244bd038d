"""Extracted tables built from the seed's monthly.csv, written where the extract stage puts them."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from support.paths import SEED_CONFIG

from cchc.core.authorities import Authority, load_authority
from cchc.core.fields import COUNT_FIELDS

AUTHORITY_ID = "tu-ky"
AUGUST = "2023-08"
HEADER = ["authority", "period", "unit_code", *COUNT_FIELDS, "official_email_regular", "source"]


def seed_rows(period: str) -> list[dict[str, str]]:
    """The seed month as the extract stage writes it: text cells, authority/period/source added."""
    with (SEED_CONFIG / AUTHORITY_ID / "monthly.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["period"] == period]
    return [{"authority": AUTHORITY_ID, "source": "api", **r} for r in rows]


@pytest.fixture(scope="session")
def authority() -> Authority:
    return load_authority(SEED_CONFIG / AUTHORITY_ID)


@pytest.fixture
def write_extract(tmp_path) -> Callable[..., Path]:
    """Factory: write ``rows`` to ``<tmp>/output/tu-ky/<period>/extracted/extracted.csv`` (and the
    portal totals beside it when given); returns the CSV path. The output dir is its parents[3]."""

    def write(
        rows: list[dict[str, str]],
        period: str = AUGUST,
        totals: dict | None = None,
        header: list[str] | None = None,
    ) -> Path:
        folder = tmp_path / "output" / AUTHORITY_ID / period / "extracted"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "extracted.csv"
        columns = header or HEADER
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        if totals is not None:
            (folder / "parent_totals.json").write_text(json.dumps(totals), encoding="utf-8")
        return path

    return write


@pytest.fixture
def august() -> list[dict[str, str]]:
    """A fresh copy of the seed's August table (35 units), safe to modify."""
    return seed_rows(AUGUST)


@pytest.fixture(scope="session")
def july():
    """The previous month as the warehouse would hand it over: typed counts."""
    import pandas as pd

    frame = pd.DataFrame(seed_rows("2023-07"))
    for name in COUNT_FIELDS:
        frame[name] = frame[name].astype("int64")
    return frame


@pytest.fixture(autouse=True)
def no_gx_errors(caplog):
    """GX logs (rather than raises) when it cannot render part of the Data Docs: such a log is a bug."""
    yield
    errors = [
        r
        for r in caplog.get_records("call")
        if r.name.startswith("great_expectations") and r.levelno >= logging.ERROR
    ]
    assert not errors, errors[0].getMessage()[:500]
