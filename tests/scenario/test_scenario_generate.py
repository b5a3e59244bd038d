"""``cchc scenario generate``: the national configuration's files, read as the pipeline and a reader would.

Reproducible from the seed; 34 provinces and cities with realistic numbers of units of every kind;
Vietnamese names; no mailbox outside the made-up example.gov.vn domains; every authority.yaml accepted
by the loader and the distribution; history.csv exactly the criticisms the counts give. The decisions
under the real rules are in test_scenario_decisions.py, the portal and the validation in
test_scenario_portal.py.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from support.paths import ROOT
from support.scenario import MONTHS, SEED, files_of

from cchc.cli import main
from cchc.core.authorities import load_authority, load_history, load_monthly
from cchc.core.errors import ConfigError
from cchc.core.periods import Period
from cchc.delivery.recipients import distribution_config
from cchc.scenario import data
from cchc.scenario.generate import NOT_IN_JANUARY, build, generate, parse_months
from cchc.scenario.roles import SECTIONS, Bars, roles_of, sections_of

CITIES = {"Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def authorities(national):
    return [load_authority(national.out / p.slug) for p in data.PROVINCES]


# --- reproducible -----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes(national, tmp_path):
    again = generate(tmp_path / "again", 34, SEED, parse_months(MONTHS))
    first, second = files_of(national.out), files_of(again.out)
    assert len(first) == 34 * 4
    assert first == second


def test_another_seed_gives_other_counts_and_the_same_registry(national, tmp_path):
    other = generate(tmp_path / "other", 3, SEED + 1, parse_months(MONTHS))
    for province in data.PROVINCES[:3]:
        ours, theirs = national.out / province.slug, other.out / province.slug
        assert (ours / "units.csv").read_bytes() == (theirs / "units.csv").read_bytes()
        assert (ours / "monthly.csv").read_bytes() != (theirs / "monthly.csv").read_bytes()
        assert (ours / "history.csv").read_bytes() != (theirs / "history.csv").read_bytes()


# --- provinces and units ---------------------------------------------------------------------------


def test_34_provinces_and_cities_after_the_merger(national):
    folders = sorted(p.name for p in national.out.iterdir())
    assert folders == sorted(p.slug for p in data.PROVINCES) and len(folders) == 34
    loaded = authorities(national)
    cities = [a for a in loaded if a.name.startswith("thành phố ")]
    assert {a.name.removeprefix("thành phố ") for a in cities} == CITIES
    assert len([a for a in loaded if a.name.startswith("tỉnh ")]) == 28
    assert all(a.level == "province" for a in loaded)
    assert [a.issuing_body[1] for a in loaded[:3]] == ["THÀNH PHỐ HÀ NỘI", "THÀNH PHỐ HUẾ", "TỈNH LAI CHÂU"]
    # Each its own portal root, signer and domain.
    assert len({a.root_department_id for a in loaded}) == 34
    assert len({a.signer.name for a in loaded}) >= 30
    assert len({distribution_config(a).allowed_domains for a in loaded}) == 34


def test_unit_counts_are_those_of_a_country(national):
    kinds = Counter()
    for authority in authorities(national):
        mine = Counter(u.kind for u in authority.units)
        local = mine["ward"] + mine["commune"] + mine["special_zone"]
        assert 38 <= local <= 170, authority.id
        assert 14 <= mine["department"] <= 17, authority.id
        assert mine["vertical_agency"] == 3, authority.id
        assert mine["ward"] >= 3 and mine["commune"] >= 19, authority.id
        kinds.update(mine)
    assert kinds["ward"] + kinds["commune"] + kinds["special_zone"] == 3321
    assert kinds["special_zone"] == 13
    assert 480 <= kinds["department"] <= 520
    assert 3800 <= sum(kinds.values()) <= 4000
    assert national.units == sum(kinds.values())


def test_codes_are_unique_and_every_kind_is_present(national):
    everywhere = set()
    for authority in authorities(national):
        codes = authority.unit_codes
        assert len(codes) == len(set(codes)), authority.id
        kinds = {u.kind for u in authority.units}
        assert {"department", "vertical_agency", "ward", "commune"} <= kinds, authority.id
        province = next(p for p in data.PROVINCES if p.slug == authority.id)
        assert ("special_zone" in kinds) == bool(province.special_zones)
        everywhere |= kinds
    assert everywhere == {"department", "vertical_agency", "ward", "commune", "special_zone"}


def test_names_are_vietnamese_with_their_kind(national):
    prefixes = {
        "department": ("Sở ", "Thanh tra ", "Văn phòng UBND ", "Ban Quản lý "),
        "ward": ("UBND phường ",),
        "commune": ("UBND xã ",),
        "special_zone": ("UBND đặc khu ",),
    }
    plain_places = 0
    places = 0
    for authority in authorities(national):
        names = [u.name for u in authority.units]
        assert len(names) == len(set(names)), authority.id
        place = authority.name  # "tỉnh Sơn La"
        for unit in authority.units:
            assert unicodedata.normalize("NFC", unit.name) == unit.name, unit.name
            assert not unit.name.isascii(), unit.name  # every name carries its diacritics
            if unit.kind == "vertical_agency":
                assert unit.name in (f"Công an {place}", f"Bảo hiểm xã hội {place}", f"Thuế {place}")
            else:
                assert unit.name.startswith(prefixes[unit.kind]), unit.name
            if unit.kind in ("ward", "commune"):
                places += 1
                plain_places += unit.name.split(" ", 2)[2].isascii()  # "Ia Grai" is a real name too
        # No district wording: the district level is gone.
        words = [f"{u.name} / {u.head_title}" for u in authority.units]
        assert not [w for w in words if re.search(r"(?i)huyện|thị trấn|trưởng phòng|^phòng ", w)], (
            authority.id
        )
    assert plain_places < places * 0.05


def test_special_zones_carry_their_real_names(national):
    zones = {
        u.name.removeprefix("UBND đặc khu ")
        for a in authorities(national)
        for u in a.units
        if u.kind == "special_zone"
    }
    assert zones == set(data.SPECIAL_ZONE_VOLUME)
    assert {"Phú Quốc", "Côn Đảo", "Hoàng Sa", "Trường Sa", "Bạch Long Vĩ"} <= zones


def test_no_mailbox_outside_the_made_up_domains(national):
    for province in data.PROVINCES:
        folder = national.out / province.slug
        found = set()
        for path in folder.iterdir():
            found |= set(EMAIL.findall(path.read_text(encoding="utf-8")))
        assert found and all(a.endswith("@" + province.domain) for a in found), province.slug
        assert province.domain.endswith(".example.gov.vn")


def test_every_authority_loads_and_needs_no_human(national):
    for authority in authorities(national):
        config = distribution_config(authority)
        assert config.require_approval is False
        assert config.allowed_domains == (authority.id.replace("-", "") + ".example.gov.vn",)
        assert config.operators and config.test_address
        assert all(config.allows(u.email) for u in authority.units)
        rows = load_monthly(authority)
        assert len(rows) == 3 * len(authority.units)
        assert {r["period"] for r in rows} == {"2026-01", "2026-02", "2026-03"}
        # Local committees all say whether they use official email (the validation warns otherwise).
        local = {u.code for u in authority.units if u.kind in ("ward", "commune", "special_zone")}
        assert all((r["official_email_regular"] is None) == (r["unit_code"] not in local) for r in rows)
        assert {h["period"] for h in load_history(authority)} <= {"2026-01", "2026-02"}


def test_history_is_exactly_the_criticisms_the_counts_give(national):
    """history.csv lists, for January and February, the units whose month and year-to-date payment
    rates were both under the authority's target (recomputed here from monthly.csv)."""
    for authority in authorities(national):
        target = authority.rules["versions"][0]["payment_target"] * 100
        rows = load_monthly(authority)
        kinds = {u.code: u.kind for u in authority.units}
        by_unit: dict[str, list] = {}
        for row in rows:
            by_unit.setdefault(row["unit_code"], []).append(row)
        expected = set()
        for code, months in by_unit.items():
            months.sort(key=lambda r: r["period"])
            for i in (0, 1):
                if "criticise" in roles_of(kinds[code], months[: i + 1], Bars(target)):
                    expected.add((months[i]["period"], code))
        history = {(h["period"], h["unit_code"]) for h in load_history(authority)}
        assert history == expected, authority.id
        assert all(h["count"] == 1 for h in load_history(authority))


def test_every_month_of_every_province_fills_every_section(national):
    """The construction's own account of the sections (the real rules: test_scenario_decisions.py)."""
    assert [s.province for s in national.scenarios] == list(data.PROVINCES)
    for scenario in national.scenarios:
        for month in scenario.months:
            wanted = set(SECTIONS) - (NOT_IN_JANUARY if month.month == 1 else set())
            filled = sections_of(scenario.roles[month], scenario.criticised_before[month])
            assert wanted <= filled, (scenario.province.slug, str(month), wanted - filled)


def test_a_range_over_two_years_starts_each_year_afresh():
    province = next(p for p in data.PROVINCES if p.slug == "lai-chau")
    months = parse_months("2025-11..2026-02")
    assert (months[0], months[-1], len(months)) == (Period(2025, 1), Period(2026, 2), 14)
    scenario = build(province, months, 3)
    assert scenario.criticised_before[Period(2026, 1)] == {}  # the count starts again in January
    assert scenario.criticised_before[Period(2025, 12)]
    for month in months:
        wanted = set(SECTIONS) - (NOT_IN_JANUARY if month.month == 1 else set())
        assert wanted <= sections_of(scenario.roles[month], scenario.criticised_before[month]), month
    history = scenario.history()
    assert {p for p, _c, _n in history} <= {str(m) for m in months[:-1]}


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-01..2026-03", "2026-01", "2026-03"),
        ("2026-03", "2026-01", "2026-03"),  # the year's earlier months come with it (year to date)
        ("2026-01", "2026-01", "2026-01"),
        ("2025-06..2025-08", "2025-01", "2025-08"),
    ],
)
def test_months_are_a_range_or_one_month(text, first, last):
    months = parse_months(text)
    assert (str(months[0]), str(months[-1])) == (first, last)
    assert months == Period.parse(last).months_since(Period.parse(first))


@pytest.mark.parametrize("text", ["2026-03..2026-01", "2026-13", "2026/03", "2026-01..", "2020-01..2026-01"])
def test_wrong_months_are_refused(text):
    with pytest.raises(ConfigError):
        parse_months(text)


def test_the_command_writes_the_first_k_provinces(tmp_path, capsys):
    out = tmp_path / "config"
    args = [
        "scenario",
        "generate",
        "--provinces",
        "2",
        "--seed",
        "1",
        "--months",
        "2026-02",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ha-noi", "hue"]
    printed = capsys.readouterr().out
    assert "Đã sinh 2 tỉnh, thành phố" in printed and "make run PERIOD=2026-02" in printed
    assert {r["period"] for r in load_monthly(load_authority(out / "hue"))} == {"2026-01", "2026-02"}
    # A folder that is not empty is kept unless --force; --force replaces only the provinces' folders.
    assert main(args) == 2
    assert "không rỗng" in capsys.readouterr().err
    (out / "khac").mkdir()
    assert main([*args[:3], "1", *args[4:], "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ha-noi", "khac"]


@pytest.mark.parametrize("k", ["0", "35"])
def test_the_number_of_provinces_is_checked(tmp_path, capsys, k):
    args = ["scenario", "generate", "--provinces", k, "--seed", "1", "--months", "2026-01"]
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    assert "--provinces phải từ 1 đến 34" in capsys.readouterr().err


# --- the shipped province scenario shares the code ---------------------------------------------------


def test_build_province_still_writes_the_shipped_files(tmp_path):
    """scenarios/build_province.py builds with cchc.scenario.roles and writes the same bytes as shipped."""
    spec = importlib.util.spec_from_file_location("build_province", ROOT / "scenarios" / "build_province.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = Path(module.HERE)
    module.HERE = tmp_path / "hai-phong"
    module.main()
    for name in ("units.csv", "monthly.csv", "history.csv"):
        assert (tmp_path / "hai-phong" / name).read_bytes() == (shipped / name).read_bytes(), name
