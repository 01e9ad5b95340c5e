package dev.fullshard.model;

import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * One pre-norm decoder layer: h = x + attn(norm1(x)); out = h + mlp(norm2(h)).
 * Backward follows the two residual paths: the gradient of each sum flows both straight through and
 * through its branch.
 */
public final class Block {
    private Block() {
    }

    /** Weights of one layer (or their gradient buffers): input_layernorm, self_attn, post_attention_layernorm, mlp. */
    public record Params(Tensor inputNorm, Attention.Params attention, Tensor postNorm, Mlp.Params mlp) {
    }

    /** x (N, D) the caller's input; everything else made by this layer. */
    public record Saved(Tensor x, RmsNorm.Saved norm1, Attention.Saved attention, Tensor h, RmsNorm.Saved norm2,
                        Mlp.Saved mlp) implements SavedTensors {
        @Override
        public List<Tensor> made() {
            List<Tensor> made = new ArrayList<>();
            made.addAll(norm1.made());
            made.add(attention.x());            // norm1's output, attention's input
            made.addAll(attention.made());
            made.add(h);                        // also norm2's input
            made.addAll(norm2.made());
            made.add(mlp.x());                  // norm2's output, the MLP's input
            made.addAll(mlp.made());
            return made;
        }
    }

    public record Result(Tensor output, Saved saved) {
    }

    /** x (N, D) -> (N, D). */
    public static Result forward(Tensor x, long batch, Params w, Rotary.Tables rope, ModelConfig c) {
        try (TensorScope scope = TensorScope.open()) {
            RmsNorm.Result n1 = RmsNorm.forward(x, w.inputNorm(), c.rmsNormEps());          // (N, D)
            Attention.Result a = Attention.forward(n1.output(), batch, w.attention(), rope, c);
            Tensor h = Elementwise.add(x, a.output());                                            // (N, D)
            RmsNorm.Result n2 = RmsNorm.forward(h, w.postNorm(), c.rmsNormEps());           // (N, D)
            Mlp.Result m = Mlp.forward(n2.output(), w.mlp());
            Tensor out = Elementwise.add(h, m.output());                                          // (N, D)
            Saved saved = new Saved(x, n1.saved(), a.saved(), h, n2.saved(), m.saved());
            saved.keep(scope);
            return new Result(scope.keep(out), saved);
        }
    }

    /** g (N, D) -> dx (N, D); parameter gradients are added into {@code d}. */
    public static Tensor backward(Tensor grad, Saved s, Params w, Params d, Rotary.Tables rope, ModelConfig c) {
        try (TensorScope scope = TensorScope.open()) {
            // out = h + mlp(norm2(h)): dh = g + norm2ᵀ(mlpᵀ(g))
            Tensor dn2 = Mlp.backward(grad, s.mlp(), w.mlp(), d.mlp());
            Tensor dh = RmsNorm.backward(dn2, s.norm2(), w.postNorm(), d.postNorm());
            InPlace.accumulate(dh, grad);
            // h = x + attn(norm1(x)): dx = dh + norm1ᵀ(attnᵀ(dh))
            Tensor dn1 = Attention.backward(dh, s.attention(), w.attention(), d.attention(), rope, c);
            Tensor dx = RmsNorm.backward(dn1, s.norm1(), w.inputNorm(), d.inputNorm());
            InPlace.accumulate(dx, dh);
            return scope.keep(dx);
        }
    }
}
