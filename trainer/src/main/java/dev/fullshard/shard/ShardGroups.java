package dev.fullshard.shard;

import dev.fullshard.dist.Communicator;
import dev.fullshard.dist.LocalCommunicator;

import java.util.Map;

/**
 * Which ranks split the model among themselves ({@link #shards}), and which ranks hold the same shard
 * ({@link #replicas}).
 *
 * <p>{@link #whole}: every rank is in the one group and nothing is replicated (full_shard, shard_grad_op;
 * no_shard replicates the whole model over this one group instead). {@link #hybrid} (hybrid_shard, FSDP's
 * HYBRID_SHARD, FSDP2's HSDP): consecutive ranks, normally the ranks of one node, shard the model among
 * themselves, and the ranks at the same place in each group hold the same shard. Weights are then gathered
 * inside a group only, and gradients are reduce-scattered inside the group and all-reduced, shard by shard,
 * across the groups: the traffic between nodes is one all-reduce of a shard per unit, not the gathers.
 */
public record ShardGroups(Communicator shards, Communicator replicas) implements AutoCloseable {
    /** Every rank of {@code world} in one group. */
    public static ShardGroups whole(Communicator world) {
        return new ShardGroups(world, LocalCommunicator.INSTANCE);
    }

    /**
     * Groups of {@code groupSize} consecutive ranks of {@code world} shard the model; every rank of {@code world}
     * calls this with the same size, which must divide the world size. The caller closes the result.
     */
    public static ShardGroups hybrid(Communicator world, int groupSize) {
        if (groupSize < 1 || world.size() % groupSize != 0) {
            throw new IllegalArgumentException("hybrid_shard: a shard group of " + groupSize + " ranks does not divide the " + world.size()
                    + " ranks into equal groups");
        }
        if (!world.sameOnAllRanks(groupSize)) {
            throw new IllegalArgumentException("hybrid_shard: the ranks disagree on the shard group size (this rank has " + groupSize
                    + "); every node must run the same number of ranks");
        }
        Communicator shards = world.split(world.rank() / groupSize, world.rank());
        try {
            return new ShardGroups(shards, world.split(world.rank() % groupSize, world.rank()));
        } catch (RuntimeException e) {
            shards.close();
            throw e;
        }
    }

    /**
     * The ranks per node under the fullshard launcher (or torchrun): {@code LOCAL_WORLD_SIZE}. The launcher
     * numbers ranks node by node, which {@code GROUP_RANK} (the node's rank) confirms when it is set.
     */
    public static int ranksPerNode(Map<String, String> env, int worldRank) {
        String v = env.get("LOCAL_WORLD_SIZE");
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("hybrid_shard needs the ranks per node: start the ranks with the fullshard launcher "
                    + "(which sets LOCAL_WORLD_SIZE), or set distributed.shard_group_size");
        }
        int perNode;
        try {
            perNode = Integer.parseInt(v.strip());
            if (perNode < 1) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LOCAL_WORLD_SIZE=" + v + ": expected a whole number ≥ 1");
        }
        String node = env.get("GROUP_RANK");
        if (node != null && !node.isBlank() && !node.strip().equals(Integer.toString(worldRank / perNode))) {
            throw new IllegalArgumentException("hybrid_shard: rank " + worldRank + " runs on node GROUP_RANK=" + node + ", but with "
                    + perNode + " ranks per node it would be on node " + worldRank / perNode + ": the ranks are not numbered node by node");
        }
        return perNode;
    }

    /** Frees the groups {@link #hybrid} made; {@link #whole}'s group is the world, which its owner closes. */
    @Override
    public void close() {
        if (replicas == LocalCommunicator.INSTANCE) return;
        try (shards) {
            replicas.close();
        }
    }
}
