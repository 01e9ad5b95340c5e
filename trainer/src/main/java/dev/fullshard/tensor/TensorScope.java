package dev.fullshard.tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Owns every tensor created on this thread while it is the innermost open scope, and closes them
 * when it closes. Scopes nest; {@link #keep} hands a tensor to the enclosing scope (or to the caller,
 * when there is none), which is how a function returns a result made inside its own scope:
 *
 * <pre>{@code
 * try (TensorScope scope = TensorScope.open()) {
 *     Tensor h = Matmul.mm(x, w);          // closed with the scope
 *     return scope.keep(Elementwise.silu(h));   // survives it
 * }
 * }</pre>
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope parent;
    private final Thread owner;
    private final List<Tensor> tensors = new ArrayList<>();
    private boolean closed;
    private int compactAt = 1024;

    private TensorScope(TensorScope parent) {
        this.parent = parent;
        this.owner = Thread.currentThread();
    }

    public static TensorScope open() {
        TensorScope scope = new TensorScope(CURRENT.get());
        CURRENT.set(scope);
        return scope;
    }

    static void registerInCurrent(Tensor t) {
        TensorScope scope = CURRENT.get();
        if (scope != null) scope.add(t);
    }

    private void add(Tensor t) {
        tensors.add(t);
        // Loops that close their tensors themselves would otherwise grow this list without bound.
        if (tensors.size() >= compactAt) {
            tensors.removeIf(Tensor::isClosed);
            compactAt = Math.max(1024, 2 * tensors.size());
        }
    }

    /** Moves {@code t} out of this scope into the enclosing one (or to the caller if none) and returns it. */
    public <T extends Tensor> T keep(T t) {
        if (closed) throw new IllegalStateException("scope already closed");
        for (int i = tensors.size() - 1; i >= 0; i--) {
            if (tensors.get(i) == t) {
                tensors.remove(i);
                if (parent != null) parent.add(t);
                return t;
            }
        }
        throw new IllegalArgumentException("tensor " + t + " does not belong to this scope");
    }

    /**
     * Takes {@code t} away from whichever open scope of this thread owns it: the caller owns it from now on
     * and must close it. For tensors whose lifetime follows no scope, such as the sharding layer's
     * gathered weights, made inside one unit's scope and used in the next.
     */
    public static <T extends Tensor> T detach(T t) {
        for (TensorScope s = CURRENT.get(); s != null; s = s.parent) {
            for (int i = s.tensors.size() - 1; i >= 0; i--) {
                if (s.tensors.get(i) == t) {
                    s.tensors.remove(i);
                    return t;
                }
            }
        }
        return t;
    }

    /** Tensors this scope currently owns and has not seen closed. */
    public int size() {
        int open = 0;
        for (Tensor t : tensors) if (!t.isClosed()) open++;
        return open;
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) throw new IllegalStateException("a TensorScope must be closed on the thread that opened it");
        if (CURRENT.get() != this) throw new IllegalStateException("TensorScopes must be closed innermost first");
        closed = true;
        CURRENT.set(parent);
        RuntimeException first = null;
        for (int i = tensors.size() - 1; i >= 0; i--) {
            try {
                tensors.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        tensors.clear();
        if (first != null) throw first;
    }
}
