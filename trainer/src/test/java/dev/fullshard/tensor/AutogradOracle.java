package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Gradients from libtorch's own autograd, as an independent oracle for the explicit backward passes:
 * a test rebuilds a forward pass from plain ATen ops while the oracle is open (grad mode on), calls
 * {@link #backward} on the scalar loss and reads {@link #grad} of each leaf.
 *
 * <p>The 2.10 C ABI can mark a tensor as requiring a gradient ({@code torch_set_requires_grad}) and run
 * {@code aten::_backward}, but has no getter for a leaf's {@code .grad}. The work-around (ABI notes §9):
 * give each leaf a zero buffer G that we own, and make it the leaf's {@code .grad} by a first
 * {@code _backward} of a view of the leaf with {@code gradient = G}: AccumulateGrad adopts the incoming
 * gradient (a view of G, referenced nowhere else) as {@code .grad}, and every later backward adds into
 * it in place, i.e. into G. This relies on AccumulateGrad's "steal when the refcount is 1" path, true
 * in 2.10; {@link #leaf} checks that it happened.
 *
 * <p>Tensors made here belong to the caller's open {@link TensorScope}. Closing the oracle restores the
 * thread's previous grad mode; tests keep grad mode off everywhere else.
 */
public final class AutogradOracle implements AutoCloseable {
    private static final Dispatch.Op BACKWARD = Dispatch.Op.of("aten::_backward(Tensor self, Tensor[] inputs, Tensor? gradient=None, bool? retain_graph=None, bool create_graph=False) -> ()");

    private final GradMode.Restore restore;
    private final Map<Tensor, Tensor> grads = new IdentityHashMap<>();
    private boolean closed;

    private AutogradOracle() {
        restore = GradMode.set(true);
    }

    /** Turns grad mode on for this thread until {@link #close()}. */
    public static AutogradOracle open() {
        return new AutogradOracle();
    }

    /**
     * A contiguous copy of {@code value} that requires a gradient; its gradient accumulates into a zero
     * buffer that {@link #grad} returns.
     */
    public Tensor leaf(Tensor value) {
        if (closed) throw new IllegalStateException("oracle closed");
        if (!value.dtype().isFloatingPoint()) throw new IllegalArgumentException("only floating-point leaves have gradients, got " + value.describe());
        Tensor leaf, buffer;
        try (GradMode.Restore ignored = GradMode.set(false)) {
            leaf = Copies.toCopy(value, value.dtype(), value.device());
            buffer = Copies.zerosLike(leaf);
        }
        Tensor.check(TorchStable.torch_set_requires_grad(leaf.handle(), true), "torch_set_requires_grad", leaf);
        try (TensorScope ignored = TensorScope.open()) {
            Tensor alias = Views.view(leaf, leaf.shape());
            backward(alias, new Tensor[]{leaf}, buffer);
        }
        grads.put(leaf, buffer);
        // The seeding must have made the buffer the leaf's .grad: a probe backward of 1·leaf adds 1 to every element.
        try (TensorScope ignored = TensorScope.open()) {
            Tensor probe = Reductions.sum(Elementwise.mul(leaf, Copies.onesLike(leaf)));
            backward(probe, new Tensor[]{leaf}, null);
            double[] g = buffer.toDoubleArray();
            for (double v : g) if (v != 1.0) throw new IllegalStateException("leaf .grad is not the seeded buffer (AccumulateGrad copied it)");
            Copies.zero(buffer);
        }
        return leaf;
    }

    /** Runs autograd from a scalar {@code loss} into every leaf made so far. */
    public void backward(Tensor loss) {
        if (loss.numel() != 1) throw new IllegalArgumentException("backward needs a scalar loss, got " + loss.describe());
        backward(loss, grads.keySet().toArray(Tensor[]::new), null);
    }

    /** The gradient accumulated for {@code leaf}: the buffer itself (zero it to start again). */
    public Tensor grad(Tensor leaf) {
        Tensor g = grads.get(leaf);
        if (g == null) throw new IllegalArgumentException("not a leaf of this oracle: " + leaf);
        return g;
    }

    /**
     * {@code _backward(Tensor self, Tensor[] inputs, Tensor? gradient=None, bool? retain_graph=None,
     * bool create_graph=False) -> ()}.
     */
    private static void backward(Tensor self, Tensor[] inputs, Tensor gradient) {
        Tensor[] all = new Tensor[inputs.length + 2];
        all[0] = self;
        all[1] = gradient;
        System.arraycopy(inputs, 0, all, 2, inputs.length);
        Dispatch.call(BACKWARD, all).tensor(self).tensors(inputs).optTensor(gradient).run();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        restore.close();
    }
}
