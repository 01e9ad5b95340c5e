package dev.fullshard.model;

import dev.fullshard.tensor.Ops;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.List;

/**
 * RMSNorm over the last dimension: y = x · r · w with r = 1/√(mean(x²) + eps).
 * Forward is libtorch's fused kernel; backward is composed ({@link Ops#rmsNormBackward}: 2.10 has no CPU
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
        Ops.RmsNormResult r = Ops.rmsNorm(x, weight, eps);
        return new Result(r.output(), new Saved(x, r.rstd()));
    }

    /**
     * g (..., D) -> dx (..., D); dW (D) += Σ_rows g·x·r, into the caller's buffer.
     * dx = r·(g·w) − x·r³·mean(g·w·x): the second term is the gradient through r.
     */
    public static Tensor backward(Tensor grad, Saved saved, Tensor weight, Tensor dWeight) {
        try (TensorScope scope = TensorScope.open()) {
            Ops.RmsNormGrads g = Ops.rmsNormBackward(grad, saved.x(), saved.rstd(), weight);
            Ops.accumulate(dWeight, g.weight());
            return scope.keep(g.input());
        }
    }
}
