# syntax=docker/dockerfile:1
#
# Trading back office: production image (DESIGN.md §11).
# Build:  docker compose build        Run: docker compose up -d
# Secrets never enter this image: they are mounted at run time under /run/secrets/
# and read through the *_FILE variables (DESIGN.md §9).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: resolve and install the pinned dependencies into a virtualenv ----------------
FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Every pinned package ships a manylinux wheel for Python 3.11, so no compiler is installed.
# Should one ever need building, add build-essential here: this stage does not reach runtime.
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

COPY requirements.txt /tmp/requirements.txt
RUN pip install --upgrade pip \
    && pip install -r /tmp/requirements.txt

# --- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/venv/bin:${PATH}"

# libgomp1: the OpenMP runtime LightGBM (and XGBoost's threads) load at import time.
# WITH_COMPILER=1 adds gcc for compiled tree predictors: the job engine's image (the
# compose file's worker compiles registered models in the background) and an
# operator's (`manage.py compile_model`). The serving image needs no compiler: it loads
# the libraries the job engine or an operator built.
ARG WITH_COMPILER=0
# pgbackrest: the job engine's `pgbackrest info` (backoffice.core.ops.recovery) reads the backup
# repository for /readyz and /metrics.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 pgbackrest \
    && if [ "$WITH_COMPILER" = "1" ]; then \
         apt-get install -y --no-install-recommends gcc libc6-dev; \
       fi \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user the app runs as.
# Group 70 is the database image's postgres group, which owns the pgBackRest
# repository (group-readable): the worker reads it for `pgbackrest info`.
RUN groupadd --system --gid 10001 app \
    && groupadd --system --gid 70 pgrepo \
    && useradd --system --uid 10001 --gid app --groups pgrepo --home-dir /app \
       --no-create-home --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root (read-only to `app`); only var/ is writable.
COPY . /app

# Static files are collected at build time into /app/var/static (STATIC_ROOT; whitenoise
# serves them). The variables on this line exist only for this one command: they are not ENV,
# so they do not remain in the image, and no real secret is used at build time. Production
# settings refuse to load without DATABASE_URL; collectstatic never connects, so the URL
# points at nothing (port 9, discard).
RUN DJANGO_SECRET_KEY=build-only-not-secret-collectstatic-throwaway-value-0000000000 \
    DJANGO_DEBUG=0 \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@127.0.0.1:9/build \
    python manage.py collectstatic --noinput

# Writable by `app`: model artifacts and the ingest spool (named volumes in compose, which
# take this ownership when first mounted). The collected static files stay root-owned.
RUN mkdir -p /app/var/models /app/var/spool \
    && chown app:app /app/var/models /app/var/spool

USER app

EXPOSE 8000

# Liveness only (/healthz does not touch the database); readiness (/readyz) is checked by compose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "-c", "backoffice/gunicorn.conf.py", "backoffice.wsgi:application"]
