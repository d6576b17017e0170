# syntax=docker/dockerfile:1
# rolesmith operator image: `docker build -t rolesmith:dev .` from a clean checkout.
# Build and runtime share Debian 12 (bookworm), so the glibc the binary links against is the one
# it runs with. aws-lc-rs needs glibc and libgcc: distroless/cc has both (distroless/static has neither).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between builds; the binary is copied out of the
# cached target/ because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin rolesmith \
    && install -D -m 0755 target/release/rolesmith /out/rolesmith

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="rolesmith" \
      org.opencontainers.image.description="Kubernetes operator that manages AWS IAM roles from IamRole resources" \
      org.opencontainers.image.source="https://github.com/rolesmith/rolesmith" \
      org.opencontainers.image.url="https://github.com/rolesmith/rolesmith" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/rolesmith /rolesmith
# 65532 is distroless's nonroot user; numeric so runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/rolesmith"]
CMD ["run"]
