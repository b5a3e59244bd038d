"""``cchc decide`` on a fresh checkout: loads monthly.csv, computes the rates, prints the decisions."""

from __future__ import annotations

import argparse
import json

import pytest
from support.authorities import edit_yaml

from cchc.core.errors import ConfigError
from cchc.rules import cli


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run_from_args(parser.parse_args(list(argv)))


def test_decide_prints_the_seed_decisions_from_a_fresh_checkout(seed_config, tmp_path, capsys):
    output = tmp_path / "output"
    assert run("--config-dir", str(seed_config), "--period", "2023-08", "--output-dir", str(output)) == 0
    text = capsys.readouterr().out
    assert "nạp số liệu kỳ 2023-01" in text and "nạp số liệu kỳ 2023-08" in text
    assert "tính tỷ lệ kỳ 2023-08 (chiến dịch từ: receipt 2023-01, result 2023-01, payment 2023-04)" in text
    assert "Quyết định cải cách hành chính tháng 8/2023 — huyện Tứ Kỳ (tu-ky)" in text
    assert "Nhận xét của cán bộ: đã có sự tiến bộ ở 7/7 lĩnh vực" in text
    assert "1. Biểu dương (08 cơ quan, đơn vị)" in text
    assert (
        "   - Phòng Kinh tế và Hạ tầng huyện (tiếp nhận 100%; giải quyết 100%; thanh toán trực tuyến 75%)"
        in text
    )
    assert "3. Phê bình lần thứ hai đối với UBND các xã Hưng Đạo và Phượng Kỳ" in text
    assert "4. Phê bình lần thứ ba đối với UBND các xã Dân Chủ và Tiên Động" in text
    assert "5. Giao Chủ tịch UBND các xã, thị trấn thực hiện" in text
    assert (output / "tu-ky" / "2023-08" / "decisions.json").is_file()
    assert (output / "warehouse.db").is_file()

    # Again: nothing to load, rates as stored, same decisions.
    assert (
        run(
            "--config-dir",
            str(seed_config),
            "--period",
            "2023-08",
            "--output-dir",
            str(output),
            "--json",
            "--note",
            "có tiến bộ",
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["changed"] is False
    assert summary["decisions"] == {"commend": 8, "remind": 8, "criticise": 4, "request": 0}
    document = json.loads((output / "tu-ky" / "2023-08" / "decisions.json").read_text(encoding="utf-8"))
    assert document["operator_note"] == "có tiến bộ"


def test_decide_refuses_an_invalid_rulebook_before_writing(seed_config, tmp_path):
    edit_yaml(
        seed_config / "tu-ky" / "authority.yaml",
        rules={"versions": [{"valid_from": "2023-01-01", "low_month": 190}]},
    )
    with pytest.raises(ConfigError, match="low_month"):
        run(
            "--config-dir",
            str(seed_config),
            "--authority",
            "tu-ky",
            "--period",
            "2023-08",
            "--output-dir",
            str(tmp_path / "output"),
        )
    assert not (tmp_path / "output" / "tu-ky").exists()
