package dev.fullshard.dist;

import dev.fullshard.tensor.Tensor;

/**
 * The ranks of one training run and the collectives the trainer needs. Every rank must call the
 * collectives in the same order with buffers of the same size; a collective returns when all ranks
 * have joined it. Tensors must be contiguous CPU tensors; they are changed in place.
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

    /** Rank 0 writes the run's files (metrics, checkpoints, plot, export). */
    default boolean isMain() {
        return rank() == 0;
    }

    /** Sums {@code t} over all ranks, in place: f32, f64 and i64 directly; bf16 and f16 through an f32 copy. */
    void allReduceSum(Tensor t);

    /** Sums each element over all ranks, in place. */
    void allReduceSum(double[] values);

    /** Sums each element over all ranks, in place. */
    void allReduceSum(long[] values);

    /** Copies {@code root}'s {@code t} into every rank's {@code t}. */
    void broadcast(Tensor t, int root);

    /** Copies {@code root}'s values into every rank's array. */
    void broadcast(double[] values, int root);

    /** Returns when every rank has called it. */
    void barrier();

    /** Ends this process's part (MPI_Finalize); no collective may follow. */
    @Override
    void close();
}
