#!/usr/bin/env python3
"""PyTorch reference for fullshard's throughput: a Llama decoder trained with FSDP2 on one GPU.

Plain PyTorch (no transformers): RMSNorm, RoPE (with Llama 3 frequency scaling), grouped-query
attention through F.scaled_dot_product_attention(is_causal=True) with K/V repeated to every head (as
Hugging Face's sdpa path does, which keeps the flash kernel), a SwiGLU MLP, optionally tied
embeddings. Each block is fully_shard'ed, then the root; MixedPrecisionPolicy(param_dtype=bf16,
reduce_dtype=fp32) over fp32 master weights; fused AdamW (lr 1e-5, no weight decay); gradient
clipping at --max-grad-norm as fullshard does by default. The loss is fp32 cross-entropy over the
full [B*T, vocab] logits (not chunked: fullshard chunks its loss, so this side holds more memory
there). Random token batches, made on the GPU before the timed steps. Downloads nothing.

Defaults are fullshard's 1b preset (trainer/.../model/ModelPresets.java, Llama-3.2-1B's shape).
Run on a machine with one GPU (world size 1 unless torchrun sets RANK/WORLD_SIZE):

    python3 benchmarks/reference/fsdp2_llama.py --batch 4 --seq 2048 --steps 12 --warmup 2 [--compile]

Prints a human line, then one line of JSON (also written to --json-out). MFU uses FLOPs per token =
6·N + 12·L·H·Q·T with N = the parameters without the input embedding (llama_flops.py).
"""
import argparse
import json
import math
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

try:
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
except ImportError:  # PyTorch before 2.6
    from torch.distributed._composable.fsdp import MixedPrecisionPolicy, fully_shard

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_flops  # noqa: E402 (stdlib only, next to this file)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--hidden", type=int, default=2048, help="hidden size")
    p.add_argument("--intermediate", type=int, default=8192, help="MLP intermediate size")
    p.add_argument("--layers", type=int, default=16, help="decoder blocks")
    p.add_argument("--heads", type=int, default=32, help="attention heads")
    p.add_argument("--kv-heads", type=int, default=8, help="key/value heads (GQA)")
    p.add_argument("--vocab", type=int, default=32000, help="vocabulary size")
    p.add_argument("--untied", action="store_true", help="separate LM head (else tied to the embedding)")
    p.add_argument("--rope-theta", type=float, default=500000.0, help="RoPE base")
    p.add_argument("--rope-scaling", default="32,1,4,8192",
                   help="Llama 3 RoPE scaling FACTOR,LOW_FREQ_FACTOR,HIGH_FREQ_FACTOR,ORIGINAL_MAX_POSITIONS, or none")
    p.add_argument("--rms-eps", type=float, default=1e-5, help="RMSNorm epsilon")
    p.add_argument("--batch", type=int, default=4, help="sequences per step (B)")
    p.add_argument("--seq", type=int, default=2048, help="tokens per sequence (T)")
    p.add_argument("--steps", type=int, default=12, help="optimizer steps in all, warm-up included")
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the figures")
    p.add_argument("--compile", action="store_true", help="torch.compile each block (else eager)")
    p.add_argument("--lr", type=float, default=1e-5, help="AdamW learning rate")
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="clip the gradient norm to this; 0 disables")
    p.add_argument("--peak-tflops", type=float, default=llama_flops.H200_BF16_DENSE_TFLOPS,
                   help="the GPU's dense bf16 peak, for MFU")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the token batches")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                   help="cpu: a slow smoke test of this script (gloo, no memory figures)")
    p.add_argument("--json-out", help="also write the JSON line to this file")
    a = p.parse_args(argv)
    if a.steps <= a.warmup:
        p.error(f"--steps ({a.steps}) must exceed --warmup ({a.warmup})")
    if a.hidden % a.heads or a.heads % a.kv_heads:
        p.error("--hidden must be a multiple of --heads, and --heads of --kv-heads")
    return a


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # (B,T,C), normalised in fp32 as Hugging Face does
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_tables(head_dim, seq, theta, scaling):
    """cos, sin (T,Q) in fp32; scaling = (factor, low_freq_factor, high_freq_factor, original_positions) or None."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    if scaling is not None:  # Llama 3: long wavelengths slowed by factor, a smooth band in between
        factor, low, high, original = scaling
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > original / low, inv_freq / factor, inv_freq)
        smooth = (original / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= original / high) & (wavelen <= original / low)
        inv_freq = torch.where(medium, smoothed, scaled)
    angles = torch.outer(torch.arange(seq, dtype=torch.float32), inv_freq)  # (T, Q/2)
    angles = torch.cat((angles, angles), dim=-1)  # (T, Q), Hugging Face's rotate_half layout
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):  # x (B,heads,T,Q); cos, sin (T,Q)
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat((-x2, x1), dim=-1) * sin.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.hidden // a.heads
        self.q_proj = nn.Linear(a.hidden, a.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(a.hidden, a.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(a.hidden, a.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(a.heads * self.head_dim, a.hidden, bias=False)

    def forward(self, x, cos, sin):  # x (B,T,C)
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)  # (B,H,T,Q)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)  # (B,Hkv,T,Q)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        groups = self.heads // self.kv_heads
        if groups > 1:  # (B,Hkv,T,Q) -> (B,H,T,Q), as Hugging Face's repeat_kv
            k = k[:, :, None].expand(b, self.kv_heads, groups, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, groups, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B,H,T,Q)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class Mlp(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.gate_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.up_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.down_proj = nn.Linear(a.intermediate, a.hidden, bias=False)

    def forward(self, x):  # (B,T,C) -> (B,T,I) -> (B,T,C)
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.input_layernorm = RMSNorm(a.hidden, a.rms_eps)
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a.hidden, a.rms_eps)
        self.mlp = Mlp(a)

    def forward(self, x, cos, sin):  # (B,T,C) -> (B,T,C)
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, a, scaling):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden, a.rms_eps)
        self.lm_head = nn.Linear(a.hidden, a.vocab, bias=False)
        if not a.untied:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rope_tables(a.hidden // a.heads, a.seq, a.rope_theta, scaling)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, tokens):  # (B,T) -> logits (B,T,V)
        x = self.embed_tokens(tokens)
        for block in self.layers:
            x = block(x, self.rope_cos, self.rope_sin)
        return self.lm_head(self.norm(x))


def main(args):
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("fsdp2_llama: needs a CUDA GPU (torch.cuda.is_available() is False); --device cpu runs a slow smoke test")
    for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    local_rank = int(os.environ["LOCAL_RANK"])
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    main_rank = dist.get_rank() == 0

    def sync():
        if cuda:
            torch.cuda.synchronize()

    scaling = None if args.rope_scaling.lower() == "none" else tuple(float(v) for v in args.rope_scaling.split(","))
    torch.manual_seed(args.seed)
    with torch.device(device):
        model = Llama(args, scaling)
    for p in model.parameters():  # fp32 master weights
        if p.dim() == 2:
            nn.init.normal_(p, std=0.02)
    total_params = sum(p.numel() for p in model.parameters())  # the tied matrix once

    if args.compile:
        import torch._dynamo.config as dynamo_config
        for knob in ("recompile_limit", "cache_size_limit"):  # 16 blocks share one compiled forward
            if hasattr(dynamo_config, knob):
                setattr(dynamo_config, knob, max(64, getattr(dynamo_config, knob)))
        for i in range(len(model.layers)):  # as torchtitan: compile each block, then shard the compiled one
            model.layers[i] = torch.compile(model.layers[i], fullgraph=True)
    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    for block in model.layers:
        fully_shard(block, mp_policy=mp)
    fully_shard(model, mp_policy=mp)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, fused=True)

    g = torch.Generator(device=device)
    g.manual_seed(args.seed + dist.get_rank())
    batches = [torch.randint(0, args.vocab, (args.batch, args.seq + 1), device=device, generator=g) for _ in range(args.steps)]

    def step(tokens):
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        logits = model(inputs)  # (B,T,V) bf16
        loss = F.cross_entropy(logits.float().view(-1, args.vocab), targets.reshape(-1))
        loss.backward()
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    times, losses = [], []
    for i in range(args.steps):
        sync()
        start = time.perf_counter()
        losses.append(step(batches[i]))
        sync()
        times.append(time.perf_counter() - start)
        if main_rank:
            print(f"fsdp2_llama: step {i + 1}/{args.steps} {times[-1]:.3f} s" + (" (warm-up)" if i < args.warmup else ""),
                  file=sys.stderr, flush=True)

    timed = times[args.warmup:]
    world = dist.get_world_size()
    tokens_per_step = args.batch * args.seq * world
    tokens_per_second = tokens_per_step * len(timed) / sum(timed)
    shape = dict(hidden=args.hidden, intermediate=args.intermediate, layers=args.layers, heads=args.heads,
                 kv_heads=args.kv_heads, vocab=args.vocab, tied=not args.untied)
    _, flops_n = llama_flops.param_counts(**shape)
    flops_token = llama_flops.flops_per_token(seq=args.seq, **shape)
    # MFU per GPU: each rank processes tokens_per_second / world.
    mfu = llama_flops.mfu(tokens_per_second / world, flops_token, args.peak_tflops)
    result = {
        "impl": "pytorch-fsdp2", "mode": "compile" if args.compile else "eager", "device": str(device),
        "torch": torch.__version__, "cuda": torch.version.cuda, "nccl": nccl_version() if cuda else None,
        "gpu": torch.cuda.get_device_name(device) if cuda else None,
        "world_size": world, "hidden": args.hidden, "intermediate": args.intermediate, "layers": args.layers,
        "heads": args.heads, "kv_heads": args.kv_heads, "head_dim": args.hidden // args.heads, "vocab": args.vocab,
        "tied_embeddings": not args.untied, "rope_theta": args.rope_theta, "rope_scaling": args.rope_scaling,
        "parameters": total_params, "flops_parameters": flops_n, "flops_per_token": flops_token,
        "batch": args.batch, "seq": args.seq, "steps": args.steps, "warmup": args.warmup, "timed_steps": len(timed),
        "tokens_per_second": tokens_per_second, "step_time_s": sum(timed) / len(timed), "step_time_min_s": min(timed),
        "step_times_s": [round(t, 5) for t in times], "first_step_s": times[0],
        "mfu": mfu, "achieved_tflops": tokens_per_second / world * flops_token / 1e12, "peak_tflops": args.peak_tflops,
        "max_memory_allocated_bytes": None, "max_memory_reserved_bytes": None,
        "device_used_bytes_end": None, "device_total_bytes": None,
        "loss_first": losses[0].item(), "loss_last": losses[-1].item(),
        "loss": "fp32 cross-entropy over the full logits (not chunked)", "max_grad_norm": args.max_grad_norm,
        "optimizer": f"AdamW(fused, lr={args.lr}, weight_decay=0)",
        "mixed_precision": "FSDP2 param_dtype=bf16 reduce_dtype=fp32, fp32 master weights",
    }
    if cuda:
        free, total = torch.cuda.mem_get_info(device)
        result.update(max_memory_allocated_bytes=torch.cuda.max_memory_allocated(device),
                      max_memory_reserved_bytes=torch.cuda.max_memory_reserved(device),
                      device_used_bytes_end=total - free, device_total_bytes=total)
    if main_rank:
        print(f"fsdp2_llama: {result['mode']} {total_params / 1e9:.2f}B params, B={args.batch} T={args.seq}: "
              f"{tokens_per_second:,.0f} tokens/s, step {result['step_time_s']:.3f} s, MFU {100 * mfu:.1f}% "
              f"of {args.peak_tflops:g} TFLOP/s, memory allocated {gib(result['max_memory_allocated_bytes'])}, "
              f"reserved {gib(result['max_memory_reserved_bytes'])}, device {gib(result['device_used_bytes_end'])}; "
              f"loss {result['loss_first']:.3f} -> {result['loss_last']:.3f}", flush=True)
        line = json.dumps(result)
        print(line, flush=True)
        if args.json_out:
            with open(args.json_out, "w") as f:
                f.write(line + "\n")
    dist.destroy_process_group()


def nccl_version():
    v = torch.cuda.nccl.version()
    return ".".join(map(str, v)) if isinstance(v, tuple) else str(v)


def gib(n):
    return "n/a" if n is None else f"{n / 1024 ** 3:.1f} GiB"


if __name__ == "__main__":
    main(parse_args())
