#!/bin/sh
# Installs jit-access the way the container image does, from a built source tree:
#
#   scripts/install-package.sh SOURCE_DIR DEST_DIR
#
# 1. `npm pack` in SOURCE_DIR (dist/ must be built: `npm run build`), so only the files the
#    package publishes (package.json "files") go in;
# 2. the tarball unpacked into DEST_DIR, with SOURCE_DIR's package-lock.json beside it, and
#    `npm ci --omit=dev`: production dependencies only, at the versions of the lock file, from
#    npm's cache when it has them (--prefer-offline);
# 3. better-sqlite3's native addon copied from SOURCE_DIR's node_modules, where its own install
#    script built or downloaded it for this platform and Node.js version; nothing is fetched or
#    compiled again (the install runs with --ignore-scripts).
#
# The Dockerfile runs this script, and test/package/package-install.test.ts runs it too, then
# starts DEST_DIR/dist/main.js: a runtime import of a dev dependency fails there as in the image.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR DEST_DIR" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
dest=$2

if [ ! -f "$src/dist/main.js" ]; then
  echo "$src/dist/main.js is missing: run npm run build first" >&2
  exit 1
fi
addon="$src/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
if [ ! -f "$addon" ]; then
  echo "$addon is missing: run npm ci in $src first (better-sqlite3's install script builds it)" >&2
  exit 1
fi

packed=$(mktemp -d)
trap 'rm -rf "$packed"' EXIT
(cd "$src" && npm pack --ignore-scripts --silent --pack-destination "$packed" >/dev/null)

mkdir -p "$dest"
tar -xzf "$packed"/jit-access-*.tgz -C "$dest" --strip-components=1
cp "$src/package-lock.json" "$dest/package-lock.json"
(cd "$dest" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)

mkdir -p "$dest/node_modules/better-sqlite3/build/Release"
cp "$addon" "$dest/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
