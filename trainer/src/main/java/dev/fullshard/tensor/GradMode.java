package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;

/**
 * libtorch's autograd switch. It is on by default and thread-local per OS thread. fullshard computes
 * its backward passes explicitly and never needs a graph, so the model turns it off around its work:
 * with it off, no op records a graph even if some tensor was marked as requiring a gradient.
 */
public final class GradMode {
    private GradMode() {
    }

    public static boolean isEnabled() {
        return TorchStable.aoti_torch_grad_mode_is_enabled();
    }

    public static void setEnabled(boolean enabled) {
        TorchStable.aoti_torch_grad_mode_set_enabled(enabled);
    }

    /** Sets grad mode on this thread until {@link Restore#close()} puts the previous state back. */
    public static Restore set(boolean enabled) {
        Restore restore = new Restore(isEnabled());
        setEnabled(enabled);
        return restore;
    }

    /** The state to go back to; closing it restores it on the calling thread. */
    public record Restore(boolean previous) implements AutoCloseable {
        @Override
        public void close() {
            setEnabled(previous);
        }
    }
}
