# syntax=docker/dockerfile:1
# asm in a container. Node 20 (our machines' version) is past its end of life; the image uses the
# maintained LTS line. The native better-sqlite3 addon is built in the build stage.

FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `prepare` (bin/build.mjs) runs inside npm ci; with no src/ yet it does nothing.
COPY bin ./bin
RUN npm ci --omit=dev
COPY src ./src
COPY config ./config
# The report font (charts are drawn with it and nothing else).
COPY assets ./assets
# Bundle now that src/ is here (bin/asm.mjs runs dist/ while it is current).
RUN node bin/build.mjs

FROM node:24-bookworm-slim AS runtime
# HOME is fixed so the agents' folders mounted under /home/node are found whatever uid the container runs
# as (`docker run --user "$(id -u):$(id -g)"` to read agent files only their owner may read).
# The gateway check is off: in a container 127.0.0.1 is the container, so a gateway on the host's loopback
# would always look down. With `--network host` (or a gateway address the container can reach in
# ASM_CHECKS__GATEWAY__URL) set ASM_CHECKS__GATEWAY__ENABLED=true; see the README's Docker section.
ENV NODE_ENV=production \
    HOME=/home/node \
    ASM_DB=/data/asm.db \
    ASM_CHECKS__GATEWAY__ENABLED=false
WORKDIR /app
COPY --from=build /app /app
# /data is writable by any uid the container runs as, like /tmp (a bind mount brings its own owner).
RUN mkdir -p /data && chown node:node /data && chmod 1777 /data
USER node
VOLUME ["/data"]
# Healthy while `asm health` exits 0: exit 1 (degraded) names what needs attention, exit 3 the database. The
# start period covers the first scan (the database is created by `asm run`; health never creates one).
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 \
  CMD ["node", "bin/asm.mjs", "health"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/asm.mjs"]
CMD ["run"]
