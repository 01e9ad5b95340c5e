package dev.fullshard.model;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Arrays;
import java.util.List;

import static dev.fullshard.tensor.Elementwise.mul;
import static dev.fullshard.tensor.Elementwise.sub;
import static dev.fullshard.tensor.Reductions.mean;
import static dev.fullshard.tensor.Reductions.sum;

/**
 * RMSNorm over the last dimension: y = x · r · w with r = 1/√(mean(x²) + eps).
 * Forward is libtorch's fused kernel; backward is composed here ({@link #grads}: 2.10 has no CPU
 * kernel for {@code _fused_rms_norm_backward}).
 */
public final class RmsNorm {
    private RmsNorm() {
    }

    /** What the backward needs: the input (the caller's) and r per row. */
    public record Saved(Tensor x, Tensor rstd) implements SavedTensors {
        @Override
        public List<Tensor> made() {
            return List.of(rstd);
        }
    }

    /** Output and saved state. */
    public record Result(Tensor output, Saved saved) {
    }

    /** x (..., D), w (D) -> y (..., D), rstd (..., 1). */
    public static Result forward(Tensor x, Tensor weight, double eps) {
        Layers.RmsNormResult r = Layers.rmsNorm(x, weight, eps);
        return new Result(r.output(), new Saved(x, r.rstd()));
    }

    /**
     * g (..., D) -> dx (..., D); dW (D) += Σ_rows g·x·r, into the caller's buffer.
     * dx = r·(g·w) − x·r³·mean(g·w·x): the second term is the gradient through r.
     */
    public static Tensor backward(Tensor grad, Saved saved, Tensor weight, Tensor dWeight) {
        try (TensorScope scope = TensorScope.open()) {
            Grads g = grads(grad, saved.x(), saved.rstd(), weight);
            InPlace.accumulate(dWeight, g.weight());
            return scope.keep(g.input());
        }
    }

    /** Gradients of an RMSNorm with respect to its input and its weight. */
    public record Grads(Tensor input, Tensor weight) {
    }

    /**
     * g (..., D), x (..., D), rstd (..., 1), w (D) -> dx (..., D), dw (D), in float32 (float64 for float64
     * inputs): with y = x·r·w and r = rstd, dx = r·(g·w) − x·r³·mean(g·w·x), dw = Σ_rows g·x·r.
     */
    public static Grads grads(Tensor gradOutput, Tensor x, Tensor rstd, Tensor weight) {
        if (!Arrays.equals(gradOutput.shape(), x.shape())) {
            throw new IllegalArgumentException("rms_norm backward: shapes differ: " + gradOutput.describe() + " vs " + x.describe());
        }
        try (TensorScope scope = TensorScope.open()) {
            DType compute = x.dtype() == DType.F64 ? DType.F64 : DType.F32;
            Tensor g = gradOutput.to(compute), xf = x.to(compute), r = rstd.to(compute), w = weight.to(compute);
            Tensor gw = mul(g, w);
            Tensor meanGwx = mean(mul(gw, xf), true, -1);
            Tensor r3 = mul(mul(r, r), r);
            Tensor dx = sub(mul(gw, r), mul(mul(xf, r3), meanGwx));
            int[] rows = new int[x.dim() - 1];
            for (int i = 0; i < rows.length; i++) rows[i] = i;
            Tensor gxr = mul(mul(g, xf), r);
            Tensor dw = rows.length == 0 ? gxr : sum(gxr, false, rows);
            return new Grads(scope.keep(dx.to(x.dtype())), scope.keep(dw.to(weight.dtype())));
        }
    }
}
