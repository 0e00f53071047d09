#!/usr/bin/env bash
# Build-time measurements of issue 15 (W6): cold and incremental release builds of
#   * the W2 program alone (benches/build_time/w2: one dependency on shaped), and
#   * `cargo run --release --example digits` from a fresh clone (empty target dir).
# Registry sources must already be downloaded (`cargo fetch`); nothing is fetched here.
#
# Usage: benches/build_time/measure.sh [TARGET_ROOT] [ROUNDS]
#   TARGET_ROOT  where the throw-away target dirs go (default: target/build_time); they are
#                deleted before every cold build.
#   ROUNDS       how many times to repeat the whole set (default 1).
#   TIMINGS=1    also write cargo's --timings HTML reports (target dirs' cargo-timings/).
#   ONLY=w2|digits  measure one of the two.
# Prints one line per build: what, wall seconds, user+sys CPU seconds.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${1:-$REPO/target/build_time}
ROUNDS=${2:-1}
TIMINGS_FLAG=()
[ "${TIMINGS:-0}" = 1 ] && TIMINGS_FLAG=(--timings)
export CARGO_TERM_COLOR=never
mkdir -p "$ROOT"

# timed LABEL CMD...: runs CMD, prints "LABEL wall_s cpu_s" (cpu = user + sys of all children).
timed() {
  local label=$1
  shift
  local log="$ROOT/$label.log"
  /usr/bin/time -f '%e %U %S' -o "$ROOT/time.out" "$@" >"$log" 2>&1 || {
    echo "$label: build failed, see $log" >&2
    return 1
  }
  read -r wall user sys <"$ROOT/time.out"
  printf '%-14s wall %7.2f s  cpu %7.2f s\n' "$label" "$wall" "$(echo "$user + $sys" | bc)"
}

for _ in $(seq "$ROUNDS"); do
  if [ "${ONLY:-w2}" = w2 ] || [ -z "${ONLY:-}" ]; then
    W2="$REPO/benches/build_time/w2"
    rm -rf "$ROOT/w2"
    timed w2-cold cargo build --release --offline --manifest-path "$W2/Cargo.toml" \
      --target-dir "$ROOT/w2" "${TIMINGS_FLAG[@]}"
    touch "$W2/src/main.rs"
    timed w2-touch cargo build --release --offline --manifest-path "$W2/Cargo.toml" \
      --target-dir "$ROOT/w2"
  fi
  if [ "${ONLY:-digits}" = digits ] || [ -z "${ONLY:-}" ]; then
    rm -rf "$ROOT/digits"
    # `cargo run` = build + run; only the build is timed (the run trains for ~30 s).
    timed digits-cold cargo build --release --offline --manifest-path "$REPO/Cargo.toml" \
      --example digits --target-dir "$ROOT/digits" "${TIMINGS_FLAG[@]}"
    touch "$REPO/examples/digits.rs"
    timed digits-touch-ex cargo build --release --offline --manifest-path "$REPO/Cargo.toml" \
      --example digits --target-dir "$ROOT/digits"
    touch "$REPO/src/lib.rs"
    timed digits-touch-lib cargo build --release --offline --manifest-path "$REPO/Cargo.toml" \
      --example digits --target-dir "$ROOT/digits"
  fi
done
