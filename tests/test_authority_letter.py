"""The ``letter:`` block of authority.yaml: its defaults per authority, and clear errors naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cchc.core.authorities import LetterSettings, load_authority
from cchc.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "scenarios" / "seed" / "tu-ky"
PROVINCE = ROOT / "scenarios" / "province" / "hai-phong"


def _with_letter(tmp_path: Path, letter) -> Path:
    folder = tmp_path / "hai-phong"
    shutil.copytree(PROVINCE, folder)
    path = folder / "authority.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if letter is None:
        data.pop("letter", None)
    else:
        data["letter"] = letter
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def test_defaults_follow_the_level_and_the_name(tmp_path):
    province = load_authority(_with_letter(tmp_path, None)).letter_wording
    assert province.target_giver == "UBND thành phố"
    assert province.vertical_target == "chỉ tiêu đề ra"
    assert province.directive_addressees == "concerned"
    assert province.directive_departments == "Giám đốc các Sở, ban, ngành"
    assert (
        province.directive_vertical_agencies == "Thủ trưởng các cơ quan ngành dọc đóng trên địa bàn thành phố"
    )
    district = LetterSettings().resolved("district", "huyện Tứ Kỳ")
    assert district.target_giver == "UBND tỉnh"
    assert district.directive_departments == "Thủ trưởng các cơ quan chuyên môn thuộc UBND huyện"


def test_the_seed_keeps_its_communes_only_directives():
    assert load_authority(SEED).letter_wording.directive_addressees == ("communes",)


def test_every_key_is_read(tmp_path):
    letter = {
        "target_giver": "UBND thành phố Hải Phòng",
        "vertical_target": "chỉ tiêu ngành giao",
        "local_units": "xã, phường, đặc khu",
        "summary": {"departments": "các sở, ban, ngành", "vertical_agencies": "các cơ quan Trung ương"},
        "directives": {
            "addressees": ["communes", "departments"],
            "departments": "Thủ trưởng các sở, ban, ngành",
            "vertical_agencies": "Thủ trưởng các cơ quan Trung ương",
        },
    }
    settings = load_authority(_with_letter(tmp_path, letter)).letter_wording
    assert settings == LetterSettings(
        target_giver="UBND thành phố Hải Phòng",
        vertical_target="chỉ tiêu ngành giao",
        local_units="xã, phường, đặc khu",
        summary_departments="các sở, ban, ngành",
        summary_vertical_agencies="các cơ quan Trung ương",
        directive_addressees=("departments", "communes"),  # the letter's order, whatever the file's
        directive_departments="Thủ trưởng các sở, ban, ngành",
        directive_vertical_agencies="Thủ trưởng các cơ quan Trung ương",
    )


@pytest.mark.parametrize(
    ("letter", "message"),
    [
        (
            {"directives": {"addressees": "everyone"}},
            r"'letter\.directives\.addressees' = 'everyone' không hợp lệ",
        ),
        (
            {"directives": {"addressees": ["communes", "huyen"]}},
            r"'letter\.directives\.addressees' có nhóm không hợp lệ: huyen",
        ),
        ({"directives": {"addressees": []}}, r"'letter\.directives\.addressees' phải là"),
        ({"vertical_target": ""}, r"'letter\.vertical_target' phải là một chuỗi không rỗng"),
        ({"summary": {"departments": 3}}, r"'letter\.summary\.departments' phải là một chuỗi"),
        ({"directive": {}}, r"khóa không biết trong 'letter': directive"),
        ({"directives": {"adressees": "all"}}, r"khóa không biết trong 'letter\.directives': adressees"),
        ("giao", r"'letter' phải là bảng khóa–giá trị"),
    ],
)
def test_a_wrong_key_names_the_file_and_the_key(tmp_path, letter, message):
    folder = _with_letter(tmp_path, letter)
    with pytest.raises(ConfigError, match=message) as caught:
        load_authority(folder)
    assert str(folder / "authority.yaml") in str(caught.value)
