#!/usr/bin/env bash
# `benchmarks/run cpu-vs-pytorch`: trains the same model directory on the CPU with `fullshard train`
# (on the bundled libtorch and, when PyTorch is installed, on PyTorch's own libtorch) and with a plain
# PyTorch loop (benchmarks/pytorch_loop.py), interleaved, best of 2 rounds each, and prints the
# tokens/s of each after 3 warm-up steps and fullshard's ratio to PyTorch. benchmarks/run calls it
# after building and printing the machine line.
#
# Usage: cpu-vs-pytorch.sh JAVA CLASSPATH [--dtype bf16|fp32] [--steps N] [--presets tiny,125m[:BxT],...]
#   --dtype    default: bf16 where the CPU has native bf16 (avx512_bf16 or amx_bf16), else fp32
#   --steps    optimizer steps per run, the 3 warm-up steps included (default: tiny 8, 125m 6)
#   --presets  init-model presets to run, each with its batch x sequence length (default: tiny,125m,
#              that is tiny:4x128,125m:2x256; e.g. 125m:4x512 for a larger step)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
java=$1 cp=$2
shift 2

warmup=3
rounds=2
dtype="" steps="" presets="tiny,125m"
while [ $# -gt 0 ]; do
  case $1 in
    --dtype) dtype=${2:?--dtype needs bf16 or fp32}; shift 2 ;;
    --steps) steps=${2:?--steps needs a number}; shift 2 ;;
    --presets) presets=${2:?--presets needs a list such as tiny,125m}; shift 2 ;;
    *) echo "cpu-vs-pytorch: unknown option $1 (allowed: --dtype bf16|fp32, --steps N, --presets tiny,125m[:BxT],...)" >&2; exit 2 ;;
  esac
done
case $dtype in
  ""|bf16|fp32) ;;
  *) echo "cpu-vs-pytorch: --dtype must be bf16 or fp32, not $dtype" >&2; exit 2 ;;
esac
if [ -n "$steps" ] && ! { [[ $steps =~ ^[0-9]+$ ]] && [ "$steps" -gt "$warmup" ]; }; then
  echo "cpu-vs-pytorch: --steps must be a whole number above the $warmup warm-up steps, not $steps" >&2; exit 2
fi

# Without native bf16 (AVX-512 BF16 or AMX) every bf16 matrix product is emulated and many times slower
# than fp32 (docs/benchmarks.md), which would compare emulations rather than trainers.
native_bf16=$(grep -m1 -o -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo || true)
if [ -n "$dtype" ]; then
  echo "# dtype: $dtype (--dtype)"
elif [ -n "$native_bf16" ]; then
  dtype=bf16
  echo "# dtype: bf16 (the CPU has native bf16: $native_bf16)"
else
  dtype=fp32
  echo "# dtype: fp32 (the CPU has neither avx512_bf16 nor amx_bf16, so bf16 would be emulated; --dtype bf16 forces it)"
fi

# PyTorch: the first Python, of the active virtualenv/conda env and then of PATH, that imports torch
# 2.10 or newer (the oldest fullshard loads), as fullshard's own search finds an installed PyTorch.
python="" torch_lib="" transformers=""
candidates=()
for prefix in "${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}"; do
  [ -n "$prefix" ] && candidates+=("$prefix/bin/python3" "$prefix/bin/python")
done
IFS=: read -r -a path_dirs <<< "${PATH:-}"
for dir in "${path_dirs[@]}"; do
  [ -n "$dir" ] && candidates+=("$dir/python3" "$dir/python")
done
for candidate in "${candidates[@]}"; do
  [ -x "$candidate" ] || continue
  found=$(timeout 120 "$candidate" - 2>/dev/null <<'PY'
import importlib.util, os, re, torch
major, minor = map(int, re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
if (major, minor) >= (2, 10):
    has_transformers = importlib.util.find_spec("transformers") is not None
    print(torch.__version__, "yes" if has_transformers else "no", os.path.join(os.path.dirname(torch.__file__), "lib"))
PY
  ) || continue
  if [ -n "$found" ]; then
    python=$candidate
    read -r torch_version transformers torch_lib <<< "$found"
    break
  fi
done
if [ -z "$python" ]; then
  echo "# pytorch: not found (no Python of the virtualenv/conda env or on PATH imports torch 2.10 or newer); fullshard's bundled libtorch alone"
elif [ "$transformers" = no ]; then
  echo "# pytorch: $python, torch $torch_version, libtorch $torch_lib; transformers is not installed there, so no PyTorch eager loop"
else
  echo "# pytorch: $python, torch $torch_version, libtorch $torch_lib"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$root/target/fullshard/bin"

# Training text for fullshard: lines of numbers far longer than any row, so each row is one line cut to
# seq tokens and every position but the row's last is a target, as in the PyTorch loop (labels = inputs).
# Instruction data would mask the prompts, and the trainer skips the LM head for masked positions: less
# work than PyTorch's. Four lines: a whole number of micro-batches per epoch for batch 4 and 2, so no
# epoch ends on a padding row.
for line in 1 2 3 4; do
  printf '{"text": "%s"}\n' "$(seq -s ' ' $((line * 10000)) $((line * 10000 + 1000)))"
done > "$work/train.jsonl"

# One `fullshard train` run: prints its tokens/s after the warm-up, or nothing (and its log) when it fails.
fullshard_run() { # preset batch seq steps torch_lib_setting
  local preset=$1 batch=$2 seq=$3 n=$4 lib=$5 out="$work/out"
  rm -rf "$out"
  cat > "$work/train.yaml" <<YAML
model: {path: $work/$preset}
mixed_precision: $dtype
data: {train_files: [$work/train.jsonl], format: text, max_seq_len: $seq}
training: {max_steps: $n, micro_batch_size: $batch, gradient_accumulation_steps: 1, max_grad_norm: 1.0}
logging: {output_dir: $out, logging_steps: 1, save_steps: $((n + 1))}
YAML
  if ! FULLSHARD_TORCH_LIB=$lib "$bin/fullshard" train "$work/train.yaml" > "$work/train.log" 2>&1; then
    echo "cpu-vs-pytorch: fullshard train failed (FULLSHARD_TORCH_LIB=$lib):" >&2
    tail -n 20 "$work/train.log" >&2
    return 0
  fi
  local result
  result=$("$java" -cp "$cp" dev.fullshard.benchmarks.TrainTokensPerSecond "$out" "$warmup" "$batch" "$seq") || return 0
  sed -n 's/^tokens_per_second=\([0-9.]*\) .*/\1/p' <<< "$result"
}

pytorch_run() { # preset batch seq steps
  if ! "$python" "$here/pytorch_loop.py" --model "$work/$1" --batch "$2" --seq "$3" --steps "$4" --warmup "$warmup" --dtype "$dtype" \
      > "$work/pytorch.log" 2>&1; then
    echo "cpu-vs-pytorch: pytorch_loop.py failed:" >&2
    tail -n 20 "$work/pytorch.log" >&2
    return 0
  fi
  sed -n 's/^pytorch_loop: tokens_per_second=\([0-9.]*\) .*/\1/p' "$work/pytorch.log"
}

best() { printf '%s\n' "$@" | awk 'NF && $1 > best { best = $1 } END { if (best) printf "%.0f", best; else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

table=()
IFS=, read -r -a preset_list <<< "$presets"
for row in "${preset_list[@]}"; do
  preset=${row%%:*}
  case $preset in
    tiny) batch=4 seq=128 n=${steps:-8} ;;
    125m) batch=2 seq=256 n=${steps:-6} ;;
    *) echo "cpu-vs-pytorch: unknown preset $preset (tiny or 125m)" >&2; exit 2 ;;
  esac
  if [ "$row" != "$preset" ]; then
    if [[ ! ${row#*:} =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]]; then
      echo "cpu-vs-pytorch: $row: expected PRESET:BATCHxSEQ, e.g. 125m:4x512" >&2
      exit 2
    fi
    batch=${BASH_REMATCH[1]} seq=${BASH_REMATCH[2]}
  fi
  [ -d "$work/$preset" ] || "$bin/fullshard" init-model --arch llama --preset "$preset" --seed 0 --out "$work/$preset" > /dev/null
  echo "# $preset: $batch x $seq tokens per step, $n steps ($warmup warm-up), $dtype, best of $rounds interleaved rounds"
  bundled=() own=() eager=()
  for round in $(seq "$rounds"); do
    bundled+=("$(fullshard_run "$preset" "$batch" "$seq" "$n" bundled)")
    echo "$preset round $round: fullshard, bundled libtorch: ${bundled[-1]:--} tokens/s"
    if [ -n "$python" ]; then
      own+=("$(fullshard_run "$preset" "$batch" "$seq" "$n" "$torch_lib")")
      echo "$preset round $round: fullshard, PyTorch's libtorch: ${own[-1]:--} tokens/s"
    fi
    if [ "$transformers" = yes ]; then
      eager+=("$(pytorch_run "$preset" "$batch" "$seq" "$n")")
      echo "$preset round $round: PyTorch eager: ${eager[-1]:--} tokens/s"
    fi
  done
  b=$(best "${bundled[@]}") o=$(best "${own[@]+"${own[@]}"}") e=$(best "${eager[@]+"${eager[@]}"}")
  table+=("$(printf '%-6s %11s %5s %17s %21s %13s %16s %20s' "$preset" "$batch x $seq" "$dtype" "$b" "$o" "$e" "$(ratio "$b" "$e")" "$(ratio "$o" "$e")")")
  rm -rf "${work:?}/$preset"
done

echo
echo "tokens/s after $warmup warm-up steps, best of $rounds (- = not run or failed)"
printf '%-6s %11s %5s %17s %21s %13s %16s %20s\n' preset tokens/step dtype "fullshard bundled" "fullshard PyTorch-lib" "PyTorch eager" "bundled/PyTorch" "PyTorch-lib/PyTorch"
printf '%s\n' "${table[@]}"
