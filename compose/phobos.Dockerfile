# syntax=docker/dockerfile:1
# The phobos image: the server (the web UI and GraphQL on 9000, gRPC for
# agents on 9010) and phobos-job-executor for its internal agent.
# Build from the repository root (`cargo xtask images` does):
#   docker build -f compose/phobos.Dockerfile -t phobos/phobos .

# The web UI (ui/dist), which the server embeds.
FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY --from=ui /src/ui/dist ui/dist
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY core core
COPY commands commands
COPY projections projections
COPY proto proto
COPY api api
COPY agent agent
COPY executor executor
COPY xtask xtask
COPY migrations migrations
COPY examples examples
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p phobos-api -p phobos-executor \
 && mkdir -p /out \
 && cp target/release/phobos target/release/phobos-job-executor /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/phobos phobos \
 && mkdir -p /var/lib/phobos/objects \
 && chown phobos:phobos /var/lib/phobos/objects
COPY --from=build /out/phobos /out/phobos-job-executor /usr/local/bin/
USER phobos
WORKDIR /var/lib/phobos
EXPOSE 9000 9010
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["phobos", "healthcheck"]
ENTRYPOINT ["phobos"]
CMD ["serve"]
