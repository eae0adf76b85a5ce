# veille: the service, with its configuration mounted read-only and its data in a volume.
#   docker build -t veille .
#   docker run -d --name veille -v "$PWD/config:/config:ro" -v veille-data:/data veille
# (README.md, "In a container", has the whole command, with secrets.)

# A fixed Python and Debian release: a rebuild gets the same interpreter and packages.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG_DIR=/config \
    MONITOR_DATA_DIR=/data

# tini is PID 1: it forwards SIGTERM and SIGHUP to `monitor` and reaps orphaned processes
# (extraction workers whose parent died), which a Python PID 1 does not.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 veille \
    && mkdir -p /config /data \
    && chown veille:veille /data

WORKDIR /src
# Dependencies first, in a layer of their own, at the versions the tests passed with:
# a change to the code reuses this layer instead of installing everything again.
COPY constraints.txt ./
RUN pip install --no-cache-dir -r constraints.txt

# Then veille itself, without touching the dependencies; `pip check` fails the build
# when constraints.txt lacks one that pyproject.toml asks for.
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
COPY alembic ./alembic
RUN pip install --no-cache-dir --no-deps . && pip check && rm -rf /src

# The shipped configuration, to be replaced by a mount of your own at /config.
COPY sources.toml /config/sources.toml
COPY alerts /config/alerts

USER veille
# The lemma dictionaries as tries (monitor/match/tries.py), made once here in the user's
# cache folder rather than at each new container's first start.
RUN python -c "from monitor.match.lemmas import LEMMA_LANGUAGES; \
from monitor.match.tries import cache_folder, load_trie; \
[load_trie(cache_folder(), lang) for lang in LEMMA_LANGUAGES]"
WORKDIR /data
VOLUME ["/data"]

# Alive means a heartbeat less than 2 minutes old in /data (written every 30 s) and, when
# the service runs with --http, an answer from its /healthz (the heartbeat names it).
HEALTHCHECK --interval=1m --timeout=10s --start-period=2m CMD ["monitor", "health"]

ENTRYPOINT ["/usr/bin/tini", "--", "monitor"]
CMD ["run"]
