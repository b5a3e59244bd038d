"""End to end: the national scenario against the seed district, each a whole ``make run``, per stage.

The national configuration is generated (``cchc scenario generate --provinces 34``: about 3,900 units
in 34 authorities, three months so that the year-to-date rates have a past); the seed is Tứ Kỳ,
August 2023. Each runs in a fresh Airflow home (its own metadata database) and output folder; the
stage times are the ones Airflow recorded for the tasks (``<output>/logs/run-timings.json``), summed
over the authorities. The ratio per unit divides the national/seed ratio by the units ratio: below 1,
the national run costs less per unit than the district.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NATIONAL_MONTHS = "2026-01..2026-03"
NATIONAL_PERIOD = "2026-03"
SEED_PERIOD = "2023-08"


def _run(config: Path, period: str, work: Path, name: str):
    from cchc.pipeline import localrun, timings

    home, out = work / f"{name}-airflow", work / f"{name}-out"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "CCHC_OUTPUT_DIR": str(out),
        "CCHC_CONFIG_DIR": str(config),
    }
    log = work / f"{name}.log"
    start = time.perf_counter()
    with log.open("wb") as handle:
        code = subprocess.run(
            localrun.command(period, config, out), env=env, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    wall = time.perf_counter() - start
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"make run {name} kỳ {period} thất bại (mã {code}); cuối nhật ký {log}:\n{tail}")
    return wall, timings.load(out)


def bench_national(provinces: int = 34, seed: int = 1) -> list[str]:
    from cchc.pipeline.timings import STAGES

    with tempfile.TemporaryDirectory(prefix="cchc-bench-national-") as tmp:
        work = Path(tmp)
        national = work / "national"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cchc.cli",
                "scenario",
                "generate",
                "--provinces",
                str(provinces),
                "--seed",
                str(seed),
                "--months",
                NATIONAL_MONTHS,
                "--out",
                str(national),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seed_wall, seed_t = _run(ROOT / "scenarios" / "seed", SEED_PERIOD, work, "seed")
        nat_wall, nat_t = _run(national, NATIONAL_PERIOD, work, "national")

    units_ratio = nat_t.units / seed_t.units
    lines = [
        f"Toàn quốc ({nat_t.authorities} cơ quan, {nat_t.units} đơn vị, kỳ {NATIONAL_PERIOD}) so với huyện mẫu "
        f"({seed_t.units} đơn vị, kỳ {SEED_PERIOD}); số đơn vị ×{units_ratio:.0f}:",
        f"  {'bước':<9} {'mẫu (s)':>9} {'toàn quốc (s)':>14} {'tỷ lệ':>8} {'tỷ lệ / số đơn vị':>18}",
    ]
    for name, _task in STAGES:
        a, b = seed_t.stage(name).seconds, nat_t.stage(name).seconds
        ratio = b / a if a else float("nan")
        lines.append(f"  {name:<9} {a:9.1f} {b:14.1f} {ratio:8.1f} {ratio / units_ratio:18.2f}")
    ratio = nat_wall / seed_wall
    lines.append(
        f"  {'make run':<9} {seed_wall:9.1f} {nat_wall:14.1f} {ratio:8.1f} {ratio / units_ratio:18.2f}"
        f"   (toàn quốc {nat_wall / 60:.1f} phút; mục tiêu < 15 phút trên 2 nhân)"
    )
    if nat_t.peak_rss_mib is not None:
        lines.append(
            f"Bộ nhớ lớn nhất (RSS) của tiến trình lớn nhất, chạy toàn quốc: {nat_t.peak_rss_mib:.0f} MiB "
            "(make run chạy mọi tác vụ trong một tiến trình; mục tiêu < 1 GiB)"
        )
    if nat_t.output_bytes:
        total = sum(nat_t.output_bytes.values())
        parts = ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(nat_t.output_bytes.items()))
        lines.append(f"Dữ liệu một tháng toàn quốc ghi ra: {total / 2**20:.1f} MiB ({parts} MiB)")
    return lines


if __name__ == "__main__":
    print("\n".join(bench_national(int(sys.argv[1]) if len(sys.argv) > 1 else 34)))
