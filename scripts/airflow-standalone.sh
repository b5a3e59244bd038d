#!/usr/bin/env bash
# `make airflow`: airflow standalone with the project's configuration, UI on http://127.0.0.1:8080.
# Without a cchc_portal connection in the environment, the portal simulator serves CCHC_CONFIG_DIR.
set -euo pipefail
BIN="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin"
export PATH="$BIN:$PATH"  # standalone starts its components as `airflow …` subprocesses
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"

pids=()
# Each child runs in its own process group; on exit every group gets SIGINT, and whatever is still
# alive 20 s later (standalone can hang on a child it never reaps) is killed.
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -INT -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    sleep 1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if [ -z "${AIRFLOW_CONN_CCHC_PORTAL:-}" ]; then
  port="${CCHC_SIMULATOR_PORT:-8765}"
  setsid "$BIN/cchc" simulate --config-dir "$CCHC_CONFIG_DIR" --port "$port" &
  pids+=($!)
  export AIRFLOW_CONN_CCHC_PORTAL="http://127.0.0.1:$port"
  echo "Trình giả lập cổng DVC: http://127.0.0.1:$port (dữ liệu: $CCHC_CONFIG_DIR)"
fi

"$BIN/airflow" db migrate >/dev/null
setsid "$BIN/airflow" standalone &
pids+=($!)

for _ in $(seq 1 120); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${AIRFLOW__API__PORT}/api/v2/monitor/health', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 1
done
pwfile="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
echo
echo "Airflow UI: http://127.0.0.1:${AIRFLOW__API__PORT}"
if [ -f "$pwfile" ]; then
  echo "Đăng nhập (tên:mật khẩu): $(python3 -c "import json,sys; print(', '.join(f'{k}:{v}' for k,v in json.load(open(sys.argv[1])).items()))" "$pwfile")"
fi
echo "Dừng: Ctrl+C"
wait "${pids[-1]}"
