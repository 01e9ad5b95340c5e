#!/usr/bin/env bash
# The GPU check: fullshard on CUDA against the CPU and against PyTorch FSDP2, on a machine with one GPU,
# PyTorch (python3 with torch, CUDA and NCCL) and no Java. Run from the repository root with gpu-bundle/
# present (scripts/build-gpu-bundle.sh makes it):
#
#   bash scripts/gpu-check.sh [--cpu-dry-run] [--keep]
#
# Stages (each prints PASS/FAIL or its figures and its elapsed seconds; a failed stage does not stop the
# later ones; the exit status is 1 when any failed):
#   0 environment: GPU, driver, torch/CUDA/NCCL versions, torch/lib (exported as FULLSHARD_TORCH_LIB),
#     NVIDIA wheel folders, the bundled java, `fullshard doctor`
#   1 correctness: the tiny preset, 3 fp32 steps through `launcher --nproc 1` with device cpu and device
#     cuda, per-step loss and grad_norm within 1e-3 relative; then 60 bf16 steps on cuda whose eval loss
#     must fall clearly
#   2 cuBLAS: CublasGemm 8192 8192 8192 bf16 20, the GEMM ceiling
#   3 throughput: the 1b preset, bf16, micro-batch 4 x 2048 tokens (packed synthetic text), 12 steps at
#     world 1 (full_shard); tokens/s, step time split, peak GPU memory, MFU (2 warm-up steps left out).
#     The run is stopped once its last step is logged (the final checkpoint of a 1B model is ~15 GB).
#   4 the PyTorch reference (benchmarks/reference/fsdp2_llama.py) with the same shapes, eager and --compile
#   5 a table: fullshard vs PyTorch eager vs compile, ratios, and the cuBLAS ceiling
#   6 the GPU unit tests (*GpuTest, bundled by build-gpu-bundle.sh) through gpu-bundle/bin/gpu-tests; they
#     get their own GPU_CHECK_UNIT_TESTS_S seconds (default 150; 0 skips them) after the budget of 0-5
#
# Output: everything printed also goes to $OUT/gpu-check.log ($OUT defaults to gpu-check-out/ next to
# gpu-bundle/), with each run's metrics.jsonl and the JSON figures. Scratch (models, data, checkpoints)
# lives in a temporary folder, removed at the end unless --keep.
#
#   --cpu-dry-run  what a machine without a GPU can run: stage 0 without the GPU parts, stage 1 on the
#                  CPU only (the fp32 run twice, compared; the bf16 run on the CPU), stage 3 on the tiny
#                  preset with 256-token sequences on the CPU, stage 4 on the CPU with tiny shapes if
#                  python3 has torch; stage 2 skipped; stage 6 with one CPU test class added
#   --keep         keep the scratch folder
#
# Environment: GPU_CHECK_BUDGET_S (default 420: no command's timeout reaches beyond it), PYTHON (python3),
# GPU_BUNDLE (gpu-bundle/), GPU_CHECK_PRESET/SEQ/BATCH/STEPS/WARMUP (1b/2048/4/12/2; the dry run uses
# tiny/256/4/6/2), PEAK_TFLOPS (989, H100/H200 SXM dense bf16).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="${GPU_BUNDLE:-$root/gpu-bundle}"
dry=0 keep=0
for a in "$@"; do
  case $a in
    --cpu-dry-run) dry=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
out="${OUT:-$(dirname "$bundle")/gpu-check-out}"
mkdir -p "$out" || exit 1
log="$out/gpu-check.log"
python="${PYTHON:-python3}"
report="$root/scripts/gpu_check_report.py"
reference="$root/benchmarks/reference/fsdp2_llama.py"
peak_tflops="${PEAK_TFLOPS:-989}"
if [ "$dry" = 1 ]; then
  preset="${GPU_CHECK_PRESET:-tiny}" seq="${GPU_CHECK_SEQ:-256}" batch="${GPU_CHECK_BATCH:-4}"
  steps="${GPU_CHECK_STEPS:-6}" warmup="${GPU_CHECK_WARMUP:-2}" device=cpu
else
  preset="${GPU_CHECK_PRESET:-1b}" seq="${GPU_CHECK_SEQ:-2048}" batch="${GPU_CHECK_BATCH:-4}"
  steps="${GPU_CHECK_STEPS:-12}" warmup="${GPU_CHECK_WARMUP:-2}" device=cuda
fi
deadline=$((SECONDS + ${GPU_CHECK_BUDGET_S:-420}))
failures=()
stage_name="" stage_start=0

stage() {
  stage_name=$1
  stage_start=$SECONDS
  echo
  echo "=== stage $1 (at ${SECONDS} s) ==="
}
stage_done() { echo "--- stage $stage_name: $((SECONDS - stage_start)) s"; }
pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  failures+=("stage $stage_name: $*")
}
# limit SECONDS [RESERVE]: the timeout for the next command, cut to what is left of the budget after
# RESERVE seconds kept for later stages (0: not enough left).
limit() {
  local left=$((deadline - SECONDS - ${2:-0}))
  if [ "$left" -lt 15 ]; then echo 0; elif [ "$1" -lt "$left" ]; then echo "$1"; else echo "$left"; fi
}
# run_timed SECONDS CMD...: the command under timeout (TERM, then KILL 10 s later); 124 when it timed out.
run_timed() {
  local t
  t=$(limit "$1")
  shift
  if [ "$t" = 0 ]; then
    echo "(skipped: the ${GPU_CHECK_BUDGET_S:-420} s budget is spent)"
    return 125
  fi
  timeout -k 10 "$t" "$@"
}

# nvidia-smi's memory.used (MiB) every 200 ms into FILE, until smi_stop; smi_peak FILE prints the peak.
smi_pid=""
smi_start() {
  smi_pid=""
  : > "$1"
  command -v nvidia-smi >/dev/null 2>&1 || return 0
  nvidia-smi -i 0 --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >> "$1" 2>/dev/null &
  smi_pid=$!
}
smi_stop() {
  if [ -n "$smi_pid" ]; then
    kill "$smi_pid" 2>/dev/null
    wait "$smi_pid" 2>/dev/null
  fi
  smi_pid=""
}
smi_peak() { "$python" "$report" smi-peak "$1"; }

# train NAME YAML SECONDS [STOP_AFTER [RESERVE]]: `launcher --standalone --nproc 1 YAML`, output in
# $work/NAME.log (progress lines shown). With STOP_AFTER, the run is killed (its process group) as soon as
# metrics.jsonl holds that many train lines, skipping the final checkpoint and export; RESERVE seconds of
# the budget are kept for later stages. Returns the launcher's exit status (0 also when stopped on
# purpose; 124 when out of time). Should the launcher fail to start (it resolves this host's name), the
# run is repeated once with `fullshard train` and the launcher is left out from then on.
use_launcher=1
train() {
  local name=$1 yaml=$2 seconds=$3 stop_after=${4:-0} reserve=${5:-0} t rc metrics pid n
  local cmd=("$bundle/bin/launcher" --standalone --nproc 1 --log-dir "$work/logs" "$yaml")
  [ "$use_launcher" = 1 ] || cmd=("$bundle/bin/fullshard" train "$yaml")
  metrics="$work/$name/metrics.jsonl"
  t=$(limit "$seconds" "$reserve")
  if [ "$t" = 0 ]; then
    echo "(skipped $name: the ${GPU_CHECK_BUDGET_S:-420} s budget is spent)"
    return 125
  fi
  echo "\$ $(basename "${cmd[0]}") ${cmd[*]:1}   (limit ${t} s)"
  if [ "$stop_after" = 0 ]; then
    timeout -k 10 "$t" "${cmd[@]}" > "$work/$name.log" 2>&1
    rc=$?
  else
    # Its own process group (setsid, else job control), so one kill ends the launcher and its rank.
    if command -v setsid >/dev/null 2>&1; then
      setsid "${cmd[@]}" > "$work/$name.log" 2>&1 &
      pid=$!
    else
      set -m
      "${cmd[@]}" > "$work/$name.log" 2>&1 &
      pid=$!
      set +m
    fi
    local until=$((SECONDS + t)) stopped=0
    rc=""
    while kill -0 "$pid" 2>/dev/null; do
      n=$(grep -c '"type":"train"' "$metrics" 2>/dev/null)
      if [ "${n:-0}" -ge "$stop_after" ]; then stopped=1; break; fi
      if [ "$SECONDS" -ge "$until" ]; then rc=124; break; fi
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      [ "$stopped" = 1 ] && { rc=0; echo "(stopped after $stop_after logged steps, as planned)"; }
    else
      wait "$pid" 2>/dev/null
      rc=${rc:-$?}
    fi
  fi
  if [ "$rc" != 0 ] && [ "$use_launcher" = 1 ] && [ ! -f "$metrics" ] && grep -q 'UnknownHostException' "$work/$name.log"; then
    grep -m 3 'UnknownHostException' "$work/$name.log"
    fail "the launcher cannot resolve this host's name (${HOSTNAME:-$(uname -n)}); later runs use \`fullshard train\` directly"
    use_launcher=0
    train "$@"
    return
  fi
  grep -E '^(\[rank0\]:)?(data|train|memory|step|eval|checkpoint)[: ]|\[launcher\].*(FAILED|failed|succeeded)|Exception|Error' "$work/$name.log" \
    | grep -v '^\s*at ' | sed -n 1,60p
  [ -f "$metrics" ] && cp "$metrics" "$out/$name.metrics.jsonl"
  if [ "$rc" != 0 ]; then
    echo "(exit status $rc; the last lines of $name.log:)"
    tail -n 25 "$work/$name.log"
    cp "$work/$name.log" "$out/$name.log"
  fi
  return "$rc"
}

main() {
  echo "gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on ${HOSTNAME:-$(uname -n)}, repository $root, output $out$([ "$dry" = 1 ] && echo ', CPU DRY RUN')"
  [ -x "$bundle/bin/fullshard" ] || { echo "FAIL: no $bundle/bin/fullshard: run scripts/build-gpu-bundle.sh on the build machine first"; return 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || return 1
  echo "scratch: $work"
  local fullshard="$bundle/bin/fullshard"

  # --- 0: environment ---------------------------------------------------------------------------------
  stage "0: environment"
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  else
    echo "nvidia-smi: not found"
    [ "$dry" = 1 ] || fail "no nvidia-smi"
  fi
  local torch_lib=""
  if timeout 60 "$python" -c 'import torch' >/dev/null 2>&1; then
    timeout 60 "$python" -c 'import torch; n = torch.cuda.nccl.version() if torch.cuda.is_available() else None
print("torch", torch.__version__, "| CUDA", torch.version.cuda, "| NCCL", ".".join(map(str, n)) if isinstance(n, tuple) else n,
      "| cuda available:", torch.cuda.is_available(), "| devices:", torch.cuda.device_count())'
    torch_lib=$(timeout 60 "$python" -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')
    local site
    site=$(dirname "$(dirname "$torch_lib")")
    echo "NVIDIA wheel libraries under $site/nvidia:"
    for d in "$site"/nvidia/*/lib; do
      [ -d "$d" ] && echo "  ${d#"$site"/}: $(ls "$d" | grep '\.so' | sed -n 1,4p | tr '\n' ' ')"
    done
  else
    echo "$python: no torch"
    [ "$dry" = 1 ] || fail "$python cannot import torch"
  fi
  if [ "$dry" = 1 ] && [ -n "${FULLSHARD_TORCH_LIB:-}" ]; then
    torch_lib=$FULLSHARD_TORCH_LIB   # the dry run keeps an explicit CPU libtorch
  elif [ "$dry" = 1 ] && { [ -z "$torch_lib" ] || [ ! -f "$torch_lib/libtorch_cpu.so" ]; }; then
    torch_lib=$(compgen -G "${FULLSHARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fullshard}/natives/pytorch-*-linux-x86_64" | sed -n 1p)
  fi
  export FULLSHARD_TORCH_LIB="$torch_lib"
  echo "FULLSHARD_TORCH_LIB=$FULLSHARD_TORCH_LIB"
  # Token cache and DJL's native library in the scratch folder: nothing left in ~/.cache.
  export FULLSHARD_CACHE_DIR="$work/cache"
  "$bundle/bin/java" -version 2>&1 | sed 's/^/java: /'
  echo "C compiler (torch.compile's Triton needs one): $(command -v gcc || command -v cc || command -v clang || echo none)"
  echo "scratch space: $(df -h "$work" | tail -n 1)"
  echo "\$ fullshard doctor"
  run_timed 90 "$fullshard" doctor
  local rc=$?
  if [ "$rc" = 0 ]; then pass "fullshard doctor"; else fail "fullshard doctor exited $rc"; fi
  stage_done


  # --- 1: correctness -----------------------------------------------------------------------------------
  stage "1: correctness (tiny preset: fp32 cpu vs $([ "$dry" = 1 ] && echo cpu || echo cuda), bf16 learning)"
  local tiny="$work/tiny" data="$root/examples/tiny/data"
  if ! run_timed 60 "$fullshard" init-model --preset tiny --seed 0 --out "$tiny"; then
    fail "init-model --preset tiny"
  else
    local runs=(fp32-cpu fp32-cuda) run
    [ "$dry" = 1 ] && runs=(fp32-cpu fp32-cpu-again)
    for run in "${runs[@]}"; do
      local dev=cpu
      [ "$run" = fp32-cuda ] && dev=cuda
      cat > "$work/$run.yaml" <<YAML
# stage 1: 3 fp32 optimizer steps, every step logged, no eval
model: {path: $tiny}
device: $dev
mixed_precision: fp32
data: {train_files: [$data/train.jsonl], format: instruction, max_seq_len: 128, packing: true}
training: {max_steps: 3, micro_batch_size: 4, gradient_accumulation_steps: 2, seed: 42, max_grad_norm: 1.0}
optimizer: {lr: 3.0e-3, weight_decay: 0.01}
scheduler: {type: constant}
logging: {output_dir: $work/$run, logging_steps: 1, save_total_limit: 1}
resume: none
YAML
      train "$run" "$work/$run.yaml" 90 || fail "$run: the run failed"
    done
    local other=fp32-cuda
    [ "$dry" = 1 ] && other=fp32-cpu-again
    if [ -f "$work/fp32-cpu/metrics.jsonl" ] && [ -f "$work/$other/metrics.jsonl" ]; then
      echo "A = fp32 on cpu, B = fp32 on ${other#fp32-}"
      "$python" "$report" compare "$work/fp32-cpu/metrics.jsonl" "$work/$other/metrics.jsonl" --steps 3 --rtol 1e-3 \
        || fail "fp32 cpu vs ${other#fp32-}: loss/grad_norm differ by more than 1e-3"
    else
      fail "fp32 comparison: a metrics.jsonl is missing"
    fi
    cat > "$work/bf16-$device.yaml" <<YAML
# stage 1: the tiny example in bf16, 60 steps, eval at the start and the end
model: {path: $tiny}
device: $device
mixed_precision: bf16
data: {train_files: [$data/train.jsonl], eval_files: [$data/eval.jsonl], format: instruction, max_seq_len: 128, packing: true}
training: {max_steps: 60, micro_batch_size: 4, gradient_accumulation_steps: 2, seed: 42, max_grad_norm: 1.0}
optimizer: {lr: 3.0e-3, weight_decay: 0.01}
scheduler: {type: cosine, warmup_ratio: 0.05, min_lr_ratio: 0.1}
logging: {output_dir: $work/bf16-$device, logging_steps: 10, eval_steps: 0, save_total_limit: 1}
resume: none
YAML
    train "bf16-$device" "$work/bf16-$device.yaml" 120 || fail "bf16-$device: the run failed"
    if [ -f "$work/bf16-$device/metrics.jsonl" ]; then
      "$python" "$report" eval-drop "$work/bf16-$device/metrics.jsonl" --min-drop 1.0 --max-ratio 0.8 \
        || fail "bf16 on $device: the eval loss did not fall clearly"
    else
      fail "bf16 on $device: no metrics.jsonl"
    fi
  fi
  stage_done

  # --- 2: cuBLAS ------------------------------------------------------------------------------------------
  stage "2: cuBLAS bf16 GEMM 8192^3 (the ceiling)"
  local cublas_tflops=""
  if [ "$dry" = 1 ]; then
    echo "(skipped in the CPU dry run)"
  else
    echo "\$ java -cp 'gpu-bundle/lib/*' dev.fullshard.benchmarks.CublasGemm 8192 8192 8192 bf16 20"
    run_timed 90 "$bundle/bin/java" --enable-native-access=ALL-UNNAMED -cp "$bundle/lib/*" dev.fullshard.benchmarks.CublasGemm \
      8192 8192 8192 bf16 20 > "$work/cublas.log" 2>&1
    rc=$?
    cat "$work/cublas.log"
    cublas_tflops=$(sed -n 's/^cublas_gemm .*tflops=\([0-9.]*\).*/\1/p' "$work/cublas.log" | tail -n 1)
    if [ "$rc" = 0 ] && [ -n "$cublas_tflops" ]; then
      pass "cuBLAS bf16 8192^3: $cublas_tflops TFLOP/s"
    else
      fail "CublasGemm exited $rc$([ -z "$cublas_tflops" ] && echo ', no tflops= line')"
    fi
  fi
  stage_done

  # --- 3: fullshard throughput ----------------------------------------------------------------------------
  stage "3: fullshard throughput ($preset preset, bf16, $batch x $seq tokens, $steps steps on $device)"
  local big="$work/model-$preset" synthetic="$work/synthetic.jsonl" tp="throughput-$device"
  local smi_file="$out/$tp.nvidia-smi.csv"
  echo "\$ fullshard init-model --preset $preset"
  if ! run_timed 150 "$fullshard" init-model --preset "$preset" --seed 0 --out "$big"; then
    fail "init-model --preset $preset"
  else
    du -sh "$big" | sed 's/^/model: /'
    # Plain text ({"text": ...}, every token a target), ~420 tokens a line, enough for the steps in one epoch.
    "$python" - "$synthetic" "$((batch * seq * (steps + 4) / 400 + 8))" <<'PY'
import json, random, sys
path, lines = sys.argv[1], int(sys.argv[2])
rng = random.Random(0)
words = ("the of and to in is was for on that with as by at from his her it an were are which this be or has had not "
         "but their one new after first two been also other they time who its year more all only into over state "
         "city world school water light model train data river music north south river story house market power "
         "system number people family history science energy garden island winter summer morning evening").split()
with open(path, "w") as f:
    for _ in range(lines):
        f.write(json.dumps({"text": " ".join(rng.choice(words) for _ in range(400)) + "."}) + "\n")
PY
    echo "data: $(wc -l < "$synthetic") lines of synthetic text ($(du -h "$synthetic" | cut -f1))"
    cat > "$work/$tp.yaml" <<YAML
# stage 3: throughput, bf16, world 1, every step logged, no eval; stopped after the last step is logged
model: {path: $big}
device: $device
mixed_precision: bf16
data: {train_files: [$synthetic], format: text, max_seq_len: $seq, packing: true}
training: {max_steps: $steps, micro_batch_size: $batch, gradient_accumulation_steps: 1, seed: 42, max_grad_norm: 1.0}
optimizer: {lr: 1.0e-5, weight_decay: 0.0}
scheduler: {type: constant}
distributed: {sharding: full_shard}
logging: {output_dir: $work/$tp, logging_steps: 1, save_total_limit: 1}
resume: none
YAML
    smi_start "$smi_file"
    # 180 s of the budget stay for the PyTorch reference (stage 4).
    train "$tp" "$work/$tp.yaml" 240 "$steps" 180 || fail "$tp: the run failed or ran out of time"
    smi_stop
    if [ -f "$work/$tp/metrics.jsonl" ]; then
      "$python" "$report" throughput "$work/$tp/metrics.jsonl" --model "$big" --seq "$seq" --skip "$warmup" \
        --peak-tflops "$peak_tflops" --smi-peak-mib "$(smi_peak "$smi_file")" --json-out "$out/fullshard.json" \
        || fail "$tp: no throughput figures"
    else
      fail "$tp: no metrics.jsonl"
    fi
  fi
  stage_done

  # --- 4: the PyTorch reference ---------------------------------------------------------------------------
  stage "4: PyTorch FSDP2 reference (same shapes, eager and compile)"
  local ref_args=""
  if [ -f "$big/config.json" ]; then
    ref_args=$("$python" "$report" reference-args --model "$big") || ref_args=""
  fi
  if ! timeout 60 "$python" -c 'import torch' >/dev/null 2>&1; then
    echo "($python has no torch: skipped)"
    [ "$dry" = 1 ] || fail "no torch"
  elif [ -z "$ref_args" ]; then
    fail "no model config for the reference's shapes (stage 3's init-model failed)"
  else
    local mode extra seconds
    for mode in eager compile; do
      extra="" seconds=90
      [ "$mode" = compile ] && { extra="--compile"; seconds=150; }
      [ "$dry" = 1 ] && extra="$extra --device cpu"
      echo "\$ $python benchmarks/reference/fsdp2_llama.py $ref_args --batch $batch --seq $seq --steps $steps --warmup $warmup $extra"
      smi_start "$out/reference-$mode.nvidia-smi.csv"
      # shellcheck disable=SC2086 # ref_args and extra are lists of options
      run_timed "$seconds" "$python" "$reference" $ref_args --batch "$batch" --seq "$seq" --steps "$steps" --warmup "$warmup" \
        --peak-tflops "$peak_tflops" --json-out "$out/reference-$mode.json" $extra > "$work/reference-$mode.log" 2>&1
      rc=$?
      smi_stop
      grep -v '^{' "$work/reference-$mode.log" | tail -n 40
      if [ "$rc" = 0 ] && [ -s "$out/reference-$mode.json" ]; then
        "$python" "$report" annotate "$out/reference-$mode.json" --smi-peak-mib "$(smi_peak "$out/reference-$mode.nvidia-smi.csv")"
        pass "PyTorch $mode"
      else
        cp "$work/reference-$mode.log" "$out/"
        fail "PyTorch $mode exited $rc"
      fi
    done
  fi
  stage_done

  # --- 5: side by side --------------------------------------------------------------------------------------
  stage "5: side by side ($preset, bf16, B=$batch, T=$seq, world 1, $((steps - warmup)) timed steps)"
  "$python" "$report" table --fullshard "$out/fullshard.json" --eager "$out/reference-eager.json" \
    --compile "$out/reference-compile.json" --cublas-tflops "${cublas_tflops:-n/a}" --peak-tflops "$peak_tflops"
  stage_done

  # --- 6: the GPU unit tests ----------------------------------------------------------------------------
  stage "6: GPU unit tests (bin/gpu-tests: $( [ -f "$bundle/test/gpu-tests.txt" ] && paste -sd' ' "$bundle/test/gpu-tests.txt" | sed 's/dev\.fullshard\.[a-z]*\.//g'))"
  local tests_s=${GPU_CHECK_UNIT_TESTS_S:-150}
  if [ ! -x "$bundle/bin/gpu-tests" ]; then
    echo "(this build has no *GpuTest classes: nothing to run)"
  elif [ "$tests_s" = 0 ]; then
    echo "(skipped: GPU_CHECK_UNIT_TESTS_S=0)"
  else
    # Its own time, after the budget of stages 0-5.
    deadline=$((SECONDS + tests_s))
    local selected=()
    # The dry run adds a CPU test class, so that the runner is seen passing real assertions.
    [ "$dry" = 1 ] && selected=($(cat "$bundle/test/gpu-tests.txt") "${GPU_CHECK_DRY_TEST_CLASS:-dev.fullshard.train.TrainConfigTest}")
    run_timed "$tests_s" "$bundle/bin/gpu-tests" "${selected[@]}" > "$work/gpu-tests.log" 2>&1
    rc=$?
    cp "$work/gpu-tests.log" "$out/gpu-tests.log"
    grep -v -E '^\s+at |^\s*$' "$work/gpu-tests.log" | tail -n 60
    local found skipped ran
    found=$(sed -n 's/.*\[ *\([0-9]*\) tests found *\].*/\1/p' "$work/gpu-tests.log" | tail -n 1)
    skipped=$(sed -n 's/.*\[ *\([0-9]*\) tests skipped *\].*/\1/p' "$work/gpu-tests.log" | tail -n 1)
    ran=$(sed -n 's/.*\[ *\([0-9]*\) tests successful *\].*/\1/p' "$work/gpu-tests.log" | tail -n 1)
    if [ "$rc" != 0 ]; then
      fail "GPU unit tests: exit status $rc (see gpu-tests.log)"
    elif [ "$dry" = 0 ] && [ "${ran:-0}" = 0 ]; then
      fail "GPU unit tests: none ran (${skipped:-?} of ${found:-?} skipped: no GPU visible to them?)"
    else
      pass "GPU unit tests: ${ran:-?} successful, ${skipped:-?} skipped of ${found:-?}"
    fi
  fi
  stage_done

  echo
  if [ "$keep" = 1 ]; then echo "scratch kept: $work"; else rm -rf "$work"; fi
  if [ "${#failures[@]}" -eq 0 ]; then
    echo "gpu-check: ALL PASSED in ${SECONDS} s"
    return 0
  fi
  echo "gpu-check: ${#failures[@]} FAILED in ${SECONDS} s:"
  printf '  %s\n' "${failures[@]}"
  return 1
}

main 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
