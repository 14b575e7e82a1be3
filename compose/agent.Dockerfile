# syntax=docker/dockerfile:1
# The agent image: phobos-agent, which takes job offers from the server
# over gRPC, and the phobos-job-executor it starts for each job.
# Build from the repository root (`cargo xtask images` does):
#   docker build -f compose/agent.Dockerfile -t phobos/agent .

FROM rust:1.95-bookworm AS build
WORKDIR /src
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
    cargo build --release --locked -p phobos-agent -p phobos-executor \
 && mkdir -p /out \
 && cp target/release/phobos-agent target/release/phobos-job-executor /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/phobos phobos
COPY --from=build /out/phobos-agent /out/phobos-job-executor /usr/local/bin/
USER phobos
WORKDIR /var/lib/phobos
# The agent writes the time of each accepted heartbeat here (Unix seconds);
# it is unhealthy when the server has accepted none for 90 s.
ENV PHOBOS_AGENT_HEALTH_FILE=/tmp/phobos-agent-health
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["sh", "-c", "test $(( $(date +%s) - $(cat \"$PHOBOS_AGENT_HEALTH_FILE\") )) -lt 90"]
ENTRYPOINT ["phobos-agent"]
