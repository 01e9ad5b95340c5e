package dev.fullshard.model;

import dev.fullshard.model.ModelConfig.Architecture;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The FLOP formula of fullshard bench, against independent counts. */
class ModelFlopsTest {
    /** Numbers printed by benchmarks/reference/llama_flops.py (the reference the GPU check and the docs use) for the presets. */
    @Test
    void matchesTheReferenceScriptForThePresets() {
        assertThat(ModelFlops.matmulParameters(ModelPresets.TINY.config(Architecture.LLAMA))).isEqualTo(2_140_480L);
        assertThat(ModelFlops.perToken(ModelPresets.TINY.config(Architecture.LLAMA), 128)).isEqualTo(13_039_488.0);
        assertThat(ModelFlops.matmulParameters(ModelPresets.B1.config(Architecture.LLAMA))).isEqualTo(1_038_682_112L); // tied: the head counts
        assertThat(ModelFlops.perToken(ModelPresets.B1.config(Architecture.LLAMA), 2048)).isEqualTo(7_037_399_040.0);
        assertThat(ModelFlops.perToken(ModelPresets.B8.config(Architecture.LLAMA), 4096)).isEqualTo(49_106_411_520.0);
    }

    /**
     * A count written out product by product: each weight matrix of shape (out, in) costs 2·out·in FLOPs
     * per token forward and twice that backward; norms count as their weights; attention's QKᵀ and AV
     * cost 2·T·H·Q each forward.
     */
    @Test
    void matchesAProductByProductCount() {
        int h = 64, inter = 176, layers = 2, heads = 4, kv = 2, q = 16, vocab = 32000, t = 128;
        ModelConfig c = ModelPresets.TINY.config(Architecture.LLAMA);
        assertThat(new long[] {c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKeyValueHeads(), c.headDim()})
                .containsExactly(h, inter, layers, heads, kv, q);
        double forward = 0;
        for (int l = 0; l < layers; l++) {
            forward += 2.0 * (heads * q) * h;      // q_proj
            forward += 2 * 2.0 * (kv * q) * h;     // k_proj, v_proj
            forward += 2.0 * h * (heads * q);      // o_proj
            forward += 3 * 2.0 * inter * h;        // gate, up, down
            forward += 2 * 2.0 * h;                // two RMSNorm weights, as the formula counts them
            forward += 2 * 2.0 * t * heads * q;    // QKᵀ and AV
        }
        forward += 2.0 * h;                        // final norm
        forward += 2.0 * vocab * h;                // LM head (untied)
        assertThat(ModelFlops.perToken(c, t)).isEqualTo(3 * forward);
    }
}
