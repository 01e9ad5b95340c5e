package dev.fullshard.model;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each layer's explicit backward against (1) central finite differences of the same layer run in
 * float64 and (2) libtorch's autograd through the layer rebuilt from plain ATen ops ({@link AtenForward}),
 * in float64; and the float32 backward against the float64 one. The scalar checked is L = Σ out·R for a
 * fixed random R, whose gradient with respect to the output is R.
 */
@ExtendWith(NoLeakedTensors.class)
class ModelLayersTest {
    private static final double FD_ATOL = 1e-7, FD_RTOL = 1e-6;
    /** Two float64 computations of the same gradient by different routes. */
    private static final double F64_ATOL = 1e-11, F64_RTOL = 1e-9;
    /** float32 layer vs its float64 self: a few thousand float32 roundings of O(1) values. */
    private static final double F32_ATOL = 2e-5, F32_RTOL = 1e-4;

    /** A layer under test: its forward on named tensors, and its backward given dL/dout, returning every gradient. */
    private interface Layer {
        Tensor forward(Map<String, Tensor> t);

        /** Gradients of Σ forward(t)·r by the layer's own backward, keyed like t. */
        Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r);
    }

    /**
     * Runs all three checks on a layer: FD (float64), the autograd oracle on {@code aten} (float64), and the
     * float32 backward against the float64 one.
     */
    private static void check(String what, Map<String, Tensor> inputs, Layer layer, Function<Map<String, Tensor>, Tensor> aten) {
        check(what, inputs, layer, aten, 0);
    }

    /** As above, with finite differences on {@code samples} coordinates per tensor (0: all). */
    private static void check(String what, Map<String, Tensor> inputs, Layer layer, Function<Map<String, Tensor>, Tensor> aten, int samples) {
        Tensor out = layer.forward(inputs);
        Tensor r = Tensor.randn(what.hashCode(), DType.F64, Device.CPU, out.shape());
        Map<String, Tensor> analytic = layer.backward(inputs, r);
        GradCheck.finiteDifferences(what, inputs, analytic, samples, ignored -> {
            try (TensorScope s = TensorScope.open()) {
                return GradCheck.dot(layer.forward(inputs), r);
            }
        }, FD_ATOL, FD_RTOL);
        Map<String, Tensor> oracle = GradCheck.autograd(inputs, leaves -> Reductions.sum(Elementwise.mul(aten.apply(leaves), r)));
        GradCheck.assertClose(what + " vs autograd", analytic, oracle, F64_ATOL, F64_RTOL);
        Map<String, Tensor> f32 = new LinkedHashMap<>();
        for (var e : inputs.entrySet()) f32.put(e.getKey(), e.getValue().to(DType.F32));
        GradCheck.assertClose(what + " float32 vs float64", layer.backward(f32, r.to(DType.F32)), analytic, F32_ATOL, F32_RTOL);
    }

    private static Map<String, Tensor> named(Object... nameTensor) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < nameTensor.length; i += 2) m.put((String) nameTensor[i], (Tensor) nameTensor[i + 1]);
        return m;
    }

    private static Tensor randn(long seed, double scale, long... shape) {
        try (TensorScope s = TensorScope.open()) {
            return s.keep(Elementwise.mul(Tensor.randn(seed, DType.F64, Device.CPU, shape), scale));
        }
    }

    private static Tensor zerosLike(Tensor t) {
        return Tensor.zeros(t.dtype(), Device.CPU, t.shape());
    }

    // ================================================================ Linear

    @Test
    void linearWithAndWithoutBias() {
        try (TensorScope s = TensorScope.open()) {
            for (boolean bias : new boolean[]{true, false}) {
                Map<String, Tensor> in = named("x", randn(1, 1, 6, 5), "w", randn(2, 0.5, 4, 5));
                if (bias) in.put("b", randn(3, 0.5, 4));
                check("Linear bias=" + bias, in, new Layer() {
                    public Tensor forward(Map<String, Tensor> t) {
                        return Linear.forward(t.get("x"), t.get("w"), t.get("b"));
                    }

                    public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                        Tensor dw = zerosLike(t.get("w")), db = bias ? zerosLike(t.get("b")) : null;
                        Tensor dx = Linear.backward(r, t.get("x"), t.get("w"), dw, db);
                        Map<String, Tensor> g = named("x", dx, "w", dw);
                        if (bias) g.put("b", db);
                        return g;
                    }
                }, t -> AtenForward.linear(t.get("x"), t.get("w"), t.get("b")));
            }
        }
    }

    @Test
    void linearBackwardAddsIntoTheCallersBuffersInTheirDtype() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = randn(4, 1, 3, 5).to(DType.BF16), w = randn(5, 1, 2, 5).to(DType.BF16), g = randn(6, 1, 3, 2).to(DType.BF16);
            Tensor dw = Tensor.full(1.0, DType.F32, Device.CPU, 2, 5), db = Tensor.full(-1.0, DType.F32, Device.CPU, 2);
            Linear.backward(g, x, w, dw, db);
            assertThat(dw.dtype()).isEqualTo(DType.F32);
            double[] expectedW = Elementwise.add(Matmul.mm(g.transpose(0, 1), x).to(DType.F64), 1.0).toDoubleArray();
            double[] expectedB = Elementwise.add(Reductions.sum(g.to(DType.F64), false, 0), -1.0).toDoubleArray();
            // The bf16 product is exact in float32 only up to its own rounding: compare to 1 bf16 ulp.
            assertThat(dw.toDoubleArray()).containsExactly(expectedW, org.assertj.core.data.Offset.offset(2e-2));
            assertThat(db.toDoubleArray()).containsExactly(expectedB, org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    // ================================================================ Embedding

    @Test
    void embeddingWithRepeatedTokens() {
        try (TensorScope s = TensorScope.open()) {
            Tensor tokens = Tensor.of(new long[]{3, 1, 3, 0, 6, 3, 1, 1}, 2, 4);   // 3 and 1 three times, 2, 4, 5 unused
            check("Embedding", named("w", randn(7, 1, 7, 5)), new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    return Embedding.forward(tokens, t.get("w"), t.get("w").dtype());
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    Tensor dw = zerosLike(t.get("w"));
                    Embedding.backward(r, tokens, dw);
                    return named("w", dw);
                }
            }, t -> Layers.embedding(t.get("w"), tokens.reshape(-1)));
        }
    }

    /**
     * Every run adds the same bits: index_put_ with accumulate, which the embedding backward used on the
     * CPU, adds a repeated token's rows with atomic adds in whatever order the OpenMP threads get there,
     * and at 2 threads most reruns differed. Needs libtorch on 2 or more intra-op threads (the tests'
     * default is one per core).
     */
    @Test
    void embeddingBackwardGivesTheSameBitsOnEveryRun() {
        int threads = intraOpThreads();
        assumeTrue(threads >= 2, "libtorch runs " + threads + " intra-op thread(s); a race needs two");
        try (TensorScope s = TensorScope.open()) {
            long[] ids = new long[512];
            for (int i = 0; i < ids.length; i++) ids[i] = i % 128 > 100 ? 2 : (i * 7919L) % 300; // repeats, and EOS padding
            Tensor tokens = Tensor.of(ids, 4, 128), grad = randn(21, 1, 512, 64).to(DType.F32);
            float[] first = null;
            for (int run = 0; run < 30; run++) {
                try (TensorScope r = TensorScope.open()) {
                    Tensor dw = Tensor.zeros(DType.F32, Device.CPU, 1000, 64);
                    Embedding.backward(grad, tokens, dw);
                    float[] values = dw.toFloatArray();
                    if (first == null) first = values;
                    else assertThat(differentBits(first, values)).as("values of run %d that differ from run 0", run).isZero();
                }
            }
        }
    }

    private static int intraOpThreads() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            assertThat(TorchStable.torch_get_num_threads(out)).isZero();
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static int differentBits(float[] a, float[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) n++;
        return n;
    }

    // ================================================================ RmsNorm

    @Test
    void rmsNorm() {
        try (TensorScope s = TensorScope.open()) {
            Tensor w = Elementwise.add(randn(9, 0.2, 8), 1.0);
            check("RmsNorm", named("x", randn(8, 1, 2, 3, 8), "w", w), new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    return RmsNorm.forward(t.get("x"), t.get("w"), 1e-5).output();
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    RmsNorm.Result fwd = RmsNorm.forward(t.get("x"), t.get("w"), 1e-5);
                    Tensor dw = zerosLike(t.get("w"));
                    return named("x", RmsNorm.backward(r, fwd.saved(), t.get("w"), dw), "w", dw);
                }
            }, t -> AtenForward.rmsNorm(t.get("x"), t.get("w"), 1e-5));
        }
    }

    // ================================================================ Rotary

    @Test
    void rotaryWithLlama3Scaling() {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        try (TensorScope s = TensorScope.open()) {
            Map<DType, Rotary.Tables> tables = new java.util.EnumMap<>(DType.class);
            for (DType d : new DType[]{DType.F64, DType.F32}) tables.put(d, Rotary.tables(c, 5, d));
            check("Rotary (llama3 scaling)", named("x", randn(10, 1, 2, 5, 3, c.headDim())), new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    return Rotary.forward(t.get("x"), tables.get(t.get("x").dtype()));
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    return named("x", Rotary.backward(r, tables.get(t.get("x").dtype())));
                }
            }, t -> AtenForward.rotary(t.get("x"), tables.get(DType.F64)));
        }
    }

    // ================================================================ Attention, Mlp, Block

    private static final long BATCH = 2, SEQ = 5;

    /** The tensors of layer 0 of a random model of {@code variant} in float64, plus an input x. */
    private static Map<String, Tensor> layerInputs(Variant variant) {
        Parameters p = TinyModels.randomParameters(variant.config, 11, DType.F64);
        Map<String, Tensor> in = named("x", randn(12, 1, BATCH * SEQ, variant.config.hiddenSize()));
        for (var e : p.asMap().entrySet()) if (e.getKey().startsWith("model.layers.0.")) in.put(e.getKey(), e.getValue());
        return in;
    }

    /** Block 0's params from a name map (parameters or gradients); missing optional tensors are null. */
    private static Block.Params block0(ModelConfig c, Map<String, Tensor> t) {
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (var e : Parameters.shapes(c).entrySet()) {
            Tensor v = t.get(e.getKey());
            all.put(e.getKey(), v != null ? v : Tensor.zeros(DType.F64, Device.CPU, e.getValue()));
        }
        return CausalLm.blockParams(Parameters.of(c, all).asMap(), 0);
    }

    /** Zero gradient buffers for every layer-0 tensor of {@code t}, same names. */
    private static Map<String, Tensor> zeroGrads(Map<String, Tensor> t) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        for (var e : t.entrySet()) if (!e.getKey().equals("x")) g.put(e.getKey(), zerosLike(e.getValue()));
        return g;
    }

    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"QWEN2_TIED_BIAS", "QWEN3_QK_NORM", "LLAMA_BIAS_MQA", "MISTRAL_WINDOW"})
    void attention(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            layerInputs(variant).forEach((k, v) -> {
                if (k.equals("x") || k.contains("self_attn")) in.put(k, v);
            });
            check("Attention " + variant, in, new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    Rotary.Tables rope = Rotary.tables(c, SEQ, t.get("x").dtype());
                    return Attention.forward(t.get("x"), BATCH, block0(c, t).attention(), rope, c).output();
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    Rotary.Tables rope = Rotary.tables(c, SEQ, t.get("x").dtype());
                    Attention.Result fwd = Attention.forward(t.get("x"), BATCH, block0(c, t).attention(), rope, c);
                    Map<String, Tensor> g = zeroGrads(t);
                    Tensor dx = Attention.backward(r.to(t.get("x").dtype()), fwd.saved(), block0(c, t).attention(), block0(c, g).attention(), rope, c);
                    g.put("x", dx);
                    return g;
                }
            }, t -> AtenForward.attention(t.get("x"), BATCH, block0(c, t).attention(), Rotary.tables(c, SEQ, DType.F64), c));
        }
    }

    @Test
    void mlp() {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            layerInputs(Variant.LLAMA_UNTIED).forEach((k, v) -> {
                if (k.equals("x") || k.contains(".mlp.")) in.put(k, v);
            });
            check("Mlp (SwiGLU)", in, new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    return Mlp.forward(t.get("x"), block0(c, t).mlp()).output();
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    Mlp.Result fwd = Mlp.forward(t.get("x"), block0(c, t).mlp());
                    Map<String, Tensor> g = zeroGrads(t);
                    g.put("x", Mlp.backward(r.to(t.get("x").dtype()), fwd.saved(), block0(c, t).mlp(), block0(c, g).mlp()));
                    return g;
                }
            }, t -> AtenForward.mlp(t.get("x"), block0(c, t).mlp()));
        }
    }

    /** Finite differences on 16 coordinates per tensor (every coordinate takes 10 s); autograd checks them all. */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"LLAMA_UNTIED", "QWEN3_QK_NORM"})
    void block(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            check("Block " + variant, layerInputs(variant), new Layer() {
                public Tensor forward(Map<String, Tensor> t) {
                    Rotary.Tables rope = Rotary.tables(c, SEQ, t.get("x").dtype());
                    return Block.forward(t.get("x"), BATCH, block0(c, t), rope, c).output();
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    Rotary.Tables rope = Rotary.tables(c, SEQ, t.get("x").dtype());
                    Block.Result fwd = Block.forward(t.get("x"), BATCH, block0(c, t), rope, c);
                    Map<String, Tensor> g = zeroGrads(t);
                    g.put("x", Block.backward(r.to(t.get("x").dtype()), fwd.saved(), block0(c, t), block0(c, g), rope, c));
                    return g;
                }
            }, t -> AtenForward.block(t.get("x"), BATCH, block0(c, t), Rotary.tables(c, SEQ, DType.F64), c), 16);
        }
    }

    // ================================================================ LM head + cross-entropy

    @Test
    void chunkedCrossEntropyWithSmoothingAndIgnoredTargets() {
        try (TensorScope s = TensorScope.open()) {
            Tensor targets = Tensor.of(new long[]{4, -100, 0, 8, 8, -100, 2}, 7);
            double smoothing = 0.1;
            int chunk = 3;
            check("LM head + cross-entropy (chunks of 3, eps 0.1)", named("h", randn(13, 1, 7, 6), "w", randn(14, 0.5, 9, 6)), new Layer() {
                // The layer's output is the loss itself: R is then a 0-dim factor.
                public Tensor forward(Map<String, Tensor> t) {
                    return Tensor.scalar(CrossEntropy.forward(t.get("h"), t.get("w"), targets, smoothing, chunk).sum() / 5);
                }

                public Map<String, Tensor> backward(Map<String, Tensor> t, Tensor r) {
                    Tensor dw = zerosLike(t.get("w"));
                    CrossEntropy.Result res = CrossEntropy.forwardBackward(t.get("h"), t.get("w"), targets, smoothing, chunk, 5, dw);
                    double factor = r.item();
                    return named("h", Elementwise.mul(res.dHidden(), factor), "w", Elementwise.mul(dw, factor));
                }
            }, t -> AtenForward.crossEntropy(AtenForward.linear(t.get("h"), t.get("w"), null), targets, smoothing));
        }
    }

    // ================================================================ shape rules

    @Test
    void slidingWindowShorterThanTheSequenceIsRejected() {
        ModelConfig c = TinyModels.config(ModelConfig.Architecture.MISTRAL, 4, 4, 4, false, false, false, null, 3);
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 1, DType.F32);
            Tensor x = Tensor.zeros(DType.F32, Device.CPU, 8, c.hiddenSize());
            assertThatThrownBy(() -> Attention.forward(x, 2, CausalLm.blockParams(p.asMap(), 0).attention(), Rotary.tables(c, 4, DType.F32), c))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("sequence length 4 exceeds sliding_window 3");
        }
    }
}
