package dev.fullshard.model;

import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

/**
 * The fused, chunked LM head + cross-entropy against a plain Java double-precision cross-entropy with
 * label smoothing (loss and both gradients), for several chunk sizes; and the loss of bfloat16 and
 * float16 compute against float32 compute.
 */
@ExtendWith(NoLeakedTensors.class)
class ModelLossTest {
    private static final int N = 11, D = 6, V = 13;
    /** Three ignored targets among 11. */
    private static final long[] TARGETS = {4, -100, 0, 12, 12, -100, 2, 7, -100, 1, 9};

    /** Loss sum, dL/dh and dL/dW of L = Σℓ / divisor, from the definitions, in double. */
    private record JavaCrossEntropy(double sum, long count, double[] dh, double[] dw) {
        static JavaCrossEntropy of(double[] h, double[] w, long[] targets, double eps, double divisor) {
            double sum = 0;
            long count = 0;
            double[] dh = new double[N * D], dw = new double[V * D];
            for (int i = 0; i < N; i++) {
                if (targets[i] == -100) continue;
                count++;
                double[] logits = new double[V];
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    for (int k = 0; k < D; k++) logits[v] += h[i * D + k] * w[v * D + k];
                    max = Math.max(max, logits[v]);
                }
                double z = 0;
                for (double l : logits) z += Math.exp(l - max);
                double lse = max + Math.log(z), meanNegLogp = 0;
                for (int v = 0; v < V; v++) meanNegLogp += (lse - logits[v]) / V;
                sum += (1 - eps) * (lse - logits[(int) targets[i]]) + eps * meanNegLogp;
                for (int v = 0; v < V; v++) {
                    double g = (Math.exp(logits[v] - lse) - eps / V - (v == targets[i] ? 1 - eps : 0)) / divisor;
                    for (int k = 0; k < D; k++) {
                        dh[i * D + k] += g * w[v * D + k];
                        dw[v * D + k] += g * h[i * D + k];
                    }
                }
            }
            return new JavaCrossEntropy(sum, count, dh, dw);
        }
    }

    @ParameterizedTest
    @CsvSource({"F64, 0.0", "F64, 0.1", "F32, 0.0", "F32, 0.1", "F64, 1.0"})
    void everyChunkSizeGivesTheReferenceLossAndGradients(DType dtype, double eps) {
        double tol = dtype == DType.F64 ? 1e-13 : 2e-6;
        try (TensorScope s = TensorScope.open()) {
            Tensor h = Tensor.randn(51, DType.F64, Device.CPU, N, D).to(dtype);
            Tensor w = Elementwise.mul(Tensor.randn(52, DType.F64, Device.CPU, V, D), 0.7).to(dtype);
            Tensor targets = Tensor.of(TARGETS, N);
            JavaCrossEntropy ref = JavaCrossEntropy.of(h.toDoubleArray(), w.toDoubleArray(), TARGETS, eps, 8.0);
            assertThat(ref.count()).isEqualTo(8);
            double worstLoss = 0, worstGrad = 0;
            for (int chunk : new int[]{1, 3, 4, N, 64}) {
                Tensor dw = Tensor.zeros(dtype, Device.CPU, V, D);
                CrossEntropy.Result r = CrossEntropy.forwardBackward(h, w, targets, eps, chunk, 8.0, dw);
                assertThat(r.loss().tokens()).isEqualTo(8);
                assertThat(r.loss().sum()).as("loss sum, chunk " + chunk).isCloseTo(ref.sum(), offset(tol * Math.abs(ref.sum())));
                assertThat(CrossEntropy.forward(h, w, targets, eps, chunk).sum()).isCloseTo(ref.sum(), offset(tol * Math.abs(ref.sum())));
                worstLoss = Math.max(worstLoss, Math.abs(r.loss().sum() - ref.sum()));
                worstGrad = Math.max(worstGrad, maxAbsDiff(r.dHidden().toDoubleArray(), ref.dh(), "dh, chunk " + chunk, tol));
                worstGrad = Math.max(worstGrad, maxAbsDiff(dw.toDoubleArray(), ref.dw(), "dW, chunk " + chunk, tol));
            }
            System.out.printf("[max-error] %-64s %-4s loss %.3e, gradients %.3e%n", "chunked cross-entropy vs Java (eps " + eps + ")", dtype, worstLoss, worstGrad);
        }
    }

    private static double maxAbsDiff(double[] a, double[] b, String what, double tol) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double err = Math.abs(a[i] - b[i]);
            if (err > tol * (1 + Math.abs(b[i]))) throw new AssertionError(what + "[" + i + "]: " + a[i] + ", expected " + b[i]);
            worst = Math.max(worst, err);
        }
        return worst;
    }

    /** Rows whose target is ignored get a zero gradient; a chunk of only ignored rows is fine. */
    @Test
    void ignoredRowsGetNoGradient() {
        try (TensorScope s = TensorScope.open()) {
            Tensor h = Tensor.randn(53, DType.F64, Device.CPU, 4, D), w = Tensor.randn(54, DType.F64, Device.CPU, V, D);
            Tensor dw = Tensor.zeros(DType.F64, Device.CPU, V, D);
            CrossEntropy.Result r = CrossEntropy.forwardBackward(h, w, Tensor.of(new long[]{-100, -100, 3, -100}, 4), 0.2, 2, 1.0, dw);
            double[] dh = r.dHidden().toDoubleArray();
            for (int i = 0; i < dh.length; i++) if (i / D != 2) assertThat(dh[i]).isZero();
            assertThat(r.loss().tokens()).isEqualTo(1);
            assertThatThrownBy(() -> CrossEntropy.forward(h, w, Tensor.of(new long[]{0, 13, 0, 0}, 4), 0, 2))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target 13 at position 1 is outside the vocabulary [0, 13)");
        }
    }

    /**
     * Half-precision compute from float32 parameters against float32 compute, on the same model and
     * batch. The loss is ln-scale (≈ 4.3 here) and each half-precision step rounds relative 2⁻⁹ (bf16) or
     * 2⁻¹² (f16): the loss agrees to 1% (bf16) and 0.2% (f16), gradients (relative L2 norm of the
     * difference, per tensor) to 10% and 2%. Observed values are printed.
     */
    @ParameterizedTest
    @CsvSource({"BF16, 0.01, 0.10", "F16, 0.002, 0.02"})
    void halfPrecisionLossIsCloseToFloat32(DType half, double lossTol, double gradTol) {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 55, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 56, 2, 16), targets = TinyModels.targets(c, 57, 2, 16);
            CausalLm.Options options = CausalLm.Options.defaults().withLossChunkTokens(8).withLabelSmoothing(0.1);
            Parameters g32 = Parameters.zeros(c, DType.F32), gHalf = Parameters.zeros(c, DType.F32);
            double loss32 = new CausalLm(p, options).forwardBackward(tokens, targets, g32).value();
            double lossHalf = new CausalLm(p, options.withComputeDtype(half)).forwardBackward(tokens, targets, gHalf).value();
            double relLoss = Math.abs(lossHalf - loss32) / loss32, worstGrad = 0;
            String worstName = "";
            for (Map.Entry<String, Tensor> e : g32.asMap().entrySet()) {
                double[] a = e.getValue().toDoubleArray(), b = gHalf.get(e.getKey()).toDoubleArray();
                double diff = 0, norm = 0;
                for (int i = 0; i < a.length; i++) {
                    diff += (a[i] - b[i]) * (a[i] - b[i]);
                    norm += a[i] * a[i];
                }
                double rel = Math.sqrt(diff / norm);
                if (rel > worstGrad) {
                    worstGrad = rel;
                    worstName = e.getKey();
                }
            }
            System.out.printf("[max-error] %-64s loss f32 %.6f %s %.6f (rel %.2e); worst gradient rel L2 %.2e (%s)%n",
                    half + " compute vs f32 (model LLAMA_UNTIED)", loss32, half, lossHalf, relLoss, worstGrad, worstName);
            assertThat(relLoss).isLessThan(lossTol);
            assertThat(worstGrad).isLessThan(gradTol);
            for (Tensor g : gHalf.asMap().values()) assertThat(g.dtype()).as("gradients stay in the buffers' dtype").isEqualTo(DType.F32);
        }
    }
}
