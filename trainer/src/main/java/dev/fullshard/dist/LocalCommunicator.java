package dev.fullshard.dist;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

/**
 * World size 1: every collective is the identity (all-gather and reduce-scatter copy, as the one shard
 * is the whole tensor) and complete when it returns. All-gather and reduce-scatter check their arguments
 * as {@link MpiCommunicator} does, so a wrong call fails on one rank already.
 */
public final class LocalCommunicator implements Communicator {
    public static final LocalCommunicator INSTANCE = new LocalCommunicator();

    private static final Pending DONE = () -> { };

    private LocalCommunicator() {
    }

    @Override public int rank() { return 0; }
    @Override public int size() { return 1; }
    @Override public Device device() { return Device.CPU; }
    @Override public void allReduceSum(Tensor t) { }
    @Override public Pending allReduceSumAsync(Tensor t) { return DONE; }
    @Override public void allReduceSum(double[] values) { }
    @Override public void allReduceSum(long[] values) { }
    @Override public void broadcast(Tensor t, int root) { CollectiveChecks.root(root, 1); }
    @Override public void broadcast(double[] values, int root) { CollectiveChecks.root(root, 1); }
    @Override public void barrier() { }
    @Override public void close() { }

    /** The one rank is a group of its own: this communicator. */
    @Override
    public Communicator split(int color, int key) {
        if (color < 0) throw new IllegalArgumentException("split: color must be ≥ 0, got " + color);
        return this;
    }

    @Override
    public Pending allGatherAsync(Tensor shard, Tensor full) {
        boolean inPlace = CollectiveChecks.allGather(shard, full, 0, 1, Device.CPU);
        if (!inPlace) copy(shard, full);
        return DONE;
    }

    @Override
    public Pending reduceScatterSumAsync(Tensor full, Tensor shard) {
        CollectiveChecks.reduceScatterSum(full, shard, 1, Device.CPU);
        copy(full, shard);
        return DONE;
    }

    /** {@code dst} ← {@code src}, element by element in memory order (the shapes may differ, the counts do not). */
    private static void copy(Tensor src, Tensor dst) {
        try (Tensor flat = src.view(dst.shape())) {
            Copies.copyInto(dst, flat);
        }
    }
}
