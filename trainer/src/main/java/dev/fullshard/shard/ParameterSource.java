package dev.fullshard.shard;

import dev.fullshard.io.CheckpointReader;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Tensor;

/**
 * Where a rank's pieces of the weights (or of the optimizer state) come from: a Hugging Face checkpoint
 * or a training checkpoint written at any world size. Each rank reads only the elements it holds.
 */
@FunctionalInterface
public interface ParameterSource {
    /**
     * Copies elements [start, start + length) of tensor {@code name} (flattened, row-major) into {@code into}
     * (1-D, {@code length} elements), converting the dtype.
     */
    void read(String name, long start, long length, Tensor into);

    /** The tensors of a Hugging Face model directory, read through the memory map (no full copy). */
    static ParameterSource of(CheckpointReader reader) {
        return (name, start, length, into) -> {
            try (Tensor t = reader.tensor(name); Tensor flat = t.reshape(-1); Tensor part = flat.narrow(0, start, length)) {
                Copies.copyInto(into, part);
            }
        };
    }
}
