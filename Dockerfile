# The diswot search service: `docker build -t diswot .` then `docker run -p 8000:8000 -v diswot-data:/data diswot`.
# Settings come from DISWOT_* variables (README, "Service"); jobs live in /data unless DISWOT_DATABASE_URL is set.
#
# GPU image: the same torch version from PyPI, whose Linux wheel is the CUDA build and brings its own CUDA
# runtime (the host needs only the NVIDIA driver and the container toolkit), with Ray for the ray executor:
#     docker build -t diswot:gpu --build-arg TORCH_INDEX=https://pypi.org/simple \
#         --build-arg EXTRAS=service,postgres,ray .
#     docker run --gpus all -p 8000:8000 -e DISWOT_EXECUTOR=process -e DISWOT_WORKERS_PER_JOB=1 diswot:gpu
# (docker/compose.yaml's `gpu` profile does this.)
FROM python:3.11-slim

# Keep in step with the torch pin in pyproject.toml. The CPU wheel index by default: PyPI serves the CUDA build,
# several GB larger, which a CPU service never uses.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG EXTRAS=service,postgres

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY diswot ./diswot
COPY search_spaces ./search_spaces
COPY api ./api
# torch is already satisfied by the build above, so this adds only the service's own dependencies.
RUN pip install ".[${EXTRAS}]"

RUN useradd --create-home --uid 10001 diswot \
    && mkdir -p /data /teachers /probe-data \
    && chown diswot:diswot /data
USER diswot

ENV DISWOT_DATABASE_PATH=/data/diswot.db
# Distillation jobs keep their run folders (checkpoints, trained students) beside the database.
ENV DISWOT_DISTILL_DIR=/data/distillations
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["diswot", "serve", "--host", "0.0.0.0", "--port", "8000"]
