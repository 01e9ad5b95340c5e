package dev.fullshard.dist;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.tensor.Views;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Bandwidth of the {@link Communicator}'s collectives, measured and reported as nccl-tests does, with every
 * element of every result checked against the sum it must be.
 *
 * <p>Inputs are small integers that depend on the rank (and, for the per-rank chunks, on the chunk), so the
 * float32 sums are exact and a lost, doubled or misplaced chunk gives a wrong value, not a rounding error.
 */
public final class CollectiveBandwidth {
    private CollectiveBandwidth() {
    }

    private static final DType DTYPE = DType.F32;
    /** Elements copied to the host at a time to be checked: the check needs no second full-size buffer. */
    private static final int CHECK_CHUNK = 1 << 20;

    /** A collective, named as nccl-tests names its binaries. */
    public enum Op {
        ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * nccl-tests' factor from algorithm to bus bandwidth at {@code n} ranks (its doc/PERFORMANCE.md): the
         * share of the buffer that must cross each rank's link in an optimal ring. An all-reduce is a
         * reduce-scatter followed by an all-gather, so 2(n−1)/n; an all-gather or reduce-scatter moves every
         * chunk but the rank's own, (n−1)/n. Zero at one rank, where nothing crosses a link.
         */
        public double busFactor(int n) {
            return switch (this) {
                case ALL_REDUCE -> 2.0 * (n - 1) / n;
                case ALL_GATHER, REDUCE_SCATTER -> (double) (n - 1) / n;
            };
        }
    }

    /**
     * One op at one size, as every rank agrees on it: {@code bytes} as nccl-tests counts them (the whole
     * buffer, {@code count} float32 elements), {@code seconds} per op (the mean over the timed iterations,
     * the largest over the ranks), the bandwidths in bytes per second, the ranks whose result was wrong, and
     * this rank's own first wrong element ({@code null} when its result was right).
     */
    public record Row(Op op, long bytes, long count, double seconds, double algBandwidth, double busBandwidth, List<Integer> wrongRanks,
                      String problem) {
        public boolean checked() {
            return wrongRanks.isEmpty();
        }
    }

    /**
     * Measures {@code op} on every rank of {@code comm} for about {@code requestedBytes} (the per-rank chunk is
     * rounded down to whole elements, at least one, so the buffer holds {@code size} equal chunks): {@code warmup}
     * untimed and {@code iters} timed runs, then the check. Every rank calls it with the same arguments.
     */
    public static Row measure(Communicator comm, Op op, long requestedBytes, int warmup, int iters) {
        int n = comm.size(), rank = comm.rank();
        long count = op == Op.ALL_REDUCE ? Math.max(1, requestedBytes / DTYPE.byteSize())
                : Math.max(1, requestedBytes / DTYPE.byteSize() / n) * n;
        long chunk = count / n;
        String problem;
        long nanos;
        try (TensorScope ignored = TensorScope.open()) {
            Tensor full = Tensor.empty(DTYPE, comm.device(), count);
            Tensor shard = op == Op.ALL_REDUCE ? null : Tensor.empty(DTYPE, comm.device(), chunk);
            Runnable run = switch (op) {
                case ALL_REDUCE -> () -> comm.allReduceSum(full);
                case ALL_GATHER -> () -> comm.allGather(shard, full);
                case REDUCE_SCATTER -> () -> comm.reduceScatterSum(full, shard);
            };
            fillInputs(op, full, shard, rank, n);
            for (int i = 0; i < warmup; i++) run.run();
            Cuda.synchronize(comm.device());
            comm.barrier();
            long start = System.nanoTime();
            for (int i = 0; i < iters; i++) run.run();
            // On a GPU the collectives are only queued; on the CPU they are done when they return.
            Cuda.synchronize(comm.device());
            nanos = System.nanoTime() - start;
            if (op == Op.ALL_REDUCE) {
                // The all-reduce sums in place, so the timed runs compounded the sums: check one run from fresh inputs.
                fillInputs(op, full, shard, rank, n);
                run.run();
                Cuda.synchronize(comm.device());
            }
            problem = check(op, op == Op.REDUCE_SCATTER ? shard : full, rank, n, requestedBytes);
        }
        long[] all = allGather(comm, nanos, problem == null ? 0 : 1);
        long slowest = 0;
        List<Integer> wrongRanks = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            slowest = Math.max(slowest, all[2 * r]);
            if (all[2 * r + 1] != 0) wrongRanks.add(r);
        }
        double seconds = slowest / 1e9 / iters;
        long bytes = count * DTYPE.byteSize();
        double algbw = bytes / seconds;
        return new Row(op, bytes, count, seconds, algbw, algbw * op.busFactor(n), List.copyOf(wrongRanks), problem);
    }

    /**
     * all_reduce: rank r's buffer holds r+1, so every sum is n(n+1)/2. all_gather: rank r's shard holds r+1,
     * so chunk k of the result holds k+1. reduce_scatter: chunk k of rank r's buffer holds r+k+1, so rank k's
     * shard holds n(n+1)/2 + n·k.
     */
    private static void fillInputs(Op op, Tensor full, Tensor shard, int rank, int n) {
        switch (op) {
            case ALL_REDUCE -> Copies.fill(full, rank + 1);
            case ALL_GATHER -> Copies.fill(shard, rank + 1);
            case REDUCE_SCATTER -> {
                long chunk = shard.numel();
                for (int k = 0; k < n; k++) {
                    try (Tensor part = Views.narrow(full, 0, k * chunk, chunk)) {
                        Copies.fill(part, rank + k + 1);
                    }
                }
            }
        }
    }

    /** What element {@code i} of this rank's result must be (see {@link #fillInputs}). */
    private static float expected(Op op, long i, long chunk, int rank, int n) {
        return switch (op) {
            case ALL_REDUCE -> n * (n + 1) / 2f;
            case ALL_GATHER -> i / chunk + 1;
            case REDUCE_SCATTER -> n * (n + 1) / 2f + (float) n * rank;
        };
    }

    /** Null when every element of {@code result} is right; else the first wrong one and how many are wrong. */
    private static String check(Op op, Tensor result, int rank, int n, long requestedBytes) {
        long total = result.numel(), chunk = op == Op.ALL_GATHER ? total / n : total;
        long wrong = 0, first = -1;
        float firstGot = 0;
        for (long from = 0; from < total; from += CHECK_CHUNK) {
            long len = Math.min(CHECK_CHUNK, total - from);
            float[] got;
            try (Tensor part = Views.narrow(result, 0, from, len)) {
                got = part.toFloatArray();
            }
            for (int j = 0; j < len; j++) {
                if (got[j] == expected(op, from + j, chunk, rank, n)) continue;
                if (wrong++ == 0) {
                    first = from + j;
                    firstGot = got[j];
                }
            }
        }
        if (wrong == 0) return null;
        return String.format(Locale.ROOT, "%s of %s on rank %d: %d of %d elements wrong; the first, element %d, is %s, expected %s",
                op.label(), bytesLabel(requestedBytes), rank, wrong, total, first, firstGot, expected(op, first, chunk, rank, n));
    }

    /**
     * The largest power-of-two size in bytes, at most {@code limit}, whose buffers fit on every rank: a rank
     * needs about three times the size (the buffer, a shard, and room for the library's own temporary
     * copies) of the memory its device has free, which on the CPU it shares with the {@code ranksHere}
     * ranks of its node. Every rank calls it and gets the same answer.
     */
    public static long largestFitting(Communicator comm, long limit, int ranksHere) throws IOException {
        long free = comm.device().type() == Device.Type.CUDA ? Cuda.memory(comm.device()).free() : availableHostMemory() / ranksHere;
        long fits = limit;
        for (long a : allGather(comm, Long.highestOneBit(Math.max(1, free / 3)))) fits = Math.min(fits, a);
        return fits;
    }

    /** The kernel's estimate of the memory that can be had without swapping (MemAvailable of /proc/meminfo). */
    private static long availableHostMemory() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        throw new IOException("/proc/meminfo has no MemAvailable line");
    }

    /**
     * Every rank's {@code mine}, concatenated in rank order: an all-gather of a few numbers through the sum of
     * arrays every communicator has, each rank adding its values into zeros at its own place.
     */
    public static long[] allGather(Communicator comm, long... mine) {
        long[] all = new long[comm.size() * mine.length];
        System.arraycopy(mine, 0, all, comm.rank() * mine.length, mine.length);
        comm.allReduceSum(all);
        return all;
    }

    /** 1K, 256M, 1G, or the bytes themselves when they are no whole power-of-two unit. */
    public static String bytesLabel(long bytes) {
        String[] units = {"G", "M", "K"};
        for (int u = 0; u < units.length; u++) {
            long unit = 1L << (10 * (3 - u));
            if (bytes >= unit && bytes % unit == 0) return bytes / unit + units[u];
        }
        return Long.toString(bytes);
    }
}
