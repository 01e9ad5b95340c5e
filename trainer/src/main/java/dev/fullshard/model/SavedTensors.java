package dev.fullshard.model;

import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.List;

/**
 * What a layer's forward keeps for its backward. A layer's input belongs to its caller; everything
 * else listed here the layer made, and whoever holds the record decides how long it lives: move it to
 * an enclosing scope ({@link #keep}) or free it as soon as the backward has used it ({@link #close}).
 */
public interface SavedTensors {
    /** The tensors the layer made itself, each once (never its input). */
    List<Tensor> made();

    /** Moves {@link #made()} from {@code scope} (where the layer made them) to the enclosing scope. */
    default void keep(TensorScope scope) {
        for (Tensor t : made()) scope.keep(t);
    }

    /** Frees {@link #made()} now. */
    default void close() {
        for (Tensor t : made()) t.close();
    }
}
