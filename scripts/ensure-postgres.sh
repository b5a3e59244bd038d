#!/usr/bin/env bash
# Starts the local PostgreSQL cluster when it is installed but down (CI machines have one).
set -u
ready() { python3 - <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
}
ready && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "PostgreSQL chưa chạy: khởi động cụm $(ls /etc/postgresql)/main"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "PostgreSQL không có ở 127.0.0.1:5432: các kiểm thử cần PostgreSQL sẽ bị bỏ qua" >&2
exit 0
