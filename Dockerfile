# pipeline: `docker build -t pipeline .` then `docker run --rm -e TENCENT_SECRET_ID=... pipeline sync`
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY sql ./sql
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && useradd --create-home --uid 10001 pipeline \
 && mkdir -p /app && chown pipeline:pipeline /app
USER pipeline
WORKDIR /app
# Mount or bake a config.yaml here (or set PIPELINE_CONFIG); secrets come from the environment.
COPY --chown=pipeline:pipeline config.yaml /app/config.yaml
ENTRYPOINT ["pipeline"]
CMD ["--help"]
