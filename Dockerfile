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
# Bundle now that src/ is here (bin/asm.mjs runs dist/ while it is current).
RUN node bin/build.mjs

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ASM_DB=/data/asm.db
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/asm.mjs"]
CMD ["run"]
