package dev.fullshard.model;

/**
 * Training FLOPs per token, as fullshard's benchmarks and {@code benchmarks/reference/llama_flops.py}
 * count them (torchtitan's MFU formula): {@code 6·N + 12·L·H·Q·T}.
 * <ul>
 *   <li>{@code 6·N}: forward (2 FLOPs per multiply-add) and backward (twice the forward) of every
 *       parameter that takes part in a matrix product or a norm, so all of them but the input embedding,
 *       which is a lookup. With tied embeddings the one matrix still runs the LM head's product and counts.</li>
 *   <li>{@code 12·L·H·Q·T}: the attention score and value products (L layers, H heads, Q head dim, T
 *       sequence length), forward and backward, as if unmasked, as that formula counts them.</li>
 * </ul>
 * Recomputation under activation checkpointing is not counted: these are model FLOPs, not hardware FLOPs.
 */
public final class ModelFlops {
    private ModelFlops() {
    }

    /** N: the parameters in matrix products and norms. */
    public static long matmulParameters(ModelConfig c) {
        long total = 0;
        for (long[] shape : Parameters.shapes(c).values()) {
            long n = 1;
            for (long d : shape) n *= d;
            total += n;
        }
        return c.tieWordEmbeddings() ? total : total - (long) c.vocabSize() * c.hiddenSize();
    }

    /** Training FLOPs of one token in a sequence of {@code seqLen} tokens. */
    public static double perToken(ModelConfig c, int seqLen) {
        return 6.0 * matmulParameters(c) + 12.0 * c.numLayers() * c.numHeads() * c.headDim() * seqLen;
    }
}
