"""A seed month made by the real pipeline, for the "Báo cáo CCHC" page's tests (tests/ui) and any
test that needs a whole period folder and warehouse (a browser test, say).

``build_month(root)`` runs the seed's August 2023 for Tứ Kỳ through the task bodies the DAGs call
(no scheduler: the same functions, in this process): the portal simulator over HTTP, Great
Expectations, the warehouse, the rules, LibreOffice for the letter, an approval, the number, and a
real SMTP server that refuses one commune's mailbox (so one delivery failed). January–July are
loaded straight from the seed's monthly.csv, as earlier runs leave them. A second authority,
``thu-nghiem``, is the same district with a unit whose name carries markup, decided only (no letter).
About 25 s, most of it LibreOffice and Great Expectations.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from .paths import SEED_CONFIG

AUTHORITY = "tu-ky"
OTHER = "thu-nghiem"
PERIOD = "2023-08"
RUN_ID = "manual__2023-09-01"
REFUSED_MAILBOX = "hungdao@tuky.haiduong.gov.vn"
MARKUP_UNIT = "X-HD"
MARKUP_NAME = '<script>alert("cchc")</script>UBND xã Hưng Đạo'


@dataclass(frozen=True)
class Month:
    config: Path
    out: Path


def _other_authority(config: Path) -> None:
    """``thu-nghiem``: Tứ Kỳ's data under another id, one unit named with markup."""
    target = config / OTHER
    shutil.copytree(config / AUTHORITY, target)
    data = yaml.safe_load((target / "authority.yaml").read_text(encoding="utf-8"))
    data["id"] = OTHER
    data["name"] = "huyện Thử Nghiệm"
    data["portal"]["root_department_id"] = "HD-THUNGHIEM"  # the simulator serves each root once
    (target / "authority.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    with (target / "units.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["code"] == MARKUP_UNIT:
            row["name"] = MARKUP_NAME
    with (target / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build_month(root: Path) -> Month:
    """The seed month under ``root`` (config/ and out/); see the module's docstring."""
    from cchc.core.authorities import load_authority
    from cchc.core.db import default_url
    from cchc.core.periods import TIMEZONE, Period
    from cchc.pipeline import tasks
    from cchc.portal.simulator import PortalSimulator
    from cchc.rules.rulebook import campaign_starts_for
    from cchc.rules.service import decide_period
    from cchc.warehouse.rates import compute_rates

    from .smtp import SmtpServer, smtp_default_connection
    from .warehouse import load_seed_months, migrated

    config, out = root / "config", root / "out"
    shutil.copytree(SEED_CONFIG, config)
    _other_authority(config)
    out.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CCHC_CONFIG_DIR", str(config))
        mp.setenv("CCHC_OUTPUT_DIR", str(out))
        mp.delenv("CCHC_WAREHOUSE_URL", raising=False)
        engine = migrated(default_url(out))
        try:
            for authority_id, last in ((AUTHORITY, 7), (OTHER, 8)):
                authority = load_authority(config / authority_id)
                load_seed_months(engine, authority, months=range(1, last + 1))
                for month in range(1, last + 1):
                    period = Period(2023, month)
                    compute_rates(engine, authority.id, period, campaign_starts_for(authority, period))
            decide_period(engine, load_authority(config / OTHER), PERIOD, run_id="seed", output_dir=out)
        finally:
            engine.dispose()

        simulator = PortalSimulator(config)
        url = simulator.start()
        smtp = SmtpServer()
        smtp.handler.reject = {REFUSED_MAILBOX: "550 5.1.1 Mailbox unavailable"}
        smtp.start()
        try:
            mp.setenv("AIRFLOW_CONN_CCHC_PORTAL", json.dumps({"conn_type": "http", "extra": {"url": url}}))
            mp.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_default_connection(smtp.port))
            run_id = RUN_ID
            job = {"authority": AUTHORITY, "period": PERIOD}
            planned = tasks.plan_loads(job)
            validated = tasks.validate(tasks.extract(planned, run_id=run_id), run_id=run_id)
            tasks.decide(tasks.rates(tasks.load(validated, run_id=run_id)), run_id=run_id)
            rendered = tasks.render(job, {}, run_id=run_id)
            tasks.record_approval(rendered, "Approve", {"id": "admin", "name": "admin"}, run_id)
            tasks.issue(rendered, {}, logical_date=datetime(2023, 9, 1, 7, tzinfo=TIMEZONE), run_id=run_id)
            tasks.distribute(rendered, {}, run_id=run_id)
        finally:
            smtp.stop()
            simulator.stop()
    return Month(config=config, out=out)


def simple_token(role: str = "admin", username: str = "admin") -> str:
    """A JWT issued by the running simple auth manager, as its login would."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))
