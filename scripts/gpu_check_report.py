#!/usr/bin/env python3
"""The numbers of scripts/gpu-check.sh, from fullshard's metrics.jsonl and the PyTorch reference's JSON.

Standard library only. Subcommands (each prints its figures and PASS/FAIL where it judges; exit 1 on FAIL):

  compare A/metrics.jsonl B/metrics.jsonl [--steps 3] [--rtol 1e-3]
      per-step loss and grad_norm of two runs, relative difference |a-b| / max(|a|,|b|)
  eval-drop metrics.jsonl [--min-drop 1.0] [--max-ratio 0.8]
      the first and the last eval loss: PASS when last <= first - min_drop and last <= max_ratio * first
  throughput metrics.jsonl --model DIR --seq T [--skip 2] [--peak-tflops 989] [--smi-peak-mib N] [--json-out F]
      tokens/s, step time and its split (compute_s, communication_s, optimizer_s), peak GPU memory, MFU
  reference-args --model DIR
      the fsdp2_llama.py shape arguments of a Hugging Face config.json (prints them, one line)
  table --fullshard F.json --eager E.json --compile C.json [--cublas-tflops X] [--peak-tflops 989]
      fullshard vs PyTorch eager vs PyTorch compile, side by side, and the ratios
  smi-peak FILE
      the largest value in an nvidia-smi memory.used sample file (MiB), or n/a
  annotate F.json --smi-peak-mib N
      adds smi_peak_bytes to a reference JSON (the table compares like with like)
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "reference"))
import llama_flops  # noqa: E402

GIB = 1024 ** 3


def records(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by a kill
    return out


def train_lines(path):
    by_step = {}
    for r in records(path):
        if r.get("type") == "train":
            by_step[int(r["step"])] = r  # a resumed run logs a step again: the later line wins
    return [by_step[s] for s in sorted(by_step)]


def rel(a, b):
    if a == b:
        return 0.0
    if any(isinstance(v, float) and math.isnan(v) for v in (a, b)):
        return float("inf")
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def cmd_compare(a):
    x, y = train_lines(a.a), train_lines(a.b)
    ok = True
    print(f"{'step':>4}  {'loss A':>12} {'loss B':>12} {'rel':>9}   {'grad_norm A':>12} {'grad_norm B':>12} {'rel':>9}")
    for step in range(1, a.steps + 1):
        ra = next((r for r in x if r["step"] == step), None)
        rb = next((r for r in y if r["step"] == step), None)
        if ra is None or rb is None:
            print(f"{step:>4}  missing in {'A' if ra is None else 'B'}")
            ok = False
            continue
        dl, dg = rel(ra["loss"], rb["loss"]), rel(ra["grad_norm"], rb["grad_norm"])
        ok &= dl <= a.rtol and dg <= a.rtol
        print(f"{step:>4}  {ra['loss']:>12.6f} {rb['loss']:>12.6f} {dl:>9.2e}   {ra['grad_norm']:>12.6f} {rb['grad_norm']:>12.6f} {dg:>9.2e}")
    print(("PASS" if ok else "FAIL") + f": per-step loss and grad_norm agree within {a.rtol:g} relative ({a.steps} steps)")
    return 0 if ok else 1


def cmd_eval_drop(a):
    evals = [r for r in records(a.metrics) if r.get("type") == "eval"]
    steps = len(train_lines(a.metrics))
    if len(evals) < 2:
        print(f"FAIL: expected an eval at the start and at the end, found {len(evals)} eval lines ({steps} train lines)")
        return 1
    first, last = evals[0], evals[-1]
    ok = last["eval_loss"] <= first["eval_loss"] - a.min_drop and last["eval_loss"] <= a.max_ratio * first["eval_loss"]
    print(f"eval loss at step {first['step']}: {first['eval_loss']:.4f}; at step {last['step']}: {last['eval_loss']:.4f} "
          f"({steps} train steps logged)")
    print(("PASS" if ok else "FAIL") + f": the eval loss fell by >= {a.min_drop:g} and to <= {a.max_ratio:g} x the first")
    return 0 if ok else 1


def device_memory(path):
    """The largest GPU-memory figure the trainer reported: any positive number in a memory event (per rank)
    or a train line under a name with gpu, device or cuda in it (0 on the CPU). (name, bytes) or (None, None)."""
    best = (None, None)
    for r in records(path):
        if r.get("type") == "memory":
            items = [(k, v) for rank in r.get("ranks", []) if isinstance(rank, dict) for k, v in rank.items()]
            items += list(r.items())
        elif r.get("type") == "train":
            items = list(r.items())
        else:
            continue
        for k, v in items:
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and any(w in k.lower() for w in ("gpu", "device", "cuda")):
                if best[1] is None or v > best[1]:
                    best = (k, v)
    return best


def model_shape(model_dir):
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return llama_flops.from_hf_config(json.load(f))


def cmd_throughput(a):
    lines = train_lines(a.metrics)
    timed = [r for r in lines if r["step"] > a.skip]
    print(f"{len(lines)} train lines, {len(timed)} after skipping {a.skip} warm-up steps")
    if not timed:
        print("FAIL: no timed steps")
        return 1
    split = {k: [float(r.get(k, float("nan"))) for r in timed] for k in ("compute_s", "communication_s", "optimizer_s")}
    step_times = [c + m + o for c, m, o in zip(split["compute_s"], split["communication_s"], split["optimizer_s"])]
    if any(math.isnan(t) for t in step_times):  # no split logged: the step time from tokens/s and the positions
        step_times = [float("nan")] * len(timed)
    positions = [r["tokens_per_second"] * t for r, t in zip(timed, step_times)]
    total_time = sum(step_times)
    tps = sum(positions) / total_time if total_time > 0 else float("nan")
    if math.isnan(tps):
        tps = sum(r["tokens_per_second"] for r in timed) / len(timed)
    shape = model_shape(a.model)
    flops_token = llama_flops.flops_per_token(seq=a.seq, **shape)
    mfu = llama_flops.mfu(tps, flops_token, a.peak_tflops)
    mem_name, mem_bytes = device_memory(a.metrics)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    result = {
        "impl": "fullshard", "steps": len(lines), "warmup": a.skip, "timed_steps": len(timed), "seq": a.seq,
        "tokens_per_second": tps, "step_time_s": mean(step_times),
        "compute_s": mean(split["compute_s"]), "communication_s": mean(split["communication_s"]),
        "optimizer_s": mean(split["optimizer_s"]), "tokens_per_step": mean(positions),
        "flops_per_token": flops_token, "mfu": mfu, "achieved_tflops": tps * flops_token / 1e12, "peak_tflops": a.peak_tflops,
        "trainer_memory_field": mem_name, "trainer_memory_bytes": mem_bytes,
        "smi_peak_bytes": a.smi_peak_mib * 1048576 if a.smi_peak_mib is not None else None,
        "loss_first": lines[0]["loss"], "loss_last": lines[-1]["loss"],
    }
    print(f"fullshard: {tps:,.0f} tokens/s ({result['tokens_per_step']:.0f} tokens per step), step {result['step_time_s']:.3f} s = "
          f"compute {result['compute_s']:.3f} + communication {result['communication_s']:.3f} + optimizer {result['optimizer_s']:.3f}")
    print(f"fullshard: MFU {100 * mfu:.1f}% of {a.peak_tflops:g} TFLOP/s ({result['achieved_tflops']:.1f} TFLOP/s, "
          f"{flops_token:.4g} FLOPs/token at T={a.seq})")
    print("fullshard: peak GPU memory: trainer " + (f"{mem_bytes / GIB:.2f} GiB ({mem_name})" if mem_bytes is not None else "n/a")
          + ", nvidia-smi " + (f"{a.smi_peak_mib / 1024:.2f} GiB" if a.smi_peak_mib is not None else "n/a"))
    print(f"fullshard: loss {result['loss_first']:.4f} at step 1, {result['loss_last']:.4f} at step {lines[-1]['step']}")
    if a.json_out:
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f)
            f.write("\n")
    return 0


def cmd_reference_args(a):
    with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    s = llama_flops.from_hf_config(c)
    if s["head_dim"] != s["hidden"] // s["heads"]:
        sys.exit(f"reference-args: head_dim {s['head_dim']} != hidden/heads; fsdp2_llama.py assumes hidden/heads")
    args = ["--hidden", s["hidden"], "--intermediate", s["intermediate"], "--layers", s["layers"], "--heads", s["heads"],
            "--kv-heads", s["kv_heads"], "--vocab", s["vocab"], "--rope-theta", c.get("rope_theta", 10000.0),
            "--rms-eps", c.get("rms_norm_eps", 1e-5)]
    r = c.get("rope_scaling")
    if r and r.get("rope_type", r.get("type")) == "llama3":
        args += ["--rope-scaling", f"{r['factor']:g},{r['low_freq_factor']:g},{r['high_freq_factor']:g},"
                                   f"{r['original_max_position_embeddings']:g}"]
    else:
        args += ["--rope-scaling", "none"]
    if not s["tied"]:
        args.append("--untied")
    print(" ".join(str(v) for v in args))
    return 0


def load_json(path):
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def cmd_table(a):
    cols = [("fullshard", load_json(a.fullshard)), ("PyTorch eager", load_json(a.eager)), ("PyTorch compile", load_json(a.compile))]

    def smi(r):
        return r.get("smi_peak_bytes") if r else None

    def own(r):
        if not r:
            return None
        if r.get("impl") == "fullshard":
            return r.get("trainer_memory_bytes")
        # total - free at the end: the caching allocator keeps its peak reservation, plus the CUDA context,
        # which is what fullshard's device_used (total - free) counts too
        return r.get("device_used_bytes_end") or r.get("max_memory_reserved_bytes")

    def fmt(v, kind):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "n/a"
        return {"tps": f"{v:,.0f}", "s": f"{v:.3f}", "pct": f"{100 * v:.1f}%", "tf": f"{v:.1f}", "gib": f"{v / GIB:.2f}"}[kind]

    rows = [
        ("tokens/s", lambda r: r and r.get("tokens_per_second"), "tps"),
        ("step time (s)", lambda r: r and r.get("step_time_s"), "s"),
        (f"MFU (of {a.peak_tflops:g} TFLOP/s)", lambda r: r and r.get("mfu"), "pct"),
        ("achieved TFLOP/s", lambda r: r and r.get("achieved_tflops"), "tf"),
        ("peak GPU memory, nvidia-smi (GiB)", smi, "gib"),
        ("peak memory, own report (GiB)", own, "gib"),
    ]
    width = 36
    print(f"{'':<{width}}" + "".join(f"{name:>18}" for name, _ in cols))
    for label, get, kind in rows:
        print(f"{label:<{width}}" + "".join(f"{fmt(get(r), kind):>18}" for _, r in cols))
    print("  (own report: fullshard's largest GPU-memory field in metrics.jsonl; PyTorch's total - free at the end,"
          " i.e. its peak reservation plus the CUDA context)")
    fs = cols[0][1]
    for name, r in cols[1:]:
        if not fs or not r:
            print(f"fullshard / {name}: n/a (a run is missing)")
            continue
        tps = fs["tokens_per_second"] / r["tokens_per_second"] if r.get("tokens_per_second") else None
        mem_a, mem_b, how = smi(fs), smi(r), "nvidia-smi"
        if mem_a is None or mem_b is None:
            mem_a, mem_b, how = own(fs), own(r), "own reports"
        mem = mem_a / mem_b if mem_a and mem_b else None
        print(f"fullshard / {name}: tokens/s x{tps:.2f}" if tps else f"fullshard / {name}: tokens/s n/a", end="")
        print(f", peak memory x{mem:.2f} ({how})" if mem else ", peak memory n/a")
    if a.cublas_tflops:
        print(f"cuBLAS bf16 GEMM ceiling: {a.cublas_tflops:.1f} TFLOP/s = {100 * a.cublas_tflops / a.peak_tflops:.1f}% of {a.peak_tflops:g}")
        for name, r in cols:
            if r and r.get("achieved_tflops"):
                print(f"  {name}: {r['achieved_tflops']:.1f} TFLOP/s = {100 * r['achieved_tflops'] / a.cublas_tflops:.1f}% of the cuBLAS ceiling")
    else:
        print("cuBLAS bf16 GEMM ceiling: n/a")
    return 0


def cmd_smi_peak(a):
    peak = None
    if os.path.isfile(a.file):
        with open(a.file, encoding="utf-8") as f:
            for line in f:
                try:
                    v = float(line.strip().split(",")[0])
                except ValueError:
                    continue
                peak = v if peak is None else max(peak, v)
    print("n/a" if peak is None else f"{peak:.0f}")
    return 0


def cmd_annotate(a):
    r = load_json(a.file)
    if r is None:
        print(f"annotate: no JSON in {a.file}")
        return 1
    r["smi_peak_bytes"] = a.smi_peak_mib * 1048576 if a.smi_peak_mib is not None else None
    with open(a.file, "w", encoding="utf-8") as f:
        json.dump(r, f)
        f.write("\n")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--steps", type=int, default=3)
    c.add_argument("--rtol", type=float, default=1e-3)
    e = sub.add_parser("eval-drop")
    e.add_argument("metrics")
    e.add_argument("--min-drop", type=float, default=1.0)
    e.add_argument("--max-ratio", type=float, default=0.8)
    t = sub.add_parser("throughput")
    t.add_argument("metrics")
    t.add_argument("--model", required=True)
    t.add_argument("--seq", type=int, required=True)
    t.add_argument("--skip", type=int, default=2)
    t.add_argument("--peak-tflops", type=float, default=llama_flops.H200_BF16_DENSE_TFLOPS)
    t.add_argument("--smi-peak-mib", type=lambda v: None if v == "n/a" else float(v))
    t.add_argument("--json-out")
    r = sub.add_parser("reference-args")
    r.add_argument("--model", required=True)
    tb = sub.add_parser("table")
    tb.add_argument("--fullshard")
    tb.add_argument("--eager")
    tb.add_argument("--compile")
    tb.add_argument("--cublas-tflops", type=lambda v: None if v in ("", "n/a") else float(v))
    tb.add_argument("--peak-tflops", type=float, default=llama_flops.H200_BF16_DENSE_TFLOPS)
    s = sub.add_parser("smi-peak")
    s.add_argument("file")
    n = sub.add_parser("annotate")
    n.add_argument("file")
    n.add_argument("--smi-peak-mib", type=lambda v: None if v == "n/a" else float(v))
    a = p.parse_args(argv)
    return {"annotate": cmd_annotate, "compare": cmd_compare, "eval-drop": cmd_eval_drop, "throughput": cmd_throughput, "reference-args": cmd_reference_args,
            "table": cmd_table, "smi-peak": cmd_smi_peak}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
