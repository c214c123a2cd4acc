#!/usr/bin/env bash
# Installs what taskalign needs, only when something is missing (idempotent).
#   scripts/deps.sh          build + run dependencies (Debian packages)
#   scripts/deps.sh --test   also the test oracles (python3-torch, npm packages)
#   scripts/deps.sh --fuzz   also clang + its fuzzer runtime (scripts/fuzz.sh only)
set -eu
cd "$(dirname "$0")/.."
want_test=0 want_fuzz=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--fuzz" ] && want_fuzz=1

pkgs="build-essential pkg-config libopenblas-dev libjansson-dev libpcre2-dev libutf8proc-dev libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev"
[ $want_test -eq 1 ] && pkgs="$pkgs python3-torch python3-numpy nodejs npm chromium"
[ $want_fuzz -eq 1 ] && pkgs="$pkgs clang libclang-rt-14-dev libomp-14-dev"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# nodejs/npm may come from outside Debian (a machine's own node): accept a working one.
if [ -n "$missing" ] && command -v node >/dev/null && command -v npm >/dev/null; then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -vxE 'nodejs|npm' | tr '\n' ' ' || true)
fi
missing=$(echo "$missing" | xargs || true)
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "deps: installing $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $missing
    else
        echo "deps: missing Debian packages: $missing"
        echo "deps: run: sudo apt-get install -y $missing"
        exit 1
    fi
fi

if [ $want_test -eq 1 ] && [ -f tests/oracle/package-lock.json ]; then
    stamp=tests/oracle/node_modules/.lock-stamp
    if [ ! -f "$stamp" ] || ! cmp -s tests/oracle/package-lock.json "$stamp"; then
        echo "deps: npm ci (tests/oracle)"
        (cd tests/oracle && npm ci --omit=optional --no-audit --no-fund --loglevel=error)
        cp tests/oracle/package-lock.json "$stamp"
    fi
fi
