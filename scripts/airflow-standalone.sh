#!/usr/bin/env bash
# `make airflow`: airflow standalone with the project's configuration (UI on http://127.0.0.1:8080 unless
# AIRFLOW__API__PORT says otherwise), the portal simulator and a local SMTP sink where no cchc_portal /
# smtp_default connection is defined. The logic lives in include/cchc/pipeline/standalone.py (tested by
# tests/test_airflow_standalone.py); exec keeps one process, so Ctrl+C or SIGTERM reaches it directly.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
exec "$ROOT/.venv/bin/python" -m cchc.pipeline.standalone "$@"
