# syntax=docker/dockerfile:1
# Build stage: the full toolchain, discarded afterwards.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
ARG BACKUP_EXPORTER_REVISION=unknown
ENV BACKUP_EXPORTER_REVISION=${BACKUP_EXPORTER_REVISION}
RUN cargo build --release --locked && strip target/release/backup-exporter

# Runtime stage: a small Debian with CA certificates (vendor APIs are HTTPS) and nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin backup-exporter
COPY --from=build /src/target/release/backup-exporter /usr/local/bin/backup-exporter
USER 10001
EXPOSE 9987
ENTRYPOINT ["/usr/local/bin/backup-exporter"]
CMD ["serve", "--config", "/etc/backup-exporter/config.yml"]
