package dev.fullshard.model;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Layers.AttentionGrads;
import dev.fullshard.tensor.Layers.AttentionKernel;
import dev.fullshard.tensor.Layers.AttentionResult;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

import static dev.fullshard.tensor.Elementwise.maskedFill;
import static dev.fullshard.tensor.Elementwise.mul;
import static dev.fullshard.tensor.Elementwise.sub;
import static dev.fullshard.tensor.Layers.softmax;
import static dev.fullshard.tensor.Matmul.matmul;

/**
 * Causal self-attention with grouped-query heads, as Hugging Face's Llama/Qwen2/Qwen3/Mistral compute it:
 * q/k/v projections (optional biases), optional per-head RMSNorm of q and k over head_dim (Qwen3),
 * rotary embeddings, softmax(q·kᵀ/√hd) over past positions, output projection.
 *
 * <p>H query heads share KV key/value heads in groups of G = H/KV: query head h reads KV head h / G.
 * The CPU flash kernel wants equal head counts, so forward repeats each KV head G times
 * (repeat_interleave) and backward sums the G repeated heads' gradients back onto their KV head.
 * Only the KV-head tensors are saved; the repeat is redone in backward (cheap, and G× smaller to keep).
 *
 * <p>Sliding-window attention (Mistral's {@code sliding_window}) is not implemented: a window only
 * changes the result when a sequence is longer than it, so such sequences are rejected with an error.
 */
public final class Attention {
    private Attention() {
    }

    /**
     * Weights (or their gradient buffers). Shapes: q (H·hd, D), k and v (KV·hd, D), o (D, H·hd); biases
     * (rows) or null; qNorm and kNorm (hd) or null.
     */
    public record Params(Tensor qProj, Tensor qBias, Tensor kProj, Tensor kBias, Tensor vProj, Tensor vBias,
                         Tensor oProj, Tensor oBias, Tensor qNorm, Tensor kNorm) {
    }

    /**
     * What backward needs. x (N, D) is the caller's input; q (B,H,T,hd) after norm and rotary; k, v
     * (B,KV,T,hd) before the repeat; attention output (B,H,T,hd) and what its kernel keeps for the backward; o (N, H·hd) the
     * input of o_proj; qNorm/kNorm the per-head norms' state, or null.
     */
    public record Saved(Tensor x, RmsNorm.Saved qNorm, RmsNorm.Saved kNorm, Tensor q, Tensor k, Tensor v,
                        AttentionResult attention, Tensor o) implements SavedTensors {
        @Override
        public List<Tensor> made() {
            List<Tensor> made = new ArrayList<>();
            if (qNorm != null) {                // the norms' inputs are the projections, made here
                made.addAll(List.of(qNorm.x(), kNorm.x()));
                made.addAll(qNorm.made());
                made.addAll(kNorm.made());
            }
            made.addAll(List.of(q, k, v, attention.output(), attention.saved(), o));
            return made;
        }
    }

    public record Result(Tensor output, Saved saved) {
    }

    /** x (N, D) with N = batch·T rows in (b, t) order -> (N, D). */
    public static Result forward(Tensor x, long batch, Params w, Rotary.Tables rope, ModelConfig c) {
        long n = x.size(0), seqLen = n / batch;
        if (x.dim() != 2 || n % batch != 0) throw new IllegalArgumentException("attention input must be (B·T, D) for B = " + batch + ", got " + x.describe());
        int h = c.numHeads(), kv = c.numKeyValueHeads(), hd = c.headDim();
        checkWindow(c, seqLen);
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Linear.forward(x, w.qProj(), w.qBias()).view(batch, seqLen, h, hd);   // (B,T,H,hd)
            Tensor k = Linear.forward(x, w.kProj(), w.kBias()).view(batch, seqLen, kv, hd);  // (B,T,KV,hd)
            Tensor v = Linear.forward(x, w.vProj(), w.vBias()).view(batch, seqLen, kv, hd);  // (B,T,KV,hd)
            RmsNorm.Saved qNorm = null, kNorm = null;
            if (c.queryKeyNorm()) {                                                       // Qwen3: per head, over hd
                RmsNorm.Result qn = RmsNorm.forward(q, w.qNorm(), c.rmsNormEps());
                RmsNorm.Result kn = RmsNorm.forward(k, w.kNorm(), c.rmsNormEps());
                qNorm = qn.saved();
                kNorm = kn.saved();
                q = qn.output();
                k = kn.output();
            }
            Tensor qh = Rotary.forward(q, rope).transpose(1, 2);                          // (B,H,T,hd)
            Tensor kh = Rotary.forward(k, rope).transpose(1, 2);                          // (B,KV,T,hd)
            Tensor vh = v.transpose(1, 2);                                                // (B,KV,T,hd)
            AttentionResult a = scaledDotProduct(qh, repeatKv(kh, c), repeatKv(vh, c), true, null); // scale 1/√hd
            Tensor o = a.output().transpose(1, 2).reshape(n, (long) h * hd);              // (N, H·hd)
            Tensor y = Linear.forward(o, w.oProj(), w.oBias());                           // (N, D)
            Saved saved = new Saved(x, qNorm, kNorm, qh, kh, vh, a, o);
            saved.keep(scope);
            return new Result(scope.keep(y), saved);
        }
    }

    /** g (N, D) -> dx (N, D); parameter gradients are added into {@code d}. */
    public static Tensor backward(Tensor grad, Saved s, Params w, Params d, Rotary.Tables rope, ModelConfig c) {
        long n = grad.size(0), batch = s.q().size(0), seqLen = s.q().size(2);
        int h = c.numHeads(), kv = c.numKeyValueHeads(), hd = c.headDim();
        try (TensorScope scope = TensorScope.open()) {
            Tensor dO = Linear.backward(grad, s.o(), w.oProj(), d.oProj(), d.oBias());     // (N, H·hd)
            Tensor dAttn = dO.view(batch, seqLen, h, hd).transpose(1, 2);                 // (B,H,T,hd)
            AttentionGrads ga = scaledDotProductBackward(dAttn, s.q(), repeatKv(s.k(), c), repeatKv(s.v(), c),
                    s.attention(), true, null);
            Tensor dq = ga.query().transpose(1, 2);                                       // (B,T,H,hd)
            Tensor dk = sumGroups(ga.key(), c).transpose(1, 2);                           // (B,T,KV,hd)
            Tensor dv = sumGroups(ga.value(), c).transpose(1, 2);                         // (B,T,KV,hd)
            dq = Rotary.backward(dq, rope);
            dk = Rotary.backward(dk, rope);
            if (c.queryKeyNorm()) {
                dq = RmsNorm.backward(dq, s.qNorm(), w.qNorm(), d.qNorm());
                dk = RmsNorm.backward(dk, s.kNorm(), w.kNorm(), d.kNorm());
            }
            Tensor dx = Linear.backward(dq.reshape(n, (long) h * hd), s.x(), w.qProj(), d.qProj(), d.qBias()); // (N, D)
            InPlace.accumulate(dx, Linear.backward(dk.reshape(n, (long) kv * hd), s.x(), w.kProj(), d.kProj(), d.kBias()));
            InPlace.accumulate(dx, Linear.backward(dv.reshape(n, (long) kv * hd), s.x(), w.vProj(), d.vProj(), d.vBias()));
            return scope.keep(dx);
        }
    }

    /** {@link #scaledDotProduct(Tensor, Tensor, Tensor, boolean, Double, AttentionKernel)} with the kernel for q's device and dtype. */
    public static AttentionResult scaledDotProduct(Tensor q, Tensor k, Tensor v, boolean causal, Double scale) {
        return scaledDotProduct(q, k, v, causal, scale, AttentionKernel.of(q));
    }

    /**
     * Scaled dot-product attention of q (B, H, L, E) over k, v (B, H, S, E), equal head counts (repeat
     * KV heads first); scale null means 1/√E; causal masks key j &gt; query i (top-left aligned, as
     * PyTorch's is_causal). The flash kernels are libtorch's; the math kernel is composed below.
     */
    public static AttentionResult scaledDotProduct(Tensor q, Tensor k, Tensor v, boolean causal, Double scale, AttentionKernel kernel) {
        if (kernel != AttentionKernel.MATH) return Layers.flashAttention(q, k, v, causal, scale, kernel);
        kernel.checkInputs(q, k, v);
        return mathAttention(q, k, v, causal, scaleOf(q, scale));
    }

    /** The backward of {@link #scaledDotProduct}, by the kernel that ran the forward. */
    public static AttentionGrads scaledDotProductBackward(Tensor gradOutput, Tensor q, Tensor k, Tensor v,
                                                          AttentionResult forward, boolean causal, Double scale) {
        if (forward.kernel() != AttentionKernel.MATH) return Layers.flashAttentionBackward(gradOutput, q, k, v, forward, causal, scale);
        forward.checkBackwardInputs(gradOutput, q, k, v);
        return mathAttentionBackward(gradOutput, q, k, v, forward, scaleOf(q, scale));
    }

    private static double scaleOf(Tensor q, Double scale) {
        return scale != null ? scale : 1 / Math.sqrt(q.size(3));
    }

    /** P = softmax(scale·q·kᵀ, masked), O = P·v; P is kept for the backward. */
    private static AttentionResult mathAttention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor scores = mul(matmul(q, k.transpose(2, 3)), scale);                                  // (B,H,L,S)
            if (causal) {
                long l = q.size(2), s = k.size(2);
                boolean[] above = new boolean[Math.toIntExact(l * s)];
                for (int i = 0; i < l; i++) for (int j = i + 1; j < s; j++) above[(int) (i * s + j)] = true;
                Tensor mask = Tensor.of(above, l, s).to(q.device());
                scores = maskedFill(scores, mask, Tensor.scalar(Double.NEGATIVE_INFINITY));
            }
            Tensor p = softmax(scores, 3);
            return new AttentionResult(scope.keep(matmul(p, v)), scope.keep(p), AttentionKernel.MATH);
        }
    }

    /** dV = Pᵀ·dO, dS = P ⊙ (dO·vᵀ − rowsum(dO·vᵀ ⊙ P)), dQ = scale·dS·k, dK = scale·dSᵀ·q. */
    private static AttentionGrads mathAttentionBackward(Tensor gradOutput, Tensor q, Tensor k, Tensor v, AttentionResult forward,
                                                  double scale) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor p = forward.saved();
            Tensor dv = matmul(p.transpose(2, 3), gradOutput);
            Tensor dp = matmul(gradOutput, v.transpose(2, 3));
            Tensor ds = mul(p, sub(dp, Reductions.sum(mul(dp, p), true, 3)));
            Tensor dq = mul(matmul(ds, k), scale);
            Tensor dk = mul(matmul(ds.transpose(2, 3), q), scale);
            return new AttentionGrads(scope.keep(dq), scope.keep(dk), scope.keep(dv));
        }
    }

    /** (B,KV,T,hd) -> (B,H,T,hd), KV head j copied to query heads jG..jG+G-1. */
    private static Tensor repeatKv(Tensor t, ModelConfig c) {
        return c.groupSize() == 1 ? t : Copies.repeatInterleave(t, c.groupSize(), 1);
    }

    /** (B,H,T,hd) -> (B,KV,T,hd): the transpose of {@link #repeatKv}, summing each group's G heads. */
    private static Tensor sumGroups(Tensor g, ModelConfig c) {
        if (c.groupSize() == 1) return g;
        long b = g.size(0), t = g.size(2), hd = g.size(3);
        return Reductions.sum(g.reshape(b, c.numKeyValueHeads(), c.groupSize(), t, hd), false, 2);
    }

    private static void checkWindow(ModelConfig c, long seqLen) {
        Integer window = c.slidingWindow();
        if (window != null && seqLen > window) {
            throw new IllegalArgumentException("sequence length " + seqLen + " exceeds sliding_window " + window
                    + ": sliding-window attention is not implemented (with sequences of at most " + window
                    + " tokens it equals full causal attention); use shorter sequences");
        }
    }
}
