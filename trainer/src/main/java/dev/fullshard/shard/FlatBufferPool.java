package dev.fullshard.shard;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Keeps the flat buffers of gathered weights and unsharded gradients for reuse on the CPU, where libtorch
 * has no caching allocator. A buffer of a unit is tens to hundreds of megabytes, which glibc maps fresh
 * for every allocation and unmaps at every free, so the kernel faults in and zeroes every page again, three
 * times per unit and step (forward, recomputed forward, backward). Measured on the 1b preset at 2 ranks on
 * 2 cores: those page faults were about a third of all CPU time. On CUDA, libtorch's caching allocator
 * already reuses the memory, and a second cache beside it would only keep memory from the activations, so
 * there {@link #take} allocates and {@link #give} frees.
 *
 * <p>A buffer returns here only when the one that used it is done with it, so the pool holds at most as
 * many buffers of each size as were alive at once. It owns what it holds; {@link #close} frees it.
 */
final class FlatBufferPool implements AutoCloseable {
    private record Key(DType dtype, long numel) {
    }

    private final Device device;
    private final Map<Key, ArrayDeque<Tensor>> free = new HashMap<>();

    FlatBufferPool(Device device) {
        this.device = device;
    }

    /** A one-dimensional buffer of {@code numel} elements with undefined contents, owned by the caller (outside any scope). */
    Tensor take(DType dtype, long numel) {
        ArrayDeque<Tensor> kept = free.get(new Key(dtype, numel));
        if (kept != null && !kept.isEmpty()) return kept.pop();
        return TensorScope.detach(Tensor.empty(dtype, device, numel));
    }

    /** Hands back a buffer from {@link #take}; the caller must no longer use it or any view of it. */
    void give(Tensor flat) {
        if (device.type() != Device.Type.CPU) {
            flat.close();
            return;
        }
        free.computeIfAbsent(new Key(flat.dtype(), flat.numel()), k -> new ArrayDeque<>()).push(flat);
    }

    @Override
    public void close() {
        for (ArrayDeque<Tensor> kept : free.values()) kept.forEach(Tensor::close);
        free.clear();
    }
}
