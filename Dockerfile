# The shop's one image: web (gunicorn), worker (celery worker), beat (celery beat) and the migration
# job all run it with another command; so do the relay and the notifications service (its own
# settings and entry point under services/, see compose.lifted.yaml). Installs exactly requirements.lock's versions, runs as a
# non-root user, ships its static files collected and compressed. Checked by hadolint in CI.
#   docker build -t commerce .
#   docker run -p 8000:8000 -e SECRET_KEY=… -e DATABASE_URL=postgres://… commerce

# --- build: a virtualenv with the pinned dependencies ---------------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first (their own layer, rebuilt only when the lock or pyproject changes): the runtime
# dependencies of pyproject.toml, at the versions of requirements.lock.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir -c requirements.lock -r requirements.txt

# --- runtime ----------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMMERCE_VAR_DIR=/app/var \
    STATIC_ROOT=/app/static \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --home-dir /app --shell /usr/sbin/nologin shop
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=shop:shop manage.py pyproject.toml ./
COPY --chown=shop:shop commerce ./commerce
COPY --chown=shop:shop contexts ./contexts
COPY --chown=shop:shop services ./services
# The shop's bytecode compiled at build time, as pip compiled the dependencies': with PYTHONDONTWRITEBYTECODE
# every worker would otherwise compile each module from source when it starts (slower, and ~0.4 MB more in
# each worker's heap, measured by bench/http). Static files collected at build time (compressed,
# content-hashed names); WhiteNoise serves them.
RUN python -m compileall -q commerce contexts services \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var /tmp/prometheus \
    && chown -R shop:shop /app/var /tmp/prometheus
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/health/live', headers={'Host': 'localhost', 'X-Forwarded-Proto': 'https'}), timeout=4)"]
# SIGTERM lets gunicorn finish the requests in flight (GUNICORN_GRACEFUL_TIMEOUT) before it exits.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "python:commerce.gunicorn_conf", "commerce.wsgi"]
