package dev.fullshard.dist;

import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

/**
 * The ranks of one training run and the collectives the trainer needs.
 *
 * <p>The contract:
 * <ul>
 *   <li>Every rank issues the same sequence of collectives (blocking and asynchronous alike), with
 *       tensors of the same sizes and dtypes.</li>
 *   <li>Collectives complete in the order they were issued: a blocking collective returns after every
 *       asynchronous one issued before it has completed, and awaiting a later {@link Pending} also waits
 *       for the earlier ones to complete (their own {@code await()} is still needed, see below).</li>
 *   <li>An asynchronous ({@code …Async}) collective returns a {@link Pending} at once. Until its
 *       {@link Pending#await()} has returned, the caller keeps the tensors open and neither reads nor
 *       writes them (the collective reads and writes their memory meanwhile), and must call
 *       {@code await()} (some collectives finish their work, e.g. a bf16 conversion, in it, on the
 *       caller's thread).</li>
 *   <li>Tensors are contiguous and on the communicator's {@link #device()} (the CPU for MPI, this rank's
 *       GPU for NCCL); results are written in place. Argument errors (shape, dtype,
 *       device, contiguity) are thrown at once by the call that issues the collective, not by
 *       {@code await()}, as an {@link IllegalArgumentException} naming the collective and the tensors;
 *       all-gather and reduce-scatter check their arguments at world size 1 too.</li>
 * </ul>
 */
public interface Communicator extends AutoCloseable {
    /** A collective in flight. */
    interface Pending {
        /**
         * Returns when the collective has completed on this rank; rethrows its failure (as an
         * IllegalStateException naming the collective, with the MPI error text). Idempotent.
         */
        void await();
    }

    /** This process's rank, 0 ≤ rank &lt; size. */
    int rank();

    /** The number of ranks. */
    int size();

    /** Where the tensors of this communicator's collectives live. */
    Device device();

    /** Rank 0 writes the run's files (metrics, checkpoints, plot, export). */
    default boolean isMain() {
        return rank() == 0;
    }

    /** Sums {@code t} over all ranks, in place: f32, f64 and i64 directly; bf16 and f16 through an f32 copy. */
    default void allReduceSum(Tensor t) {
        allReduceSumAsync(t).await();
    }

    /** {@link #allReduceSum(Tensor)}, asynchronously. */
    Pending allReduceSumAsync(Tensor t);

    /**
     * {@code full} = the ranks' shards concatenated in rank order. {@code shard} and {@code full}: contiguous
     * CPU tensors of the same dtype (any dtype: bytes are copied), {@code full.numel == size * shard.numel}.
     * {@code shard} may be {@code full}'s own slice at this rank (elements {@code [rank*n, (rank+1)*n)}),
     * which gathers in place; otherwise the two must not share memory.
     */
    Pending allGatherAsync(Tensor shard, Tensor full);

    /** {@link #allGatherAsync}, waiting for it. */
    default void allGather(Tensor shard, Tensor full) {
        allGatherAsync(shard, full).await();
    }

    /**
     * {@code shard} = this rank's slice (elements {@code [rank*n, (rank+1)*n)}, {@code n = shard.numel}) of
     * the element-wise sum over ranks of {@code full}. {@code full.numel == size * shard.numel}; same dtype;
     * f32 and f64 directly, bf16 and f16 through f32 copies (MPICH has no bf16 and aborts on f16 sums).
     * {@code full} is not changed and must not share memory with {@code shard}.
     */
    Pending reduceScatterSumAsync(Tensor full, Tensor shard);

    /** {@link #reduceScatterSumAsync}, waiting for it. */
    default void reduceScatterSum(Tensor full, Tensor shard) {
        reduceScatterSumAsync(full, shard).await();
    }

    /** Sums each element over all ranks, in place. */
    void allReduceSum(double[] values);

    /** Sums each element over all ranks, in place. */
    void allReduceSum(long[] values);

    /** True on every rank when {@code mine} is true on any: how the ranks agree to skip a step or to stop. */
    default boolean anyRank(boolean mine) {
        if (size() == 1) return mine;
        long[] flag = {mine ? 1 : 0};
        allReduceSum(flag);
        return flag[0] > 0;
    }

    /** Whether every rank passed the same {@code values}, as far as their sums over the ranks tell. */
    default boolean sameOnAllRanks(long... values) {
        if (size() == 1) return true;
        long[] sum = values.clone();
        allReduceSum(sum);
        for (int i = 0; i < values.length; i++) {
            if (sum[i] != values[i] * size()) return false;
        }
        return true;
    }

    /** Copies {@code root}'s {@code t} into every rank's {@code t}. */
    void broadcast(Tensor t, int root);

    /** Copies {@code root}'s values into every rank's array. */
    void broadcast(double[] values, int root);

    /**
     * The ranks that pass the same {@code color} (≥ 0), as a communicator of their own in which they are
     * ranked by {@code key}, then by rank here. Every rank of this communicator calls it (it is a collective).
     * The two communicators' collectives are ordered as one sequence: they complete in the order they were
     * issued, whichever communicator issued them. The caller closes the result, before this communicator.
     */
    Communicator split(int color, int key);

    /** Returns when every rank has called it. */
    void barrier();

    /** Ends this process's part (MPI_Finalize); no collective may follow. */
    @Override
    void close();
}
