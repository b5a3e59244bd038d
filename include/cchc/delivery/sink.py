"""A local SMTP sink for demos: accepts every message on 127.0.0.1 and saves it as an .eml file.

``make demo`` uses it where the environment defines no ``smtp_default`` connection, so a newcomer can
open what every recipient would receive. docker-compose uses Mailpit for the same purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import signal
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

log = logging.getLogger(__name__)


class _SaveHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        data = envelope.original_content or envelope.content
        message = message_from_bytes(data, policy=default_policy)
        digest = hashlib.sha256(data).hexdigest()[:12]
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                safe = rcpt.replace("@", "_at_").replace("/", "_")
                path = self.folder / f"{safe}-{digest}.eml"
                path.write_bytes(data)
                log.info("Đã nhận thư gửi %s: %s → %s", rcpt, message.get("Subject", ""), path)
        return "250 Message accepted for delivery"


def start(folder: str | Path, host: str = "127.0.0.1", port: int = 0):
    """Start the sink in a background thread; returns the aiosmtpd Controller (``.port``, ``.stop()``)."""
    from aiosmtpd.controller import Controller

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not port:
        # aiosmtpd's start-up check connects to the configured port, so it cannot be 0: pick one.
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    controller = Controller(_SaveHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cchc.delivery.sink", description=__doc__)
    parser.add_argument("--dir", required=True, help="thư mục lưu các tệp .eml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    controller = start(args.dir, args.host, args.port)
    print(
        f"Hộp thư thử nghiệm SMTP đang chạy tại {args.host}:{controller.port}, lưu thư vào {args.dir}",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
