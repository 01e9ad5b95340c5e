"""Parameter count and training FLOPs per token of a Llama decoder, as fullshard's benchmarks count them.

FLOPs per token = 6·N + 12·L·H·Q·T (torchtitan's MFU formula): N is every parameter that takes part
in a matrix product or a norm, i.e. all parameters without the input embedding (a lookup, no FLOPs).
With tied embeddings the one shared matrix still runs the LM head's product, so it stays in N. L
layers, H attention heads, Q head dim, T sequence length (the attention score and value products).

Standard library only: scripts/gpu-check.sh uses it where no PyTorch is installed.
"""

H200_BF16_DENSE_TFLOPS = 989.0  # H100/H200 SXM, dense bf16 (docs: DESIGN.md "Performance model")


def param_counts(hidden, intermediate, layers, heads, kv_heads, vocab, tied, head_dim=None):
    """(total parameters as stored, N for the FLOPs formula). No biases (Llama)."""
    q = head_dim or hidden // heads
    attention = hidden * heads * q + 2 * hidden * kv_heads * q + heads * q * hidden
    mlp = 3 * hidden * intermediate
    block = attention + mlp + 2 * hidden  # + input and post-attention RMSNorm weights
    embedding = vocab * hidden
    head = vocab * hidden
    total = layers * block + hidden + embedding + (0 if tied else head)
    flops_n = layers * block + hidden + head
    return total, flops_n


def flops_per_token(hidden, intermediate, layers, heads, kv_heads, vocab, tied, seq, head_dim=None):
    q = head_dim or hidden // heads
    _, n = param_counts(hidden, intermediate, layers, heads, kv_heads, vocab, tied, head_dim)
    return 6 * n + 12 * layers * heads * q * seq


def from_hf_config(config):
    """The shape arguments of the functions above from a Hugging Face config.json (a dict)."""
    return dict(hidden=config["hidden_size"], intermediate=config["intermediate_size"],
                layers=config["num_hidden_layers"], heads=config["num_attention_heads"],
                kv_heads=config.get("num_key_value_heads", config["num_attention_heads"]),
                vocab=config["vocab_size"], tied=bool(config.get("tie_word_embeddings", False)),
                head_dim=config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def mfu(tokens_per_second, flops_token, peak_tflops=H200_BF16_DENSE_TFLOPS):
    """Model FLOPs utilisation as a fraction of the peak."""
    return tokens_per_second * flops_token / (peak_tflops * 1e12)


if __name__ == "__main__":
    # fullshard's 1b preset (ModelPresets.B1), the reference's defaults.
    shape = dict(hidden=2048, intermediate=8192, layers=16, heads=32, kv_heads=8, vocab=32000, tied=True)
    total, n = param_counts(**shape)
    print(f"1b preset: {total:,} parameters, N = {n:,}, FLOPs/token at T=2048: {flops_per_token(seq=2048, **shape):.4g}")
