"""The rulebook: defaults, versions by date, an authority's overrides, version ids, refusals."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from support.authorities import edit_yaml
from support.paths import SEED_AUTHORITY

from cchc.core.authorities import load_authority
from cchc.core.errors import ConfigError
from cchc.core.periods import Period
from cchc.rules.rulebook import (
    DEFAULT_RULEBOOK,
    campaign_starts_for,
    load_notes,
    load_rulebook,
    operator_note,
)


def test_defaults_of_the_brief_in_august_2023():
    rules = load_rulebook().rules_for("2023-08")
    assert rules.version == "default@2023-04-01"
    assert rules.commend_receipt == Decimal("98.5")
    assert rules.commend_result == Decimal("99")
    assert (rules.low_month, rules.low_ytd) == (Decimal("90"), Decimal("90"))
    assert rules.payment_target == Decimal("30")
    assert rules.posts_required == 4
    assert rules.digitization_target == Decimal("100")
    assert rules.criticism_reset == "year"
    assert rules.targets_json() == {
        "commend_receipt": "98.5",
        "commend_result": "99",
        "low_month": "90",
        "low_ytd": "90",
        "payment_target": "30",
        "posts_required": 4,
        "digitization_target": "100",
    }


def test_no_payment_target_before_april_2023():
    march = load_rulebook().rules_for("2023-03")
    assert march.payment_target is None
    assert march.version == "default@2022-01-01"
    assert load_rulebook().rules_for("2023-04").payment_target == Decimal("30")


def test_campaign_starts_payment_april_in_2023_january_later(tmp_path):
    authority = load_authority(SEED_AUTHORITY)
    assert campaign_starts_for(authority, "2023-08") == {
        "receipt": Period(2023, 1),
        "result": Period(2023, 1),
        "payment": Period(2023, 4),
    }
    assert campaign_starts_for(authority, "2024-03") == {
        "receipt": Period(2024, 1),
        "result": Period(2024, 1),
        "payment": Period(2024, 1),
    }


def test_a_period_before_the_first_version_is_refused():
    with pytest.raises(ConfigError, match="không có phiên bản quy tắc nào áp dụng cho kỳ 2021-12"):
        load_rulebook().rules_for("2021-12")


def test_authority_plain_override_applies_to_every_date():
    book = load_rulebook(overrides={"commend_receipt": 97, "posts_required": 6})
    for period in ("2022-05", "2023-08", "2025-09"):
        rules = book.rules_for(period)
        assert rules.commend_receipt == Decimal("97")
        assert rules.posts_required == 6
        assert rules.version.startswith("default@") and "+override@all:" in rules.version
    # Values the authority leaves alone keep their dated defaults.
    assert book.rules_for("2023-03").payment_target is None


def test_authority_versions_coexist_with_the_defaults():
    """2023 at 30%, 2025 at 60% from 1 January with a campaign from January; a rerun of 2023 keeps 30%."""
    book = load_rulebook(
        overrides={
            "versions": [
                {
                    "valid_from": "2025-01-01",
                    "payment_target": 60,
                    "campaign_start": {"payment": {2025: "2025-01"}},
                },
                {"valid_from": "2025-07-01", "posts_required": 8},
            ]
        }
    )
    assert book.rules_for("2023-08").payment_target == Decimal("30")
    assert book.rules_for("2023-08").version == "default@2023-04-01"
    assert book.rules_for("2024-12").payment_target == Decimal("30")
    jan = book.rules_for("2025-01")
    assert jan.payment_target == Decimal("60") and jan.posts_required == 4
    assert jan.campaign_starts(2025)["payment"] == Period(2025, 1)
    assert jan.campaign_start["payment"][2023] == Period(2023, 4)  # merged, not replaced
    july = book.rules_for("2025-07")
    assert (
        july.payment_target == Decimal("60") and july.posts_required == 8
    )  # inherited from the earlier version
    assert jan.version.startswith("default@2023-04-01+override@2025-01-01:")
    assert july.version.startswith("default@2023-04-01+override@2025-07-01:")
    assert jan.version != july.version


def test_version_ids_are_stable_and_depend_on_the_values(tmp_path):
    first = load_rulebook(overrides={"payment_target": 40}).rules_for("2023-08").version
    again = load_rulebook(overrides={"payment_target": 40.0}).rules_for("2023-08").version
    other = load_rulebook(overrides={"payment_target": 45}).rules_for("2023-08").version
    assert first == again
    assert first != other


def test_authority_rules_from_authority_yaml(seed_config):
    edit_yaml(
        seed_config / "tu-ky" / "authority.yaml",
        rules={"versions": [{"valid_from": "2023-08-01", "payment_target": 60}]},
    )
    authority = load_authority(seed_config / "tu-ky")
    book = load_rulebook(authority)
    assert book.rules_for("2023-07").payment_target == Decimal("30")
    assert book.rules_for("2023-08").payment_target == Decimal("60")
    assert book.rules_for("2023-08").version.startswith("default@2023-04-01+tu-ky@2023-08-01:")


def test_mid_month_version_applies_from_the_next_period():
    book = load_rulebook(overrides={"versions": [{"valid_from": "2023-08-15", "payment_target": 50}]})
    assert book.rules_for("2023-08").payment_target == Decimal("30")
    assert book.rules_for("2023-09").payment_target == Decimal("50")


INVALID = [
    ({"comend_receipt": 98}, "comend_receipt"),
    ({"commend_receipt": 120}, r"commend_receipt'.*ngoài khoảng 0–100"),
    ({"low_month": -1}, r"low_month'.*ngoài khoảng 0–100"),
    ({"payment_target": "30"}, r"payment_target'.*phải là một số"),
    ({"commend_result": True}, "commend_result"),
    ({"posts_required": 2.5}, "posts_required"),
    ({"posts_required": -1}, "posts_required"),
    ({"criticism_reset": "month"}, "criticism_reset"),
    (
        {"campaign_start": {"payment": {2023: "2024-04"}}},
        r"campaign_start.payment.2023'.*không thuộc năm 2023",
    ),
    ({"campaign_start": {"posts": {2023: "2023-04"}}}, "campaign_start.posts"),
    ({"campaign_start": {"payment": {2023: "April"}}}, "campaign_start.payment.2023"),
    ({"versions": {"valid_from": "2023-01-01"}}, r"'versions': phải là danh sách"),
    ({"versions": [{"payment_target": 50}]}, r"versions\[0\]: thiếu khóa 'valid_from'"),
    ({"versions": [{"valid_from": "tomorrow", "payment_target": 50}]}, "valid_from"),
    (
        {
            "versions": [
                {"valid_from": "2025-01-01", "payment_target": 50},
                {"valid_from": "2025-01-01", "payment_target": 60},
            ]
        },
        r"versions\[1\].*trùng với versions\[0\]",
    ),
    (
        {"versions": [{"valid_from": "2025-01-01", "payment_targett": 50}]},
        r"versions\[0\] \(valid_from 2025-01-01\).*payment_targett",
    ),
    ({"versions": [{"valid_from": "2025-01-01", "low_ytd": 101}]}, r"versions\[0\].*low_ytd'.*0–100"),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID)
def test_invalid_overrides_are_refused_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_rulebook(overrides=overrides)


def test_refusal_names_the_authority_file(seed_config):
    path = seed_config / "tu-ky" / "authority.yaml"
    edit_yaml(path, rules={"commend_receipt": 198.5})
    authority = load_authority(seed_config / "tu-ky")
    with pytest.raises(ConfigError) as caught:
        campaign_starts_for(authority, "2023-08")
    assert str(path) in str(caught.value)
    assert "'commend_receipt'" in str(caught.value)


def _write_book(tmp_path: Path, data) -> Path:
    path = tmp_path / "rulebook.yaml"
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data, encoding="utf-8"
    )
    return path


def test_shipped_rulebook_file_loads():
    assert load_rulebook(path=DEFAULT_RULEBOOK).id == "default"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["versions"][1].update(valid_from=d["versions"][0]["valid_from"]), "trùng với versions"),
        (
            lambda d: d["versions"][0].pop("posts_required"),
            "phiên bản đầu tiên phải đặt mọi khóa; thiếu posts_required",
        ),
        (lambda d: d.update(extra=1), "'extra'"),
        (lambda d: d.update(id="de fault"), "'id'"),
        (lambda d: d["versions"][1].update(digitization_target=100.5), "digitization_target"),
    ],
)
def test_invalid_rulebook_files_are_refused_naming_file_and_key(tmp_path, mutate, message):
    data = yaml.safe_load(DEFAULT_RULEBOOK.read_text(encoding="utf-8"))
    mutate(data)
    path = _write_book(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as caught:
        load_rulebook(path=path)
    assert str(path) in str(caught.value)


def test_broken_yaml_is_refused(tmp_path):
    path = _write_book(tmp_path, "id: default\nversions: [\n")
    with pytest.raises(ConfigError, match="YAML không hợp lệ"):
        load_rulebook(path=path)


def test_seed_notes_give_the_operator_sentence():
    authority = load_authority(SEED_AUTHORITY)
    assert operator_note(authority, "2023-08") == "đã có sự tiến bộ ở 7/7 lĩnh vực"
    assert operator_note(authority, Period(2023, 7)) is None


def test_notes_are_optional_and_checked(tmp_path):
    folder = tmp_path / "a"
    shutil.copytree(SEED_AUTHORITY, folder)
    (folder / "notes.yaml").unlink()
    assert load_notes(folder) == {}
    (folder / "notes.yaml").write_text('"2023-13": "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="notes.yaml, khóa '2023-13'"):
        load_notes(folder)
    (folder / "notes.yaml").write_text('"2023-08": 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="phải là một chuỗi"):
        load_notes(folder)
