package dev.fullshard.model;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

/**
 * Rotary position embeddings in Hugging Face's "rotate_half" layout: the head dimension is split into
 * halves (x1, x2), and y = x·cos + rotate_half(x)·sin with rotate_half(x) = (−x2, x1). Frequency j and
 * j + hd/2 share one angle, so cos and sin are the per-position tables repeated twice.
 */
public final class Rotary {
    private Rotary() {
    }

    /** cos and sin of every (position, channel), shape (T, 1, hd): they broadcast over batch and heads. */
    public record Tables(Tensor cos, Tensor sin) {
    }

    /**
     * Inverse frequencies θ^(−2j/hd), j < hd/2, with Llama 3's rope_scaling applied as Hugging Face's
     * {@code _compute_llama3_parameters} does: wavelengths above original_max/low_freq_factor are divided
     * by factor, those below original_max/high_freq_factor are kept, and those in between are interpolated
     * linearly in (original_max/wavelength). Computed in double (Hugging Face uses float32).
     */
    public static double[] inverseFrequencies(ModelConfig c) {
        int half = c.headDim() / 2;
        double[] inv = new double[half];
        for (int j = 0; j < half; j++) inv[j] = 1.0 / Math.pow(c.ropeTheta(), (2.0 * j) / c.headDim());
        ModelConfig.RopeScaling s = c.ropeScaling();
        if (s == null) return inv;
        double oldContext = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContext / s.lowFreqFactor(), highFreqWavelen = oldContext / s.highFreqFactor();
        for (int j = 0; j < half; j++) {
            double wavelen = 2 * Math.PI / inv[j];
            if (wavelen > lowFreqWavelen) inv[j] = inv[j] / s.factor();
            else if (wavelen >= highFreqWavelen) {
                double smooth = (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                inv[j] = (1 - smooth) * inv[j] / s.factor() + smooth * inv[j];
            }
        }
        return inv;
    }

    /** Tables for positions 0..seqLen-1 on the CPU, computed in double and rounded once to {@code dtype}. */
    public static Tables tables(ModelConfig c, long seqLen, DType dtype) {
        return tables(c, seqLen, dtype, Device.CPU);
    }

    /** Tables for positions 0..seqLen-1 on {@code device}, computed in double and rounded once to {@code dtype}. */
    public static Tables tables(ModelConfig c, long seqLen, DType dtype, Device device) {
        int hd = c.headDim(), half = hd / 2;
        double[] inv = inverseFrequencies(c);
        double[] cos = new double[Math.toIntExact(seqLen * hd)], sin = new double[cos.length];
        for (int t = 0; t < seqLen; t++) {
            for (int j = 0; j < half; j++) {
                double angle = t * inv[j];
                cos[t * hd + j] = cos[t * hd + j + half] = Math.cos(angle);
                sin[t * hd + j] = sin[t * hd + j + half] = Math.sin(angle);
            }
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor c64 = Tensor.of(cos, seqLen, 1, hd), s64 = Tensor.of(sin, seqLen, 1, hd);
            return new Tables(scope.keep(Copies.toCopy(c64, dtype, device)), scope.keep(Copies.toCopy(s64, dtype, device)));
        }
    }

    /** x (B, T, heads, hd) -> x·cos + rotate_half(x)·sin (B, T, heads, hd). */
    public static Tensor forward(Tensor x, Tables t) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(Elementwise.add(Elementwise.mul(x, t.cos()), Elementwise.mul(rotateHalf(x), t.sin())));
        }
    }

    /**
     * g (B, T, heads, hd) -> dx = g·cos − rotate_half(g·sin): the rotation is linear and rotate_half's
     * transpose is −rotate_half ((u1, u2) ↦ (u2, −u1)).
     */
    public static Tensor backward(Tensor grad, Tables t) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(Elementwise.sub(Elementwise.mul(grad, t.cos()), rotateHalf(Elementwise.mul(grad, t.sin()))));
        }
    }

    /** (x1, x2) ↦ (−x2, x1) over the last dimension. */
    private static Tensor rotateHalf(Tensor x) {
        int last = x.dim() - 1;
        long half = x.size(last) / 2;
        Tensor x1 = x.narrow(last, 0, half), x2 = x.narrow(last, half, half);
        return Copies.cat(last, Elementwise.neg(x2), x1);
    }
}
