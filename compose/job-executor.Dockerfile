# syntax=docker/dockerfile:1
# The job-executor image: phobos-job-executor alone, which runs one job and
# exits (for dispatchers that start each job in a container of its own).
# Build from the repository root (`cargo xtask images` does):
#   docker build -f compose/job-executor.Dockerfile -t phobos/job-executor .

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
    cargo build --release --locked -p phobos-executor \
 && mkdir -p /out \
 && cp target/release/phobos-job-executor /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/phobos phobos
COPY --from=build /out/phobos-job-executor /usr/local/bin/
USER phobos
WORKDIR /var/lib/phobos
# One job, then it exits: a container's health is its exit code.
HEALTHCHECK NONE
ENTRYPOINT ["phobos-job-executor"]
