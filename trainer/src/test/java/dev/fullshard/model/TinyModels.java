package dev.fullshard.model;

import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelConfig.RopeScaling;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Tiny model configurations covering the architecture variants, and random inputs for them. */
final class TinyModels {
    private TinyModels() {
    }

    /**
     * Llama 3 rope scaling small enough to matter for head_dim 8 and theta 10000: the wavelengths
     * 2π·10^(j) (j = 0..3) are ≈ 6.3 (< 64/8: kept), 63 (between: interpolated), 628 and 6283 (> 64: divided).
     */
    static final RopeScaling LLAMA3_SCALING = new RopeScaling(8.0, 1.0, 8.0, 64);

    /** The variants the gradient and logits tests run on (two layers each). */
    enum Variant {
        /** Llama 3 style: untied LM head, GQA 4 query / 2 KV heads, llama3 rope scaling. */
        LLAMA_UNTIED(config(Architecture.LLAMA, 4, 2, 8, false, false, false, LLAMA3_SCALING, null)),
        /** Qwen2 style: tied embeddings, q/k/v biases (no o_proj bias), GQA 4/2. */
        QWEN2_TIED_BIAS(config(Architecture.QWEN2, 4, 2, 8, true, true, false, null, null)),
        /** Qwen3 style: per-head q/k RMSNorm, head_dim 8 with hidden 16 (H·hd = 32 ≠ D), GQA 4/2, untied. */
        QWEN3_QK_NORM(config(Architecture.QWEN3, 4, 2, 8, false, false, true, null, null)),
        /** Llama with attention_bias (q/k/v and o_proj biases), one KV head for four query heads, tied. */
        LLAMA_BIAS_MQA(config(Architecture.LLAMA, 4, 1, 8, true, true, false, LLAMA3_SCALING, null)),
        /** Mistral style: no grouping (4/4), sliding window longer than the test sequences. */
        MISTRAL_WINDOW(config(Architecture.MISTRAL, 4, 4, 4, false, false, false, null, 16));

        final ModelConfig config;

        Variant(ModelConfig config) {
            this.config = config;
        }
    }

    static final int VOCAB = 37, HIDDEN = 16, INTERMEDIATE = 24, LAYERS = 2;

    static ModelConfig config(Architecture arch, int heads, int kvHeads, int headDim, boolean tied, boolean bias, boolean qkNorm,
                              RopeScaling scaling, Integer window) {
        return new ModelConfig(arch, VOCAB, HIDDEN, INTERMEDIATE, LAYERS, heads, kvHeads, headDim, 1e-5, 10000.0, scaling,
                128, tied, bias, qkNorm, window, 1, 2);
    }

    /**
     * Parameters where every tensor is random, so that no gradient is trivially zero: weights
     * normal(0, 0.3), the embedding normal(0, 1), norm weights 1 + normal(0, 0.2), biases normal(0, 0.2).
     */
    static Parameters randomParameters(ModelConfig c, long seed, DType dtype) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        int i = 0;
        for (var e : Parameters.shapes(c).entrySet()) {
            String name = e.getKey();
            try (TensorScope scope = TensorScope.open()) {
                Tensor unit = Tensor.randn(seed * 7919 + i++, DType.F64, Device.CPU, e.getValue());
                Tensor v;
                if (name.endsWith("norm.weight")) v = Elementwise.add(Elementwise.mul(unit, 0.2), 1.0);
                else if (name.endsWith(".bias")) v = Elementwise.mul(unit, 0.2);
                else if (name.equals("model.embed_tokens.weight")) v = unit;
                else v = Elementwise.mul(unit, 0.3);
                t.put(name, scope.keep(v.to(dtype)));
            }
        }
        return Parameters.of(c, t);
    }

    /** The same values in another dtype (new tensors). */
    static Parameters convert(Parameters p, DType dtype) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : p.asMap().entrySet()) t.put(e.getKey(), e.getValue().to(dtype));
        return Parameters.of(p.config(), t);
    }

    static Tensor tokens(ModelConfig c, long seed, int batch, int seqLen) {
        Random r = new Random(seed);
        long[] ids = new long[batch * seqLen];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(c.vocabSize());
        return Tensor.of(ids, batch, seqLen);
    }

    /** Random targets with about one in four ignored (−100), never all. */
    static Tensor targets(ModelConfig c, long seed, int batch, int seqLen) {
        Random r = new Random(seed);
        long[] ids = new long[batch * seqLen];
        for (int i = 0; i < ids.length; i++) ids[i] = i > 0 && r.nextInt(4) == 0 ? -100 : r.nextInt(c.vocabSize());
        return Tensor.of(ids, batch, seqLen);
    }
}
