# Unroll: one container for a course. Build: docker build -t unroll .  Run: docker run -p 8000:8000 unroll
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    UNROLL_HOST=0.0.0.0 \
    UNROLL_PORT=8000

RUN useradd --create-home --uid 10001 unroll
WORKDIR /src

# The same install as the README's, without the editable flag: static files and templates ship
# inside the package.
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip install . && rm -rf /src/build

USER 10001
WORKDIR /home/unroll
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('UNROLL_PORT', '8000'), timeout=4)"]
CMD ["unroll", "serve"]
