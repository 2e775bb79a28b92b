# syntax=docker/dockerfile:1
# 援助 Yuanzhu application image: one image, three roles chosen by the command
# (docker-compose.yml): `yuanzhu api` (default), `yuanzhu worker`, `yuanzhu db upgrade`.
#
#   docker build -t yuanzhu:0.1.0 .
#   docker run --rm yuanzhu:0.1.0 --help
#
# Installs from the same pyproject.toml as `make run` (runtime dependencies and the `otel`
# extra, so tracing is one setting away; no test extras). No HEALTHCHECK here: the roles differ
# (the API has /healthz, the worker only a metrics port), so each service in
# docker-compose.yml declares its own.

# Override with --build-arg PYTHON_IMAGE=<registry mirror>/python:3.11.14-slim-bookworm where
# Docker Hub is not reachable; keep the same pinned tag.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: a virtualenv with the app and its dependencies --------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/yuanzhu
WORKDIR /src
# pyproject.toml names README.md as the package readme, so the build needs it.
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY infra ./infra
COPY store ./store
COPY workflows ./workflows
COPY activities ./activities
COPY application ./application
COPY worker ./worker
COPY inbox_api ./inbox_api
COPY web ./web
# PYPI_MIRROR: an internal PyPI mirror (simple index URL) where pypi.org is not reachable.
ARG PYPI_MIRROR
RUN /opt/yuanzhu/bin/pip install ${PYPI_MIRROR:+--index-url "$PYPI_MIRROR"} ".[otel]" \
    && /opt/yuanzhu/bin/yuanzhu --help > /dev/null

# --- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/yuanzhu/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    YUANZHU_BIND_HOST=0.0.0.0
RUN groupadd --system --gid 10001 yuanzhu \
    && useradd --system --uid 10001 --gid yuanzhu --create-home --home-dir /home/yuanzhu \
        --shell /usr/sbin/nologin yuanzhu
COPY --from=build /opt/yuanzhu /opt/yuanzhu
COPY deploy/docker/worker_healthcheck.py /opt/yuanzhu/healthcheck/worker_healthcheck.py
WORKDIR /home/yuanzhu
USER yuanzhu:yuanzhu
# 8000: the API and its /metrics; 9464: a worker's metrics (YUANZHU_WORKER_METRICS_PORT).
EXPOSE 8000 9464
ENTRYPOINT ["yuanzhu"]
CMD ["api"]
