package dev.fullshard.dist;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A world of ranks in one JVM: one thread per rank, exchanging their contributions through shared memory,
 * so that code issuing collectives can be tested without processes or MPI. Sums are taken in Java double
 * precision, in rank order, and rounded once to the tensor's dtype. Every collective is complete when it
 * returns. Arguments are checked as {@link MpiCommunicator} checks them ({@link CollectiveChecks}).
 */
public final class ThreadRanks {
    /** What each rank runs, with its communicator. */
    @FunctionalInterface
    public interface Body {
        void run(Rank comm) throws Exception;
    }

    private final int size;
    private final CyclicBarrier barrier;
    private final Object[] slots;
    /** The worlds {@link Rank#split} made, by the split's sequence number and color: the ranks of a group share one. */
    private final Map<String, ThreadRanks> groups = new ConcurrentHashMap<>();

    private ThreadRanks(int size) {
        this.size = size;
        this.barrier = new CyclicBarrier(size);
        this.slots = new Object[size];
    }

    /** Runs {@code body} on {@code size} ranks, one thread each; rethrows the first rank's failure. */
    public static void run(int size, Body body) throws Exception {
        ThreadRanks world = new ThreadRanks(size);
        List<Thread> threads = new ArrayList<>();
        Throwable[] failures = new Throwable[size];
        for (int r = 0; r < size; r++) {
            Rank rank = world.new Rank(r);
            threads.add(Thread.ofPlatform().name("rank-" + r).start(() -> {
                try {
                    body.run(rank);
                } catch (Exception | AssertionError e) {
                    failures[rank.rank] = e;
                    world.barrier.reset();                    // the other ranks' next collective fails instead of waiting forever
                }
            }));
        }
        for (Thread t : threads) t.join();
        for (Throwable e : failures) {
            if (e instanceof Exception x) throw x;
            if (e instanceof Error x) throw x;
        }
    }

    /** Deposits {@code mine}, waits for every rank's, and returns them all by rank. */
    private Object[] exchange(int rank, Object mine) {
        slots[rank] = mine;
        await();
        Object[] all = slots.clone();
        await();                                              // nobody overwrites a slot before everyone has read it
        return all;
    }

    private void await() {
        try {
            barrier.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
            throw new IllegalStateException("another rank failed or did not join the collective", e);
        }
    }

    /** One rank's communicator; {@link #calls} lists the collectives it issued. */
    public final class Rank implements Communicator {
        private static final Pending DONE = () -> { };

        private final int rank;
        private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        private int splits;

        private Rank(int rank) {
            this.rank = rank;
        }

        /** The collectives issued so far, as {@code "allGather <full's numel>"}, {@code "reduceScatterSum <full's numel>"}, …. */
        public List<String> calls() {
            return List.copyOf(calls);
        }

        @Override public int rank() { return rank; }
        @Override public int size() { return size; }
        @Override public Device device() { return Device.CPU; }
        @Override public void close() { }

        @Override
        public Pending allGatherAsync(Tensor shard, Tensor full) {
            CollectiveChecks.allGather(shard, full, rank, size, Device.CPU);
            calls.add("allGather " + full.numel());
            Object[] all = exchange(rank, shard.dataSegment().toArray(JAVA_BYTE));
            MemorySegment out = full.dataSegment();
            long offset = 0;
            for (Object bytes : all) {
                MemorySegment.copy(MemorySegment.ofArray((byte[]) bytes), 0, out, offset, ((byte[]) bytes).length);
                offset += ((byte[]) bytes).length;
            }
            return DONE;
        }

        @Override
        public Pending reduceScatterSumAsync(Tensor full, Tensor shard) {
            CollectiveChecks.reduceScatterSum(full, shard, size, Device.CPU);
            calls.add("reduceScatterSum " + full.numel());
            double[] sum = sum(values(full));
            double[] mine = new double[(int) shard.numel()];
            System.arraycopy(sum, rank * mine.length, mine, 0, mine.length);
            write(mine, shard);
            return DONE;
        }

        @Override
        public Pending allReduceSumAsync(Tensor t) {
            CollectiveChecks.writableContiguousOn("allReduceSum", t, Device.CPU);
            calls.add("allReduceSum " + t.numel());
            write(sum(values(t)), t);
            return DONE;
        }

        @Override
        public void allReduceSum(double[] values) {
            calls.add("allReduceSum " + values.length);
            System.arraycopy(sum(values.clone()), 0, values, 0, values.length);
        }

        @Override
        public void allReduceSum(long[] values) {
            calls.add("allReduceSum " + values.length);
            Object[] all = exchange(rank, values.clone());
            for (int i = 0; i < values.length; i++) {
                long s = 0;
                for (Object v : all) s += ((long[]) v)[i];
                values[i] = s;
            }
        }

        @Override
        public void broadcast(Tensor t, int root) {
            CollectiveChecks.root(root, size);
            CollectiveChecks.writableContiguousOn("broadcast", t, Device.CPU);
            calls.add("broadcast " + t.numel());
            byte[] rootBytes = (byte[]) exchange(rank, t.dataSegment().toArray(JAVA_BYTE))[root];
            t.dataSegment().copyFrom(MemorySegment.ofArray(rootBytes));
        }

        @Override
        public void broadcast(double[] values, int root) {
            CollectiveChecks.root(root, size);
            calls.add("broadcast " + values.length);
            double[] rootValues = (double[]) exchange(rank, values.clone())[root];
            System.arraycopy(rootValues, 0, values, 0, values.length);
        }

        /** A world of its own for the ranks of each color; its collectives are listed in its own {@link #calls}. */
        @Override
        public Rank split(int color, int key) {
            if (color < 0) throw new IllegalArgumentException("split: color must be ≥ 0, got " + color);
            calls.add("split " + color);
            Object[] all = exchange(rank, new long[] {color, key});
            long[] colors = new long[size], keys = new long[size];
            for (int r = 0; r < size; r++) {
                colors[r] = ((long[]) all[r])[0];
                keys[r] = ((long[]) all[r])[1];
            }
            SplitMember place = SplitMember.of(colors, keys, rank);
            ThreadRanks group = groups.computeIfAbsent(splits++ + "/" + color, k -> new ThreadRanks(place.size()));
            return group.new Rank(place.rank());
        }

        @Override
        public void barrier() {
            calls.add("barrier");
            exchange(rank, null);
        }

        /** The element-wise sum over the ranks of each rank's {@code mine}, in rank order. */
        private double[] sum(double[] mine) {
            Object[] all = exchange(rank, mine);
            double[] sum = new double[mine.length];
            for (Object v : all) {
                for (int i = 0; i < sum.length; i++) sum[i] += ((double[]) v)[i];
            }
            return sum;
        }

        private static double[] values(Tensor t) {
            try (TensorScope ignored = TensorScope.open()) {
                return t.to(DType.F64).toDoubleArray();
            }
        }

        /** {@code into} ← {@code values}, rounded to its dtype. */
        private static void write(double[] values, Tensor into) {
            try (TensorScope ignored = TensorScope.open()) {
                Copies.copyInto(into, Tensor.of(values, into.shape()).to(into.dtype()));
            }
        }
    }
}
