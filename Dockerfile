# syntax=docker/dockerfile:1
# One image pattern for every streamscore service:
#   docker build --build-arg SERVICE=ingest   -t streamscore/ingest .
#   docker build --build-arg SERVICE=gateway  -t streamscore/gateway .
# SERVICE is one of ingest, features, scorer, drift, gateway (binary
# build/bin/streamscore-$SERVICE). For a tool (e.g. the load generator) set
# BINARY to its name under build/bin instead.
#
# Stage 1 builds with the project's Makefile against Debian bookworm's -dev
# packages (the same versions CI tests: librdkafka 2.0.2, avro-c 1.11.1,
# libevent 2.1.12, hiredis 0.14.1). Stage 2 is bookworm-slim with only the
# shared libraries those binaries load, the data files (schemas, feature
# definitions, model bundles) and an unprivileged user.

ARG DEBIAN_TAG=bookworm-slim

FROM debian:${DEBIAN_TAG} AS build
ARG SERVICE=ingest
ARG BINARY=streamscore-${SERVICE}
ARG MAKE_JOBS=2
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      librdkafka-dev libavro-dev libevent-dev libhiredis-dev libjansson-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY libs/ libs/
COPY services/ services/
COPY tools/ tools/
# Build only the one program this image runs (not the unit tests, which need cmocka).
RUN install -d /out/app \
 && make -j"${MAKE_JOBS}" BUILD=build "build/bin/${BINARY}" \
 && strip --strip-unneeded "build/bin/${BINARY}" \
 && install -D -m 0755 "build/bin/${BINARY}" "/out/usr/local/bin/${BINARY}" \
 && ln -s "${BINARY}" /out/usr/local/bin/streamscore-service
# Data the services read at run time: topic schemas and feature definitions
# (required: they are the contracts) and model bundles (optional: without
# models/ in the context the store is empty and the scorer waits for a
# promoted version; mount a store at MODEL_STORE then).
RUN --mount=type=bind,target=/ctx \
    set -e; \
    for d in schemas features; do \
      test -d "/ctx/$d" || { echo "missing $d/ in the build context" >&2; exit 1; }; \
      cp -r "/ctx/$d" "/out/app/$d"; \
    done; \
    if [ -d /ctx/models ]; then cp -r /ctx/models /out/app/models; \
    else echo "warning: no models/ in the build context: empty model store" >&2; install -d /out/app/models; fi; \
    chmod -R a+rX,go-w /out/app

FROM debian:${DEBIAN_TAG} AS runtime
ARG SERVICE=ingest
ARG BINARY=streamscore-${SERVICE}
# Extra runtime packages for a binary that needs them (e.g. "libxgboost0").
ARG EXTRA_RUNTIME_PKGS=""
LABEL org.opencontainers.image.title="streamscore-${SERVICE}" \
      org.opencontainers.image.description="streamscore ${SERVICE}: real-time ML decisioning on Kafka" \
      org.opencontainers.image.source="https://example.invalid/streamscore"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libavro23 libevent-2.1-7 libevent-openssl-2.1-7 \
      libhiredis0.14 libjansson4 libssl3 ca-certificates ${EXTRA_RUNTIME_PKGS} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 streamscore \
 && useradd --system --uid 10001 --gid streamscore --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin streamscore \
 && install -d -m 0755 /app \
 && install -d -o 10001 -g 10001 -m 0750 /app/offline /app/tmp
WORKDIR /app
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# Contracts and data, root-owned and read-only to the service: schemas/,
# features/, models/. Bundles are never written: promotion and rollback move
# pointers in the Redis registry; new versions come with a new image or a
# store mounted at MODEL_STORE.
COPY --from=build /out/app/ /app/
ENV SERVICE=${SERVICE} \
    SCHEMA_DIR=/app/schemas \
    MODEL_STORE=/app/models \
    HTTP_BIND=0.0.0.0 \
    HTTP_PORT=8080 \
    OFFLINE_DIR=/app/offline \
    TMPDIR=/app/tmp \
    LOG_LEVEL=info
# Numeric UID so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# The service drains on SIGTERM (stop intake, finish in-flight, flush, commit).
# Liveness without extra packages: bash's /dev/tcp speaks enough HTTP/1.0.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HTTP_PORT} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/streamscore-service"]
