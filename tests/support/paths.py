"""Where things are: the repository, the seed scenario, the letter tests' data files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_CONFIG = ROOT / "scenarios" / "seed"  # the config dir: one folder per authority
SEED_AUTHORITY = SEED_CONFIG / "tu-ky"  # the seed letter's district, August 2023
AIRFLOW_TEST_HOME = ROOT / ".airflow-test"
DAGS = ROOT / "dags"

LETTER_FIXTURES = ROOT / "tests" / "letter" / "fixtures"
SEED_DECISIONS = LETTER_FIXTURES / "seed_decisions.json"
SEED_LETTER = (
    LETTER_FIXTURES / "seed_letter.txt"
)  # the text of the real letter, as shipped in ../shared/seed/
PROVINCE_AUTHORITY = LETTER_FIXTURES / "province" / "quang-ninh"
PROVINCE_DECISIONS = LETTER_FIXTURES / "province_decisions.json"
