package dev.fullshard.tensor;

import dev.fullshard.model.Attention;
import dev.fullshard.model.RmsNorm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.fullshard.tensor.LayerRef.assertClose;
import static dev.fullshard.tensor.LayerRef.randn;
import static dev.fullshard.tensor.Ref.assertExact;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The neural-network layer ops of {@link Layers} (embedding, index_select, gather, RMSNorm, softmax,
 * NLL loss, CPU flash attention and their backwards), with the compositions that model.RmsNorm (its backward)
 * and model.Attention (the math attention kernel) build from them, against double-precision Java references
 * computed from the exact values the inputs hold, in float32 and bfloat16, with strided inputs.
 */
@ExtendWith(NoLeakedTensors.class)
class LayersTest {
    // ================================================================ aten::embedding, embedding_dense_backward

    /** Repeated ids (3 three times, 1 three times) and unused rows (4, 5, 6, 8) on purpose. */
    private static final long[] IDS = {3, 1, 3, 0, 9, 3, 7, 1, 1, 2};
    private static final int VOCAB = 10, DIM = 6;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void embeddingReturnsTheRowsOfTheIds(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var weight = randn(100, 1, dtype, VOCAB, DIM);
            Tensor ids = Tensor.of(IDS, 2, 5);
            assertExact(Layers.embedding(weight.tensor(), ids), rowsOf(weight.values(), IDS, 2, 5), "aten::embedding");
            // int32 ids are accepted by Layers.embedding too, so they must give the same rows.
            int[] ids32 = new int[IDS.length];
            for (int i = 0; i < IDS.length; i++) ids32[i] = (int) IDS[i];
            assertExact(Layers.embedding(weight.tensor(), Tensor.of(ids32, 2, 5)), rowsOf(weight.values(), IDS, 2, 5), "aten::embedding int32 ids");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void embeddingOfATransposedWeight(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // A (dim, vocab) tensor viewed as (vocab, dim): rows are strided, not contiguous.
            var base = randn(101, 1, dtype, DIM, VOCAB);
            Tensor weight = base.tensor().transpose(0, 1);
            assertExact(Layers.embedding(weight, Tensor.of(IDS, 10)), rowsOf(base.values().transpose(0, 1), IDS, 10), "aten::embedding(wᵀ)");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void embeddingDenseBackwardAccumulatesRepeatedIds(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // grad_out arrives as a transposed view (2, 5, 6) of a (2, 6, 5) tensor.
            var gBase = randn(102, 1, dtype, 2, DIM, 5);
            Tensor gradOut = gBase.tensor().transpose(1, 2);
            Ref g = gBase.values().transpose(1, 2);
            Ref expected = Ref.zeros(VOCAB, DIM);
            for (int p = 0; p < IDS.length; p++) {
                for (int d = 0; d < DIM; d++) {
                    long row = IDS[p];
                    expected.set(expected.get(row, d) + g.data[p * DIM + d], row, d);
                }
            }
            Tensor grad = Layers.embeddingBackward(gradOut, Tensor.of(IDS, 2, 5), VOCAB);
            assertThat(grad.dtype()).isEqualTo(dtype);
            // bf16: each of up to three additions may round to bf16, a few bf16 ulps at most.
            assertClose(grad, expected, dtype, "aten::embedding_dense_backward");
            // Rows no id used get exactly zero.
            Ref actual = Ref.of(grad);
            for (long unused : new long[]{4, 5, 6, 8}) for (int d = 0; d < DIM; d++) assertThat(actual.get(unused, d)).isZero();
        }
    }

    private static Ref rowsOf(Ref weight, long[] ids, long... shape) {
        long dim = weight.shape[1];
        long[] outShape = java.util.Arrays.copyOf(shape, shape.length + 1);
        outShape[shape.length] = dim;
        Ref out = Ref.zeros(outShape);
        for (int p = 0; p < ids.length; p++) for (int d = 0; d < dim; d++) out.data[(int) (p * dim + d)] = weight.get(ids[p], d);
        return out;
    }

    // ================================================================ aten::index_select, aten::gather

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void indexSelectAlongEachDimension(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var base = randn(110, 1, dtype, 5, 6);
            Tensor t = base.tensor().transpose(0, 1); // (6, 5), strided
            Ref v = base.values().transpose(0, 1);
            long[] idx = {4, 0, 4, 2};
            Ref rows = Ref.zeros(4, 5), cols = Ref.zeros(6, 4);
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 5; j++) rows.set(v.get(idx[i], j), i, j);
                for (int j = 0; j < 6; j++) cols.set(v.get(j, idx[i]), j, i);
            }
            assertExact(Layers.indexSelect(t, 0, Tensor.of(idx, 4)), rows, "aten::index_select dim 0");
            assertExact(Layers.indexSelect(t, 1, Tensor.of(idx, 4)), cols, "aten::index_select dim 1");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void gatherAlongEachDimension(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var base = randn(111, 1, dtype, 6, 4);
            Tensor t = base.tensor().transpose(0, 1); // (4, 6), strided
            Ref v = base.values().transpose(0, 1);
            // dim 1: out[i][j] = t[i][index[i][j]]
            long[] idx1 = {5, 0, 5, 1, 2, 3, 0, 0, 4, 3, 2, 1};
            Ref byCol = Ref.zeros(4, 3);
            for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) byCol.set(v.get(i, idx1[i * 3 + j]), i, j);
            assertExact(Layers.gather(t, 1, Tensor.of(idx1, 4, 3)), byCol, "aten::gather dim 1");
            // dim 0: out[i][j] = t[index[i][j]][j]
            long[] idx0 = {3, 2, 1, 0, 0, 1, 1, 1, 3, 3, 2, 0};
            Ref byRow = Ref.zeros(2, 6);
            for (int i = 0; i < 2; i++) for (int j = 0; j < 6; j++) byRow.set(v.get(idx0[i * 6 + j], j), i, j);
            assertExact(Layers.gather(t, 0, Tensor.of(idx0, 2, 6)), byRow, "aten::gather dim 0");
        }
    }

    // ================================================================ aten::_fused_rms_norm and its composed backward

    private static final double EPS = 1e-5;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void fusedRmsNormOutputAndRstd(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(120, 2, dtype, 3, 4, 8);
            var w = randn(121, 1, dtype, 8);
            Layers.RmsNormResult r = Layers.rmsNorm(x.tensor(), w.tensor(), EPS);
            Ref[] expected = LayerRef.rmsNorm(x.values(), w.values(), EPS);
            assertThat(r.output().dtype()).isEqualTo(dtype);
            assertClose(r.output(), expected[0], dtype, "aten::_fused_rms_norm output");
            // rstd is computed in float32 (the op math type of bf16) and kept there.
            assertThat(r.rstd().dtype()).isEqualTo(DType.F32);
            assertClose(r.rstd(), expected[1], DType.F32, "aten::_fused_rms_norm rstd (" + dtype + " inputs)");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void fusedRmsNormOfAStridedInput(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // The normalised (last) dimension has stride 4 here.
            var base = randn(122, 2, dtype, 3, 8, 4);
            var w = randn(123, 1, dtype, 8);
            Tensor x = base.tensor().transpose(1, 2);
            Ref[] expected = LayerRef.rmsNorm(base.values().transpose(1, 2), w.values(), EPS);
            Layers.RmsNormResult r = Layers.rmsNorm(x, w.tensor(), EPS);
            assertClose(r.output(), expected[0], dtype, "aten::_fused_rms_norm(strided x) output");
            assertClose(r.rstd(), expected[1], DType.F32, "aten::_fused_rms_norm(strided x) rstd (" + dtype + " inputs)");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void rmsNormBackwardMatchesTheAnalyticGradient(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(130, 2, dtype, 3, 4, 8);
            var w = randn(131, 1, dtype, 8);
            var g = randn(132, 1, dtype, 3, 4, 8);
            Layers.RmsNormResult fwd = Layers.rmsNorm(x.tensor(), w.tensor(), EPS);
            RmsNorm.Grads grads = RmsNorm.grads(g.tensor(), x.tensor(), fwd.rstd(), w.tensor());
            Ref[] expected = LayerRef.rmsNormBackward(g.values(), x.values(), w.values(), EPS);
            assertThat(grads.input().dtype()).isEqualTo(dtype);
            assertThat(grads.weight().dtype()).isEqualTo(dtype);
            // Computed in float32 and rounded once to bf16; dw sums 12 rows, so its bf16 values are larger
            // and the relative part of the bf16 tolerance covers them.
            assertClose(grads.input(), expected[0], dtype, "rms_norm backward dx (composed)");
            assertClose(grads.weight(), expected[1], dtype, "rms_norm backward dw (composed)");
        }
    }

    @Test
    void rmsNormBackwardInFloat64MatchesAnalyticGradientAndFiniteDifferences() {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(140, 2, DType.F64, 2, 3, 6);
            var w = randn(141, 1, DType.F64, 6);
            var g = randn(142, 1, DType.F64, 2, 3, 6);
            Layers.RmsNormResult fwd = Layers.rmsNorm(x.tensor(), w.tensor(), EPS);
            RmsNorm.Grads grads = RmsNorm.grads(g.tensor(), x.tensor(), fwd.rstd(), w.tensor());
            assertThat(grads.input().dtype()).isEqualTo(DType.F64);

            // 1. The analytic derivative, in double: a float64 backward must be float64-accurate.
            Ref[] analytic = LayerRef.rmsNormBackward(g.values(), x.values(), w.values(), EPS);
            assertClose(grads.input(), analytic[0], 1e-12, 1e-10, "rms_norm backward dx f64 vs analytic");
            assertClose(grads.weight(), analytic[1], 1e-12, 1e-10, "rms_norm backward dw f64 vs analytic");

            // 2. Central differences of L = Σ g·y through libtorch's own float64 forward, so the backward is
            //    checked against the forward it belongs to. h = 1e-5: truncation ~h² and rounding ~1e-16/h,
            //    both far below the 1e-8 allowed.
            Ref gv = g.values();
            Ref wv = w.values().map(v -> v), xv = x.values().map(v -> v);
            Ref fdX = LayerRef.gradient(xv, 1e-5, xp -> lossOfLibtorchRmsNorm(xp, wv, gv));
            Ref fdW = LayerRef.gradient(wv, 1e-5, wp -> lossOfLibtorchRmsNorm(xv, wp, gv));
            assertClose(grads.input(), fdX, 1e-8, 1e-7, "rms_norm backward dx f64 vs finite differences");
            assertClose(grads.weight(), fdW, 1e-8, 1e-7, "rms_norm backward dw f64 vs finite differences");
        }
    }

    /** Σ g · rms_norm(x, w) with the forward run by libtorch in float64. */
    private static double lossOfLibtorchRmsNorm(Ref x, Ref w, Ref g) {
        try (TensorScope inner = TensorScope.open()) {
            Tensor y = Layers.rmsNorm(x.toTensor(DType.F64), w.toTensor(DType.F64), EPS).output();
            return LayerRef.dot(Ref.of(y), g);
        }
    }

    // ================================================================ aten::_log_softmax, _log_softmax_backward_data, _softmax

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void logSoftmaxAlongLastAndFirstDimension(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(150, 3, dtype, 4, 7);
            assertClose(Layers.logSoftmax(x.tensor(), -1), LayerRef.logSoftmax(x.values(), -1), dtype, "aten::_log_softmax dim -1");
            assertClose(Layers.logSoftmax(x.tensor(), 0), LayerRef.logSoftmax(x.values(), 0), dtype, "aten::_log_softmax dim 0");
            // A strided input: the reduced dimension has stride 4.
            Tensor xt = x.tensor().transpose(0, 1);
            assertClose(Layers.logSoftmax(xt, -1), LayerRef.logSoftmax(x.values().transpose(0, 1), -1), dtype, "aten::_log_softmax(xᵀ) dim -1");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void softmaxAlongLastAndFirstDimension(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(151, 3, dtype, 4, 7);
            assertClose(Layers.softmax(x.tensor(), -1), LayerRef.softmax(x.values(), -1), dtype, "aten::_softmax dim -1");
            assertClose(Layers.softmax(x.tensor(), 0), LayerRef.softmax(x.values(), 0), dtype, "aten::_softmax dim 0");
            Tensor xt = x.tensor().transpose(0, 1);
            assertClose(Layers.softmax(xt, -1), LayerRef.softmax(x.values().transpose(0, 1), -1), dtype, "aten::_softmax(xᵀ) dim -1");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void logSoftmaxBackwardData(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(152, 3, dtype, 4, 7);
            var g = randn(153, 1, dtype, 4, 7);
            for (int dim : new int[]{-1, 0}) {
                Tensor out = Layers.logSoftmax(x.tensor(), dim);
                // The backward is a function of (grad, output): dx = g − exp(out)·Σ_dim g, evaluated on the
                // output values the op really received.
                Ref o = Ref.of(out), gv = g.values();
                Ref sums = LayerRef.alongDim(gv, dim, row -> {
                    double t = 0;
                    for (double v : row) t += v;
                    double[] r = new double[row.length];
                    java.util.Arrays.fill(r, t);
                    return r;
                });
                Ref expected = Ref.zeros(o.shape);
                for (int i = 0; i < o.data.length; i++) expected.data[i] = gv.data[i] - Math.exp(o.data[i]) * sums.data[i];
                assertClose(Layers.logSoftmaxBackward(g.tensor(), out, dim), expected, dtype, "aten::_log_softmax_backward_data dim " + dim);
            }
        }
    }

    @Test
    void logSoftmaxBackwardMatchesFiniteDifferencesInFloat64() {
        try (TensorScope s = TensorScope.open()) {
            // Independent of the formula above: L = Σ g·log_softmax(x), differentiated numerically in Java.
            var x = randn(154, 2, DType.F64, 3, 5);
            var g = randn(155, 1, DType.F64, 3, 5);
            Tensor dx = Layers.logSoftmaxBackward(g.tensor(), Layers.logSoftmax(x.tensor(), -1), -1);
            Ref fd = LayerRef.gradient(x.values().map(v -> v), 1e-5, xp -> LayerRef.dot(g.values(), LayerRef.logSoftmax(xp, -1)));
            assertClose(dx, fd, 1e-8, 1e-7, "aten::_log_softmax_backward_data f64 vs finite differences");
        }
    }

    // ================================================================ aten::nll_loss_forward, nll_loss_backward

    private static final long IGNORE = -100;
    /** Two rows ignored, so the mean divides by 4, not 6. */
    private static final long[] TARGETS = {2, IGNORE, 0, 4, IGNORE, 1};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void nllLossMeanSumAndNone(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var lp = randn(160, 2, dtype, 6, 5);
            Tensor targets = Tensor.of(TARGETS, 6);
            double sum = 0;
            Ref perRow = Ref.zeros(6);
            for (int i = 0; i < 6; i++) {
                if (TARGETS[i] == IGNORE) continue;
                perRow.data[i] = -lp.values().get(i, TARGETS[i]);
                sum += perRow.data[i];
            }

            Layers.NllResult mean = Layers.nllLoss(lp.tensor(), targets, Layers.Reduction.MEAN, IGNORE);
            assertThat(mean.loss().dim()).isZero();
            assertClose(mean.loss(), new Ref(new long[0], new double[]{sum / 4}), dtype, "aten::nll_loss_forward mean");
            assertThat(mean.totalWeight().item()).as("total_weight counts the non-ignored rows").isEqualTo(4.0);

            Layers.NllResult total = Layers.nllLoss(lp.tensor(), targets, Layers.Reduction.SUM, IGNORE);
            assertClose(total.loss(), new Ref(new long[0], new double[]{sum}), dtype, "aten::nll_loss_forward sum");
            assertThat(total.totalWeight().item()).isEqualTo(4.0);

            Layers.NllResult none = Layers.nllLoss(lp.tensor(), targets, Layers.Reduction.NONE, IGNORE);
            assertThat(none.loss().shape()).containsExactly(6);
            // Ignored rows give exactly 0; the others are exact negations, so no rounding at all.
            assertExact(none.loss(), perRow, "aten::nll_loss_forward none");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void nllLossOfAStridedInput(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var base = randn(161, 2, dtype, 5, 6);
            Tensor lp = base.tensor().transpose(0, 1); // (6, 5), strided
            Ref v = base.values().transpose(0, 1);
            double sum = 0;
            for (int i = 0; i < 6; i++) if (TARGETS[i] != IGNORE) sum -= v.get(i, TARGETS[i]);
            Layers.NllResult mean = Layers.nllLoss(lp, Tensor.of(TARGETS, 6), Layers.Reduction.MEAN, IGNORE);
            assertClose(mean.loss(), new Ref(new long[0], new double[]{sum / 4}), dtype, "aten::nll_loss_forward(strided) mean");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void nllLossBackwardForEachReduction(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var lp = randn(162, 2, dtype, 6, 5);
            Tensor targets = Tensor.of(TARGETS, 6);
            double g = Ref.round(0.7, dtype);
            Tensor gScalar = Tensor.scalar(0.7).to(dtype);
            var gRows = randn(163, 1, dtype, 6);

            for (Layers.Reduction reduction : Layers.Reduction.values()) {
                Layers.NllResult fwd = Layers.nllLoss(lp.tensor(), targets, reduction, IGNORE);
                Tensor gradOut = reduction == Layers.Reduction.NONE ? gRows.tensor() : gScalar;
                Tensor grad = Layers.nllLossBackward(gradOut, lp.tensor(), targets, reduction, IGNORE, fwd.totalWeight());
                // d loss / d lp[i][t_i] = −g (sum), −g / 4 (mean), −g_i (none); every other entry and ignored rows 0.
                Ref expected = Ref.zeros(6, 5);
                for (int i = 0; i < 6; i++) {
                    if (TARGETS[i] == IGNORE) continue;
                    double d = switch (reduction) {
                        case SUM -> -g;
                        case MEAN -> -g / 4;
                        case NONE -> -gRows.values().data[i];
                    };
                    expected.set(d, i, TARGETS[i]);
                }
                // These are exact in binary (a negation and a division by 4), so compare exactly.
                assertExact(grad, expected, "aten::nll_loss_backward " + reduction);
            }
        }
    }

    // ================================================================ aten::_scaled_dot_product_flash_attention_for_cpu (+ backward)

    /**
     * (B, H, L, E) inputs built the way a model makes them: a (B, L, H, E) tensor transposed, so the
     * kernel sees strided q, k and v.
     */
    private static RefMath.Input heads(long seed, DType dtype, long b, long h, long l, long e) {
        var blhe = randn(seed, 1, dtype, b, l, h, e);
        return new RefMath.Input(blhe.tensor().transpose(1, 2), blhe.values().transpose(1, 2));
    }

    /**
     * logsumexp is float32 for every input dtype. For bf16 inputs libtorch's CPU flash kernel evaluates
     * exp with a fast approximation ({@code fexp_u20}, relative error ~1e-4) instead of the float32 exp it
     * uses for float32 inputs, so its logsumexp is off by up to ~1e-4 absolute (observed 6e-5 even for a
     * causal first row, where lse is a single score): allow 5e-4, still 20 times tighter than the bf16
     * tolerance and far below any error a wrong scale, mask or sign would make.
     */
    private static void assertLogSumExp(Tensor actual, Ref expected, DType inputDtype, String what) {
        assertThat(actual.dtype()).as(what + " dtype").isEqualTo(DType.F32);
        String label = what + " (" + inputDtype + " inputs)";
        if (inputDtype == DType.BF16) assertClose(actual, expected, 5e-4, 1e-5, label);
        else assertClose(actual, expected, DType.F32, label);
    }

    private static double scaleOf(Double scale, long e) {
        return scale == null ? 1 / Math.sqrt(e) : scale;
    }

    enum AttentionCase {
        NON_CAUSAL_DEFAULT_SCALE(false, null), NON_CAUSAL_EXPLICIT_SCALE(false, 0.3),
        CAUSAL_DEFAULT_SCALE(true, null), CAUSAL_EXPLICIT_SCALE(true, 0.3);

        final boolean causal;
        final Double scale;

        AttentionCase(boolean causal, Double scale) {
            this.causal = causal;
            this.scale = scale;
        }
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void flashAttentionForwardFloat32(AttentionCase c) {
        flashAttentionForward(c, DType.F32);
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void flashAttentionForwardBfloat16(AttentionCase c) {
        flashAttentionForward(c, DType.BF16);
    }

    /** The matmul kernel CUDA uses for f32/f64, run on the CPU against the same double-precision reference. */
    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void mathAttentionForward(AttentionCase c) {
        try (TensorScope s = TensorScope.open()) {
            for (DType dtype : new DType[]{DType.F32, DType.F64}) {
                var q = heads(200, dtype, 2, 2, 37, 8);
                var k = heads(201, dtype, 2, 2, 37, 8);
                var v = heads(202, dtype, 2, 2, 37, 8);
                Layers.AttentionResult r = Attention.scaledDotProduct(q.tensor(), k.tensor(), v.tensor(), c.causal, c.scale, Layers.AttentionKernel.MATH);
                Ref[] expected = LayerRef.attention(q.values(), k.values(), v.values(), c.causal, scaleOf(c.scale, 8));
                assertThat(r.kernel()).isEqualTo(Layers.AttentionKernel.MATH);
                assertClose(r.output(), expected[0], dtype, "math attention output " + c + " " + dtype);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void mathAttentionBackward(AttentionCase c) {
        attentionBackward(c, DType.F32, Layers.AttentionKernel.MATH);
        attentionBackward(c, DType.F64, Layers.AttentionKernel.MATH);
    }

    @Test
    void attentionKernelRefusesAnotherDevicesKernel() {
        try (TensorScope s = TensorScope.open()) {
            Tensor q = Tensor.zeros(DType.BF16, Device.CPU, 1, 1, 2, 4);
            assertThat(Layers.AttentionKernel.of(q)).isEqualTo(Layers.AttentionKernel.CPU_FLASH);
            assertThatThrownBy(() -> Attention.scaledDotProduct(q, q, q, true, null, Layers.AttentionKernel.CUDA_FLASH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CUDA_FLASH");
        }
    }

    private static void flashAttentionForward(AttentionCase c, DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // Enough keys (37) that the kernel's key blocks and its running (online) softmax are exercised.
            long b = 2, h = 2, l = 37, e = 8;
            var q = heads(200, dtype, b, h, l, e);
            var k = heads(201, dtype, b, h, l, e);
            var v = heads(202, dtype, b, h, l, e);
            Layers.AttentionResult r = Attention.scaledDotProduct(q.tensor(), k.tensor(), v.tensor(), c.causal, c.scale);
            Ref[] expected = LayerRef.attention(q.values(), k.values(), v.values(), c.causal, scaleOf(c.scale, e));
            assertThat(r.output().dtype()).isEqualTo(dtype);
            assertClose(r.output(), expected[0], dtype, "flash attention output " + c);
            // logsumexp: the natural log of Σ exp(scaled scores), per query.
            assertThat(r.saved().shape()).containsExactly(b, h, l);
            assertLogSumExp(r.saved(), expected[1], dtype, "flash attention logsumexp " + c);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void flashAttentionAcrossSeveralKeyBlocks(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // 530 keys: more than one 512-key block, so the running max and sum are rescaled between blocks;
            // causal, so the mask crosses a block boundary too.
            long l = 530;
            var q = heads(220, dtype, 1, 1, l, 4);
            var k = heads(221, dtype, 1, 1, l, 4);
            var v = heads(222, dtype, 1, 1, l, 4);
            for (boolean causal : new boolean[]{false, true}) {
                Layers.AttentionResult r = Attention.scaledDotProduct(q.tensor(), k.tensor(), v.tensor(), causal, null);
                Ref[] expected = LayerRef.attention(q.values(), k.values(), v.values(), causal, 0.5);
                assertClose(r.output(), expected[0], dtype, "flash attention L=530 causal=" + causal + " output");
                assertLogSumExp(r.saved(), expected[1], dtype, "flash attention L=530 causal=" + causal + " logsumexp");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void flashAttentionWithMoreKeysThanQueries(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var q = heads(210, dtype, 1, 2, 3, 4);
            var k = heads(211, dtype, 1, 2, 9, 4);
            var v = heads(212, dtype, 1, 2, 9, 4);
            Layers.AttentionResult r = Attention.scaledDotProduct(q.tensor(), k.tensor(), v.tensor(), false, null);
            Ref[] expected = LayerRef.attention(q.values(), k.values(), v.values(), false, 0.5);
            assertClose(r.output(), expected[0], dtype, "flash attention Lq=3 Lk=9 output");
            assertLogSumExp(r.saved(), expected[1], dtype, "flash attention Lq=3 Lk=9 logsumexp");
        }
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void flashAttentionBackwardFloat32(AttentionCase c) {
        flashAttentionBackward(c, DType.F32);
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void flashAttentionBackwardBfloat16(AttentionCase c) {
        flashAttentionBackward(c, DType.BF16);
    }

    @ParameterizedTest
    @EnumSource(AttentionCase.class)
    void flashAttentionBackwardFloat64(AttentionCase c) {
        flashAttentionBackward(c, DType.F64);
    }

    /**
     * Gradients of L = Σ gradOut · attention(q, k, v) from the op, against central differences of the
     * double-precision Java attention at the exact input values (h = 1e-5: error ~1e-10, so float64 can
     * be held to 1e-8); float32 and bf16 use their plain tolerances.
     */
    private static void flashAttentionBackward(AttentionCase c, DType dtype) {
        attentionBackward(c, dtype, Layers.AttentionKernel.CPU_FLASH);
    }

    private static void attentionBackward(AttentionCase c, DType dtype, Layers.AttentionKernel kernel) {
        double[] tol = dtype == DType.F64 ? new double[]{1e-8, 1e-7} : Ref.tolerance(dtype);
        double atol = tol[0], rtol = tol[1];
        try (TensorScope s = TensorScope.open()) {
            // 37 queries: more than one of the kernel's 32-query blocks.
            long b = 1, h = 2, l = 37, e = 4;
            var q = heads(300, dtype, b, h, l, e);
            var k = heads(301, dtype, b, h, l, e);
            var v = heads(302, dtype, b, h, l, e);
            var gradOut = randn(303, 1, dtype, b, h, l, e);
            Layers.AttentionResult fwd = Attention.scaledDotProduct(q.tensor(), k.tensor(), v.tensor(), c.causal, c.scale, kernel);
            Layers.AttentionGrads grads = Attention.scaledDotProductBackward(gradOut.tensor(), q.tensor(), k.tensor(), v.tensor(), fwd, c.causal, c.scale);

            double scale = scaleOf(c.scale, e);
            Ref qv = q.values(), kv = k.values(), vv = v.values(), gv = gradOut.values();
            Ref dq = LayerRef.gradient(qv, 1e-5, x -> LayerRef.dot(gv, LayerRef.attention(x, kv, vv, c.causal, scale)[0]));
            Ref dk = LayerRef.gradient(kv, 1e-5, x -> LayerRef.dot(gv, LayerRef.attention(qv, x, vv, c.causal, scale)[0]));
            Ref dv = LayerRef.gradient(vv, 1e-5, x -> LayerRef.dot(gv, LayerRef.attention(qv, kv, x, c.causal, scale)[0]));
            assertClose(grads.query(), dq, atol, rtol, kernel + " attention backward dq " + c);
            assertClose(grads.key(), dk, atol, rtol, kernel + " attention backward dk " + c);
            assertClose(grads.value(), dv, atol, rtol, kernel + " attention backward dv " + c);
        }
    }
}
