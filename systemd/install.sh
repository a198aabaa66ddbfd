#!/usr/bin/env bash
# Installs (or upgrades, or removes) Weir as a systemd service on Debian / Raspberry Pi OS
# (bookworm, arm64 and armhf), with Node.js 20 or newer (NodeSource's, or the distro's once it
# ships 20). Run it from a checkout of Weir:
#
#   sudo systemd/install.sh                 # install or upgrade, then start
#   sudo systemd/install.sh --uninstall     # remove the program and the unit; keep config and data
#   sudo systemd/install.sh --uninstall --purge   # ... and delete /etc/weir and /var/lib/weir
#
# Layout: program in /opt/weir (built JavaScript and production node_modules), unit in
# /etc/systemd/system/weir.service, user from /usr/lib/sysusers.d/weir.conf, directories from
# /usr/lib/tmpfiles.d/weir.conf, config in /etc/weir/weir.yaml (created from the example only if
# missing, so upgrades keep it), data in /var/lib/weir.
#
# DESTDIR=/some/root installs into that root instead and skips everything that touches the
# running system (systemctl, sysusers, tmpfiles); the tests use it.
set -euo pipefail

PREFIX=/opt/weir
DESTDIR="${DESTDIR:-}"
UNINSTALL=0
PURGE=0
NO_START=0

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "Options: --uninstall, --purge (with --uninstall), --no-start, -h/--help"
}

for arg in "$@"; do
  case "$arg" in
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --no-start) NO_START=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
  echo "install.sh: --purge only goes with --uninstall" >&2
  exit 2
fi

SRC="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${DESTDIR%/}"
live() { [ -z "$DESTDIR" ]; }
say() { printf 'weir install: %s\n' "$*"; }

if [ "$UNINSTALL" = 1 ]; then
  if live; then
    systemctl disable --now weir.service 2>/dev/null || true
  fi
  rm -f "$ROOT/etc/systemd/system/weir.service" "$ROOT/usr/lib/sysusers.d/weir.conf" "$ROOT/usr/lib/tmpfiles.d/weir.conf"
  rm -rf "$ROOT$PREFIX"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ROOT/etc/weir" "$ROOT/var/lib/weir"
    say "removed Weir, its config (/etc/weir) and its data (/var/lib/weir)"
  else
    say "removed Weir; kept its config (/etc/weir) and data (/var/lib/weir): add --purge to delete them"
  fi
  if live; then systemctl daemon-reload; fi
  exit 0
fi

# Node.js 20+ is required (Debian bookworm's own nodejs is 18: use NodeSource's 20.x or newer).
NODE_BIN="$(command -v node || true)"
if [ -z "$NODE_BIN" ]; then
  echo "install.sh: node not found. Install Node.js 20 or newer (e.g. NodeSource's nodejs 20.x), then run this again." >&2
  exit 1
fi
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "install.sh: Node.js $("$NODE_BIN" --version) is too old; Weir needs 20 or newer (NodeSource's nodejs 20.x works on arm64 and armhf)." >&2
  exit 1
fi
if live && [ "$NODE_BIN" != /usr/bin/node ]; then
  say "note: node is $NODE_BIN; the unit runs /usr/bin/node. Edit ExecStart= in /etc/systemd/system/weir.service if that is not the one you want."
fi

if [ ! -f "$SRC/dist/src/cli/weir.js" ]; then
  say "building (CKJS_LINKING=dynamic npm ci && npm run build) ..."
  (cd "$SRC" && CKJS_LINKING=dynamic npm ci && npm run build)
fi

say "installing the program into $ROOT$PREFIX ..."
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/weir-install.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/dist"
cp -R "$SRC/dist/src" "$STAGE/dist/src"
for d in bridge device; do
  if [ -d "$SRC/dist/$d" ]; then cp -R "$SRC/dist/$d" "$STAGE/dist/$d"; fi
done
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$SRC/weir.example.yaml" "$STAGE/"
# Production dependencies only; lmdb ships prebuilt binaries for arm64 and armhf, nothing compiles.
(cd "$STAGE" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
# The mirror's Kafka client (librdkafka) is the one native build: reuse the one the checkout's
# `npm ci` compiled on this machine (same architecture) instead of compiling it again.
CKJS=node_modules/@confluentinc/kafka-javascript
if [ -f "$SRC/$CKJS/build/Release/confluent-kafka-javascript.node" ] && [ -d "$STAGE/$CKJS" ]; then
  cp -R "$SRC/$CKJS/build" "$STAGE/$CKJS/build"
else
  say "note: the mirror's Kafka client is not built, so upstreams cannot be used; see README, 'The mirror's Kafka client'."
fi
# Replace the program in one step, so an upgrade never leaves half of two versions.
mkdir -p "$(dirname "$ROOT$PREFIX")"
rm -rf "$ROOT$PREFIX.new"
cp -R "$STAGE" "$ROOT$PREFIX.new"
rm -rf "$ROOT$PREFIX"
mv "$ROOT$PREFIX.new" "$ROOT$PREFIX"

say "installing the unit, sysusers and tmpfiles entries ..."
install -D -m 0644 "$SRC/systemd/weir.service" "$ROOT/etc/systemd/system/weir.service"
install -D -m 0644 "$SRC/systemd/weir.sysusers" "$ROOT/usr/lib/sysusers.d/weir.conf"
install -D -m 0644 "$SRC/systemd/weir.tmpfiles" "$ROOT/usr/lib/tmpfiles.d/weir.conf"
install -d -m 0750 "$ROOT/etc/weir"
if [ -f "$ROOT/etc/weir/weir.yaml" ]; then
  say "keeping the existing /etc/weir/weir.yaml (the new example is /etc/weir/weir.example.yaml)"
else
  install -m 0640 "$SRC/weir.example.yaml" "$ROOT/etc/weir/weir.yaml"
fi
install -m 0644 "$SRC/weir.example.yaml" "$ROOT/etc/weir/weir.example.yaml"

if live; then
  systemd-sysusers /usr/lib/sysusers.d/weir.conf
  systemd-tmpfiles --create /usr/lib/tmpfiles.d/weir.conf
  chgrp weir /etc/weir /etc/weir/weir.yaml
  systemctl daemon-reload
  if [ "$NO_START" = 0 ]; then
    systemctl enable weir.service
    # restart, not start: an upgrade must pick up the new program.
    systemctl restart weir.service
    say "started: systemctl status weir; journalctl -u weir -f"
  else
    say "installed; start it with: systemctl enable --now weir"
  fi
else
  say "installed into $ROOT (DESTDIR): nothing on the running system was changed"
fi
