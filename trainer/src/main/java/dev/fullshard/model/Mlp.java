package dev.fullshard.model;

import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.List;

/** SwiGLU feed-forward: down(silu(gate(x)) ⊙ up(x)). */
public final class Mlp {
    private Mlp() {
    }

    /** Weights (or gradient buffers): gate and up (F, D), down (D, F). */
    public record Params(Tensor gateProj, Tensor upProj, Tensor downProj) {
    }

    /**
     * x (N, D) is the caller's input; gate and up (N, F) are the two projections. silu(gate) ⊙ up is
     * recomputed in backward instead of kept: one elementwise pass against N·F more saved values.
     */
    public record Saved(Tensor x, Tensor gate, Tensor up) implements SavedTensors {
        @Override
        public List<Tensor> made() {
            return List.of(gate, up);
        }
    }

    public record Result(Tensor output, Saved saved) {
    }

    /** x (N, D) -> (N, D). */
    public static Result forward(Tensor x, Params w) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor gate = Linear.forward(x, w.gateProj(), null);                          // (N, F)
            Tensor up = Linear.forward(x, w.upProj(), null);                              // (N, F)
            Tensor hidden = Elementwise.mul(Elementwise.silu(gate), up);                                  // (N, F)
            Tensor y = Linear.forward(hidden, w.downProj(), null);                        // (N, D)
            Saved saved = new Saved(x, gate, up);
            saved.keep(scope);
            return new Result(scope.keep(y), saved);
        }
    }

    /** g (N, D) -> dx (N, D); parameter gradients are added into {@code d}. */
    public static Tensor backward(Tensor grad, Saved s, Params w, Params d) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor act = Elementwise.silu(s.gate());                                              // (N, F)
            Tensor hidden = Elementwise.mul(act, s.up());                                         // (N, F)
            Tensor dHidden = Linear.backward(grad, hidden, w.downProj(), d.downProj(), null); // (N, F)
            Tensor dUp = Elementwise.mul(dHidden, act);                                           // (N, F)
            Tensor dGate = Elementwise.siluBackward(Elementwise.mul(dHidden, s.up()), s.gate());          // (N, F)
            Tensor dx = Linear.backward(dGate, s.x(), w.gateProj(), d.gateProj(), null);  // (N, D)
            InPlace.accumulate(dx, Linear.backward(dUp, s.x(), w.upProj(), d.upProj(), null));
            return scope.keep(dx);
        }
    }
}
