"""``[core] hostname_callable`` of the Airflow components ``make run-celery`` starts.

A task instance records the host it ran on, and the REST API and the UI show it. Every Celery worker
on one machine has the machine's name, so the run names each worker (``CCHC_WORKER_NAME``) and its
tasks record ``<worker>@<host>``, as Celery names its nodes. Anywhere the variable is unset (the
scheduler, the API server, a deployment with one worker per host) this is the host's name, Airflow's
own default. Imported by Airflow at every task start: nothing heavy here.
"""

from __future__ import annotations

import socket

from cchc.core import settings


def worker_hostname() -> str:
    name = settings.current().worker_name
    host = socket.getfqdn()
    return f"{name}@{host}" if name else host
