"""Plain PyTorch training loop: the eager baseline that `benchmarks/run cpu-vs-pytorch` puts beside
`fullshard train`.

It trains a Hugging Face model directory on the CPU the way fullshard's trainer does (fp32 master
weights, bf16 autocast when --dtype bf16, cross-entropy on next tokens, gradient norm clipped at 1.0,
fused AdamW at fullshard's defaults) on random token ids, batch x seq tokens per step, and prints one
line after the run:

    pytorch_loop: tokens_per_second=<float> timed_steps=<int> tokens_per_step=<int>

Throughput counts the steps after the warm-up ones. Exit code 3 when transformers is missing.
"""
import argparse
import os
import sys
import time

import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model directory")
    p.add_argument("--batch", type=int, required=True, help="sequences per step")
    p.add_argument("--seq", type=int, required=True, help="tokens per sequence")
    p.add_argument("--steps", type=int, required=True, help="optimizer steps, warm-up included")
    p.add_argument("--warmup", type=int, default=3, help="steps left out of tokens/s")
    p.add_argument("--dtype", choices=["fp32", "bf16"], required=True, help="compute dtype")
    args = p.parse_args()
    if args.steps <= args.warmup:
        p.error(f"--steps {args.steps} leaves no step after {args.warmup} warm-up steps")
    return args


def main():
    args = parse_args()
    try:
        from transformers import AutoModelForCausalLM
    except ImportError:
        print("pytorch_loop: transformers is not installed in this Python; cannot load the model", file=sys.stderr)
        sys.exit(3)
    # fullshard uses every CPU it may run on; match it rather than trusting PyTorch's own default.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model.train()
    vocab = model.config.vocab_size
    # Same optimizer settings as fullshard's defaults (docs/config.md), so both sides do the same work.
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16")

    step_seconds = []
    for _ in range(args.steps):
        ids = torch.randint(0, vocab, (args.batch, args.seq))
        start = time.perf_counter()
        with autocast:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step_seconds.append(time.perf_counter() - start)

    timed = step_seconds[args.warmup:]
    tokens_per_step = args.batch * args.seq
    print(f"pytorch_loop: tokens_per_second={tokens_per_step * len(timed) / sum(timed):.3f} "
          f"timed_steps={len(timed)} tokens_per_step={tokens_per_step}")


if __name__ == "__main__":
    main()
