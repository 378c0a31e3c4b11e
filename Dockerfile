# Production image of the parapheur server: a release build, then a slim runtime with what the
# binary links (OpenSSL 3, CA certificates) and poppler-utils (the portal's page previews).
# Not exercised by CI (no Docker on the CI machine).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p parapheur-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/parapheur --create-home parapheur
COPY --from=build /src/target/release/parapheur /usr/local/bin/parapheur
USER parapheur
WORKDIR /var/lib/parapheur
ENV PARAPHEUR_LISTEN=0.0.0.0:8080 \
    PARAPHEUR_DATA_DIR=/var/lib/parapheur/data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["parapheur"]
CMD ["serve"]
