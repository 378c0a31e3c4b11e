# syntax=docker/dockerfile:1
# Production image of the parapheur server: a release build, then a slim runtime with what the
# binary links (OpenSSL 3, CA certificates), poppler-utils (the portal's page previews) and curl
# (the health check). Dependencies are compiled once and kept in BuildKit cache mounts: a
# rebuild after a source change recompiles the workspace crates only.
# Not exercised by CI (the CI machine reaches no container registry).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p parapheur-server --bin parapheur \
 && cp target/release/parapheur /usr/local/bin/parapheur

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 poppler-utils curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/parapheur --create-home parapheur
COPY --from=build /usr/local/bin/parapheur /usr/local/bin/parapheur
USER parapheur
WORKDIR /var/lib/parapheur
ENV PARAPHEUR_LISTEN=0.0.0.0:8080 \
    PARAPHEUR_DATA_DIR=/var/lib/parapheur/data \
    PARAPHEUR_LOG_FORMAT=json
EXPOSE 8080
# /healthz answers 200 when the database and the blob store answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
# SIGTERM: requests in progress and the job worker finish ([limits] shutdown_grace_s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["parapheur"]
CMD ["serve"]
