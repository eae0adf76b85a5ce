# veille: the service, with its configuration mounted read-only and its data in a volume.
#   docker build -t veille .
#   docker run -v veille-data:/data -v "$PWD/alerts:/config/alerts:ro" ... veille
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG_DIR=/config \
    MONITOR_DATA_DIR=/data

RUN useradd --create-home --uid 10001 veille \
    && mkdir -p /config /data \
    && chown veille:veille /data

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
COPY alembic ./alembic
RUN pip install --no-cache-dir . && rm -rf /src

# The shipped configuration, to be replaced by a mount of your own.
COPY sources.toml /config/sources.toml
COPY alerts /config/alerts

USER veille
WORKDIR /data
VOLUME ["/data"]

# Alive means a heartbeat less than 2 minutes old in /data (written every 30 s).
HEALTHCHECK --interval=1m --timeout=10s --start-period=2m CMD ["monitor", "health"]

ENTRYPOINT ["monitor"]
CMD ["run"]
