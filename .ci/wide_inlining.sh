#!/usr/bin/env bash
# The element loops get AVX-512/AVX2 registers only for code inlined into
# the dispatch wrappers of `backend::simd` (`on_avx512`, `on_avx2`: methods of the kernels'
# closures, see src/backend/simd.rs): a closure or function that LLVM
# leaves as a call from there runs at SSE width, silently (Adam's update did, 22% of an MLP
# step). This disassembles release test binaries that reach most kernels and fails when a
# shaped function is called from inside those wrappers. Allowed: the wrappers themselves
# (nested dispatch), `reduce::sum_long`, which dispatches its own blocks, and
# `reduce::sum_contiguous_generic`, a long row's sum in its own `wide` (called per row where
# inlining its 64 lanes into the caller's loop was slower), and the entry points of
# `vector_math::kernels` (`on_avx512`, `on_avx2`: compiled with their own `#[target_feature]`,
# called once per row of a softmax).
# Usage: .ci/wide_inlining.sh (after `cargo test --release` built the binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v objdump >/dev/null 2>&1; then
  echo "ci: wide-inlining check skipped: objdump not installed"
  exit 0
fi
status=0
for t in golden_elementwise golden_loss golden_norm golden_conv golden_attention golden_optim \
  golden_rnn golden_reduce; do
  bin=$(cargo test --release --test "$t" --no-run --message-format=json 2>/dev/null \
    | sed -n "s/.*\"executable\":\"\([^\"]*$t[^\"]*\)\".*/\1/p" | tail -n 1)
  calls=$(objdump -d --no-show-raw-insn -C "$bin" | awk '
    /^[0-9a-f]+ <.*>:$/ { name = $0; next }
    name ~ /as shaped::backend::simd::Wide[A-Za-z]*<.*>>::on_avx(512|2)>:$/ && /call +[0-9a-f]+ </ { sub(/.*call +[0-9a-f]+ /, ""); print }' \
    | grep 'shaped::' | grep -v 'as shaped::backend::simd::Wide[A-Za-z]*<.*>>::\(on_avx\|run_wide\)\|shaped::backend::reduce::sum_long\|shaped::backend::reduce::sum_contiguous_generic\|shaped::backend::vector_math::kernels::.*::on_avx' \
    | sort -u || true)
  if [ -n "$calls" ]; then
    echo "ci: $t calls out of a wide() wrapper (mark these #[inline(always)]):"
    echo "$calls"
    status=1
  fi
done
[ "$status" = 0 ] && echo "ci: wide-inlining check passed"
exit "$status"
