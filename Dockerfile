# syntax=docker/dockerfile:1
#
# The cchc image: the official Airflow image extended with the pinned requirements.txt, the cchc package
# and the system tools the letter stage needs (LibreOffice for DOCX -> PDF, with python3-uno for the
# session that keeps one LibreOffice running for a task's conversions, Liberation fonts with the
# Vietnamese glyphs, poppler for PDF checks). One image runs every Airflow component of
# docker-compose.yaml and the portal simulator.
#
# The tag below must stay equal to the apache-airflow pin in requirements.txt
# (tests/test_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# --- system packages (as root) -------------------------------------------------------------------
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libreoffice-writer-nogui \
        python3-uno \
        fonts-liberation2 \
        poppler-utils \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# /opt/cchc holds the package source (include/), the scenarios and the output volume. Group 0 may write,
# as the official image expects (containers run as "${AIRFLOW_UID}:0").
RUN mkdir -p /opt/cchc/include /opt/cchc/scenarios /opt/cchc/output \
    && chown -R airflow:0 /opt/cchc \
    && chmod -R g+rwX /opt/cchc

# --- Python packages (back to the airflow user, as the official image requires for pip) ----------
USER airflow

# Installing apache-airflow==${AIRFLOW_VERSION} (set by the base image) next to the pinned file is the
# documented way to keep pip from up- or downgrading the Airflow that ships with the image: a drift
# between FROM and requirements.txt makes the build fail instead of silently changing Airflow.
COPY --chown=airflow:0 requirements.txt /opt/cchc/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/cchc/requirements.txt

# The cchc package, editable from /opt/cchc/include: docker-compose.yaml mounts ./include there, so the
# mounted source is what runs (PYTHONPATH points at it too). --no-deps: requirements.txt is the full set.
COPY --chown=airflow:0 pyproject.toml /opt/cchc/pyproject.toml
COPY --chown=airflow:0 include/ /opt/cchc/include/
RUN pip install --no-cache-dir --no-deps -e /opt/cchc

# A baked copy of the scenarios (docker-compose.yaml mounts ./scenarios over it). dags/ and plugins/ are
# bind-mounted by docker-compose.yaml, not baked: plugins/ may be empty and then absent from a git checkout.
COPY --chown=airflow:0 scenarios/ /opt/cchc/scenarios/

ENV PYTHONPATH=/opt/cchc/include \
    CCHC_CONFIG_DIR=/opt/cchc/scenarios/seed \
    CCHC_OUTPUT_DIR=/opt/cchc/output

# Fail the build if pip moved Airflow away from the base image's version or cchc does not import.
RUN python -c "import airflow, cchc, cchc.cli, os; \
assert airflow.__version__ == os.environ['AIRFLOW_VERSION'], (airflow.__version__, os.environ['AIRFLOW_VERSION'])" \
    && command -v soffice && command -v pdftotext && command -v cchc
