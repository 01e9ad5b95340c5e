package dev.fullshard.model;

import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

/** y = x·Wᵀ + b, with W (out, in) as Hugging Face and PyTorch store it. */
public final class Linear {
    private Linear() {
    }

    /** x (N, in), w (out, in), b (out) or null -> y (N, out). */
    public static Tensor forward(Tensor x, Tensor weight, Tensor bias) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor y = Matmul.mm(x, weight.transpose(0, 1));                      // (N, out)
            if (bias != null) y = Elementwise.add(y, bias);                             // b broadcast over rows
            return scope.keep(y);
        }
    }

    /**
     * g (N, out) -> dx = g·W (N, in). Gradients are added INTO the caller's buffers: dW (out, in) += gᵀ·x,
     * db (out) += Σ_n g (db may be null when there is no bias). The buffers may have another dtype than
     * the computation (e.g. float32 buffers for a bfloat16 pass): the product is converted as it is added.
     * gᵀ·x is one (out, in) temporary in the compute dtype before it is added: {@code addmm_} would add in
     * place, but its alpha and beta are Scalars, which 2.10's dispatcher cannot pass.
     */
    public static Tensor backward(Tensor grad, Tensor x, Tensor weight, Tensor dWeight, Tensor dBias) {
        try (TensorScope scope = TensorScope.open()) {
            InPlace.accumulate(dWeight, Matmul.mm(grad.transpose(0, 1), x));          // (out, in)
            // Σ over rows in the buffer's dtype, so a float32 buffer gets a float32-accurate sum.
            if (dBias != null) InPlace.accumulate(dBias, Reductions.sum(grad, false, dBias.dtype(), 0)); // (out)
            return scope.keep(Matmul.mm(grad, weight));                            // (N, in)
        }
    }
}
