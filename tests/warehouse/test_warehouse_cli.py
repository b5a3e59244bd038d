"""``cchc warehouse upgrade | current | load | rates`` through its add_arguments/run_from_args pair."""

from __future__ import annotations

import argparse

import pandas as pd
from support.paths import SEED_AUTHORITY, SEED_CONFIG

from cchc.core.authorities import load_authority, load_monthly
from cchc.core.db import mask_url
from cchc.warehouse import cli
from cchc.warehouse.migrate import head_revision


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cchc warehouse")
    cli.add_arguments(parser)
    return cli.run_from_args(parser.parse_args(list(argv)))


def test_upgrade_load_and_rates(empty_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CCHC_CONFIG_DIR", str(SEED_CONFIG))
    assert run("current", "--url", empty_url) == 1
    assert "(trống)" in capsys.readouterr().out
    assert run("upgrade", "--url", empty_url) == 0
    assert (
        f"Kho dữ liệu {mask_url(empty_url)}: lược đồ ở phiên bản {head_revision()}" in capsys.readouterr().out
    )
    assert run("current", "--url", empty_url) == 0

    authority = load_authority(SEED_AUTHORITY)
    rows = load_monthly(authority)
    for period in ("2023-07", "2023-08"):
        path = tmp_path / f"{period}.csv"
        pd.DataFrame(
            [{**r, "authority": "tu-ky", "source": "api"} for r in rows if r["period"] == period]
        ).to_csv(path, index=False)
        assert (
            run("load", "--url", empty_url, "--csv", str(path), "--authority", "tu-ky", "--period", period)
            == 0
        )
    out = capsys.readouterr().out
    assert "tu-ky kỳ 8/2023: nạp phiên bản 1" in out
    assert (
        run("load", "--url", empty_url, "--csv", str(path), "--authority", "tu-ky", "--period", "2023-08")
        == 0
    )
    assert "không ghi gì thêm" in capsys.readouterr().out

    assert (
        run(
            "rates",
            "--url",
            empty_url,
            "--authority",
            "tu-ky",
            "--period",
            "2023-08",
            "--campaign",
            "payment=2023-04",
            "--units",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Tiếp nhận: 97,67% (tăng 0,54%)" in out
    assert "Kết quả giải quyết: 99,05% (tăng 0,24%)" in out
    assert "Thanh toán trực tuyến: 80,2% (tăng 29,86%)" in out
    assert "X-HK UBND xã Hà Kỳ: tiếp nhận 99,68%" in out


def test_default_url_comes_from_the_output_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CCHC_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("CCHC_OUTPUT_DIR", str(tmp_path / "out"))
    assert run("upgrade") == 0
    assert (tmp_path / "out" / "warehouse.db").is_file()
    assert str(tmp_path / "out" / "warehouse.db") in capsys.readouterr().out
