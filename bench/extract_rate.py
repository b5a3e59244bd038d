"""Extraction throughput against the portal's rate limit: how close to the limit, with no failed call.

The simulator limits every client to ``RATE`` requests per second (a token bucket, 429 with
Retry-After beyond it) and answers each call after a small latency; the client fetches three months of
a province with 4 workers, the website posts one call per unit (the CMS listing switched off, so that
there are enough calls to measure). Two cases: the client told the portal's rate (``rate_limit`` of the
connection), and the client told nothing, finding the limit from the 429s alone. The ratio is the
successful calls per second over the limit; the target is ≥ 0.9 with zero failed calls.
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATE = 10.0
LATENCY = 0.02
MONTHS = ("2026-01", "2026-02", "2026-03")


def bench_extract_rate(configured: bool) -> dict[str, float]:
    from cchc.core.authorities import load_authority
    from cchc.portal.client import PortalClient
    from cchc.portal.simulator import Faults, PortalSimulator

    config = ROOT / "scenarios" / "province"
    authority = load_authority(config / "hai-phong")
    failed = 0
    with PortalSimulator(config, faults=Faults(latency=LATENCY, rate_limit=RATE)) as sim:
        with PortalClient(
            sim.base_url, max_workers=4, rate_limit=RATE if configured else None, post_listing=False
        ) as client:
            start = time.perf_counter()
            for period in MONTHS:
                try:
                    client.dossier_digitized(authority.root_department_id, period)
                    client.online_payment(authority.root_department_id, period)
                    client.post_counts(authority.unit_codes, period, root_id=authority.root_department_id)
                except Exception:  # a failed extraction is what the bench counts, not what stops it
                    failed += 1
            seconds = time.perf_counter() - start
            stats = client.stats.as_dict()
    ok = sum(n for status, n in stats["statuses"].items() if str(status).startswith("2"))
    return {
        "seconds": seconds,
        "ok": ok,
        "throttled": stats["statuses"].get(429, 0),
        "failed": failed,
        "ratio": ok / seconds / RATE,
    }


def report() -> list[str]:
    lines = []
    for configured in (True, False):
        r = bench_extract_rate(configured)
        who = (
            "máy khách biết giới hạn"
            if configured
            else "máy khách không biết giới hạn (tự thích nghi theo 429)"
        )
        lines.append(
            f"Trích xuất, cổng giới hạn {RATE:g} yêu cầu/s, {who}: {r['ok']:.0f} lượt thành công trong "
            f"{r['seconds']:.1f} s, {r['throttled']:.0f} lượt 429, {r['failed']:.0f} lần lỗi | "
            f"×{r['ratio']:.2f} giới hạn (mục tiêu ≥ 0,9, không lỗi)"
        )
    return lines


if __name__ == "__main__":
    import logging

    logging.disable(logging.WARNING)
    print("\n".join(report()))
