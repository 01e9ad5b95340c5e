package dev.fullshard.dist;

import java.util.Arrays;

/**
 * A rank's place in the group it lands in when a communicator is split: MPI_Comm_split's rule, which
 * ncclCommSplit follows too. The ranks that passed the same color form a group, ranked by key, ties broken
 * by their rank before the split. NCCL's split does not return this, and a communicator needs it up front.
 */
record SplitMember(int rank, int size) {
    /** The place of rank {@code me}, given every rank's color and key, indexed by rank before the split. */
    static SplitMember of(long[] colors, long[] keys, int me) {
        if (colors.length != keys.length || me < 0 || me >= colors.length) {
            throw new IllegalArgumentException("split: " + colors.length + " colors, " + keys.length + " keys, rank " + me);
        }
        int rank = 0, size = 0;
        for (int r = 0; r < colors.length; r++) {
            if (colors[r] != colors[me]) continue;
            size++;
            if (keys[r] < keys[me] || (keys[r] == keys[me] && r < me)) rank++;
        }
        return new SplitMember(rank, size);
    }

    /** This rank's place, once every rank of {@code comm} has called this with its color and key (a sum over {@code comm} shares them). */
    static SplitMember agree(Communicator comm, int color, int key) {
        int n = comm.size();
        long[] both = new long[2 * n];
        both[comm.rank()] = color;
        both[n + comm.rank()] = key;
        comm.allReduceSum(both);
        return of(Arrays.copyOfRange(both, 0, n), Arrays.copyOfRange(both, n, 2 * n), comm.rank());
    }
}
