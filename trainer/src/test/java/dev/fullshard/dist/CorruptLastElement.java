package dev.fullshard.dist;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.Views;

/**
 * The real communicator, except that on rank {@code badRank} every collective's result gets -7 in its last
 * element: a broken link, as the check must see it.
 */
public record CorruptLastElement(Communicator inner, int badRank) implements Communicator {
    private Pending corrupting(Pending pending, Tensor result) {
        return () -> {
            pending.await();
            if (inner.rank() != badRank) return;
            try (Tensor last = Views.narrow(result, 0, result.numel() - 1, 1)) {
                Copies.fill(last, -7);
            }
        };
    }

    @Override public Pending allReduceSumAsync(Tensor t) { return corrupting(inner.allReduceSumAsync(t), t); }
    @Override public Pending allGatherAsync(Tensor shard, Tensor full) { return corrupting(inner.allGatherAsync(shard, full), full); }
    @Override public Pending reduceScatterSumAsync(Tensor full, Tensor shard) { return corrupting(inner.reduceScatterSumAsync(full, shard), shard); }
    @Override public int rank() { return inner.rank(); }
    @Override public int size() { return inner.size(); }
    @Override public Device device() { return inner.device(); }
    @Override public void allReduceSum(double[] values) { inner.allReduceSum(values); }
    @Override public void allReduceSum(long[] values) { inner.allReduceSum(values); }
    @Override public void broadcast(Tensor t, int root) { inner.broadcast(t, root); }
    @Override public void broadcast(double[] values, int root) { inner.broadcast(values, root); }
    @Override public Communicator split(int color, int key) { return inner.split(color, key); }
    @Override public void barrier() { inner.barrier(); }
    @Override public void close() { inner.close(); }
}
