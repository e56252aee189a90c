# syntax=docker/dockerfile:1
#
# jit-access as a container image: `docker build -t jit-access .` (see docs/deploy.md).
#
# Stage 1 (build) compiles the TypeScript with every dependency; stage 2 (install) installs the
# packed package with production dependencies only, by scripts/install-package.sh — the same
# script test/package/package-install.test.ts runs, then starts the result against the GitHub
# simulator; stage 3 is the runtime: Node.js, the installed package, a non-root user.
# Node 24, the current LTS line; `--build-arg NODE_VERSION=22` builds on the other line that
# package.json's engines name (test/package/dockerfile.test.ts keeps the two in step).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# better-sqlite3's install script downloads its prebuilt addon, or compiles it with the build
# tools this (full) image has; no other dependency needs an install script at run time.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json app.yml README.md ./
COPY schema ./schema
COPY src ./src
COPY scripts/install-package.sh ./scripts/install-package.sh
RUN npm run build

FROM build AS install
# npm pack, then npm ci --omit=dev --ignore-scripts from the cache the build stage filled, and the
# built better-sqlite3 addon copied over: nothing fetched or compiled again.
RUN sh scripts/install-package.sh /src /app

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/jit-access.db
WORKDIR /app
COPY --from=install /app /app
# The `jit-access` command (sweep, reconcile, audit, …) next to the server.
RUN printf '#!/bin/sh\nexec node /app/dist/cli.js "$@"\n' > /usr/local/bin/jit-access \
 && chmod 0755 /usr/local/bin/jit-access \
 && mkdir -p /data \
 && chown 1000:1000 /data
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM stops gracefully (src/app/shutdown.ts); node runs as PID 1 and handles it itself.
# The V8 heap limits are `npm start`'s (package.json; docs/BENCHMARKS.md, scenario 4): a small
# young generation, and an old-generation cap that makes V8 collect before it doubles the heap.
CMD ["node", "--max-old-space-size=384", "--max-semi-space-size=4", "dist/main.js"]
