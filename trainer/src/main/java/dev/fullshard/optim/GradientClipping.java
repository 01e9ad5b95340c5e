package dev.fullshard.optim;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.OptimizerKernels;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Map;

/**
 * Gradient clipping by global L2 norm, as PyTorch's {@code clip_grad_norm_}: every gradient is
 * multiplied by min(1, maxNorm / (norm + 1e-6)), where norm is the L2 norm of all gradients
 * concatenated. Gradients must already be unscaled (fp16: {@link LossScaler#unscaleAndCheck} first).
 */
public final class GradientClipping {
    /** PyTorch's {@code clip_grad_norm_} adds this to the norm so a zero norm does not divide by zero. */
    static final double NORM_EPS = 1e-6;

    private GradientClipping() {
    }

    /**
     * The global L2 norm: √Σᵢ‖gᵢ‖². Each ‖gᵢ‖ is computed by libtorch in the gradient's dtype; the
     * squares are summed in double here, so millions of parameters in many tensors lose no precision
     * to a float32 sum. One device-to-host read for all tensors (the norms are stacked first), since
     * a read per tensor would synchronise the GPU hundreds of times. 0 for no gradients.
     */
    public static double globalNorm(Map<String, Tensor> grads) {
        return Math.sqrt(sumOfSquares(grads));
    }

    /** Σᵢ‖gᵢ‖², as {@link #globalNorm} computes it: one rank's share of the global norm's square when gradients are sharded. */
    public static double sumOfSquares(Map<String, Tensor> grads) {
        if (grads.isEmpty()) return 0;
        try (TensorScope scope = TensorScope.open()) {
            Tensor[] norms = new Tensor[grads.size()];
            int i = 0;
            for (Tensor g : grads.values()) norms[i++] = Reductions.norm(g, false, allDims(g)).to(DType.F64);
            double sumSquares = 0;
            for (double n : Copies.stack(0, norms).toDoubleArray()) sumSquares += n * n;
            return sumSquares;
        }
    }

    /**
     * Clips {@code grads} in place to global L2 norm {@code maxNorm} and returns the norm before
     * clipping. Below the threshold (coefficient ≥ 1) nothing is written. When the norm is not finite
     * (an inf or NaN gradient) it is returned and the gradients are left alone, unlike PyTorch, which
     * would multiply them by 0 or NaN: the caller must check the result and skip the step.
     */
    public static double clipGlobalNorm(Map<String, Tensor> grads, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("max grad norm must be finite and > 0, got " + maxNorm + " (to report the norm without clipping, use globalNorm)");
        }
        return clip(grads, globalNorm(grads), maxNorm);
    }

    /**
     * {@link #clipGlobalNorm} for gradients whose global {@code norm} was computed elsewhere (over every
     * rank's shard): scales {@code grads} in place when needed and returns {@code norm}.
     */
    public static double clip(Map<String, Tensor> grads, double norm, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) throw new IllegalArgumentException("max grad norm must be finite and > 0, got " + maxNorm);
        if (!Double.isFinite(norm) || grads.isEmpty()) return norm;
        double coefficient = maxNorm / (norm + NORM_EPS);
        if (coefficient < 1) {
            Tensor[] all = grads.values().toArray(Tensor[]::new);
            // On the gradients' device, as clip_grad_norm_ does, so the fused foreach kernel can be used.
            try (Tensor factor = Tensor.full(coefficient, DType.F32, all[0].device())) {
                OptimizerKernels.multiplyAll(all, factor);
            }
        }
        return norm;
    }

    private static int[] allDims(Tensor t) {
        int[] dims = new int[t.dim()];
        for (int d = 0; d < dims.length; d++) dims[d] = d;
        return dims;
    }
}
