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

# Runtime stage: a small Debian and nothing else. The CA bundle (vendor APIs are HTTPS) comes
# from the build stage, so no package is installed here and hadolint has no version to pin.
# No user is created: the numeric user 10001 needs no entry in /etc/passwd. Nothing is written
# to the image's filesystem at run time, so it runs with `--read-only` (see the README).
FROM debian:bookworm-slim
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/target/release/backup-exporter /usr/local/bin/backup-exporter
USER 10001:10001
EXPOSE 9987
ENTRYPOINT ["/usr/local/bin/backup-exporter"]
CMD ["serve", "--config", "/etc/backup-exporter/config.yml"]
