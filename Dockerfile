# The explorer in a container: Streamlit on port 8501, every server setting from
# .streamlit/config.toml (headless, XSRF protection, upload limit, error details hidden);
# serve.py runs app.py and warms the caches at start-up (README, "Fast first open").
#   docker build -t hcc-rt-explorer .
#   docker run --rm -p 8501:8501 hcc-rt-explorer
# tests/e2e/test_server.py starts the app with this file's ENV and CMD on a free local port.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# DejaVu Sans is the font of exported PNG/PDF figures (core/charts/forest.py FONT_FAMILY).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Runtime dependencies only, at the pinned versions the tests run with; no dev or test tools.
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The app runs as an unprivileged user; its files stay owned by root (read-only to it).
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin explorer

WORKDIR /app
COPY .streamlit/ .streamlit/
COPY serve.py ./
COPY app.py ./
COPY core/ core/
COPY ui/ ui/
COPY pages/ pages/
COPY data/ data/

USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://localhost:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["streamlit", "run", "serve.py", "--server.port=8501", "--server.address=0.0.0.0"]
