package dev.fullshard.dist;

import dev.fullshard.dist.Communicator.Pending;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.train.StopRequest;
import dev.fullshard.train.TrainConfig;
import dev.fullshard.train.Trainer;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * A rank of the multi-process tests, started by {@code mpiexec -n N}: {@code allreduce} checks the
 * collectives against sums computed in Java; {@code collectives} does the same for all-gather,
 * reduce-scatter and the asynchronous collectives; {@code train CONFIG [key=value ...]} runs the trainer as one rank.
 * Prints {@code RANK r OK} and exits 0, or prints the mismatches and exits 1.
 */
public final class DistTestMain {
    private DistTestMain() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "allreduce" -> checkRank(DistTestMain::allReduce);
            case "collectives" -> checkRank(DistTestMain::collectives);
            case "train" -> {
                TrainConfig config = TrainConfig.load(Path.of(args[1]), List.of(args).subList(2, args.length));
                long before = Tensor.liveCount();
                Trainer.Result r = Trainer.run(config, StopRequest.none(), new PrintWriter(System.out, true));
                System.out.println("RANK " + System.getenv("PMI_RANK") + " OK steps " + r.steps() + " loss " + r.lastLoss()
                        + " leaked tensors " + (Tensor.liveCount() - before));
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /** The values rank {@code rank} contributes: deterministic, so every rank can compute every other's. */
    private static float[] values(int rank, int n) {
        Random random = new Random(1000 + rank);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3));
        return v;
    }

    private static void allReduce(Communicator comm, List<String> problems) {
        int rank = comm.rank();
        int size = comm.size();
        int n = 100_003;
        // f32: the same left-to-right sum as MPI's for two ranks (a + b is exact-commutative).
        Tensor f32 = Tensor.of(values(rank, n), n);
        comm.allReduceSum(f32);
        float[] expected32 = new float[n];
        for (int r = 0; r < size; r++) {
            float[] v = values(r, n);
            for (int i = 0; i < n; i++) expected32[i] += v[i];
        }
        compare("f32", f32.toFloatArray(), expected32, 0, problems);
        // f64
        double[] d = new double[n];
        float[] mine = values(rank, n);
        for (int i = 0; i < n; i++) d[i] = mine[i] * 1.000000001;
        Tensor f64 = Tensor.of(d, n);
        comm.allReduceSum(f64);
        double[] expected64 = new double[n];
        for (int r = 0; r < size; r++) {
            float[] v = values(r, n);
            for (int i = 0; i < n; i++) expected64[i] += v[i] * 1.000000001;
        }
        double[] got64 = f64.toDoubleArray();
        for (int i = 0; i < n; i++) {
            if (got64[i] != expected64[i]) {
                problems.add("f64[" + i + "] = " + got64[i] + ", expected " + expected64[i]);
                break;
            }
        }
        // bf16 via f32: bf16(Σ f32(bf16(x_r))), the rounding done by libtorch in both cases.
        Tensor bf16 = Tensor.of(values(rank, n), n).to(DType.BF16);
        comm.allReduceSum(bf16);
        float[] sumOfBf16 = new float[n];
        for (int r = 0; r < size; r++) {
            float[] v = Tensor.of(values(r, n), n).to(DType.BF16).to(DType.F32).toFloatArray();
            for (int i = 0; i < n; i++) sumOfBf16[i] += v[i];
        }
        short[] expectedBits = Tensor.of(sumOfBf16, n).to(DType.BF16).toHalfBits();
        if (!Arrays.equals(bf16.toHalfBits(), expectedBits)) problems.add("bf16 sum differs from bf16(Σ f32(bf16(x)))");
        // a strided view is refused, not silently mis-reduced
        try {
            comm.allReduceSum(Tensor.of(values(rank, 16), 4, 4).transpose(0, 1));
            problems.add("a non-contiguous tensor was accepted");
        } catch (IllegalArgumentException expectedFailure) {
            // fine
        }
        // arrays
        double[] da = {rank + 0.5, -rank};
        comm.allReduceSum(da);
        double[] daExpected = {0, 0};
        for (int r = 0; r < size; r++) { daExpected[0] += r + 0.5; daExpected[1] += -r; }
        if (!Arrays.equals(da, daExpected)) problems.add("double[] " + Arrays.toString(da) + " expected " + Arrays.toString(daExpected));
        long[] la = {rank, 1L << 40};
        comm.allReduceSum(la);
        long[] laExpected = {(long) size * (size - 1) / 2, size * (1L << 40)};
        if (!Arrays.equals(la, laExpected)) problems.add("long[] " + Arrays.toString(la) + " expected " + Arrays.toString(laExpected));
        // broadcast
        Tensor b = Tensor.of(values(rank, 1000), 1000);
        comm.broadcast(b, size - 1);
        compare("broadcast", b.toFloatArray(), values(size - 1, 1000), 0, problems);
        double[] bd = {rank};
        comm.broadcast(bd, 0);
        if (bd[0] != 0) problems.add("broadcast double[] gave " + bd[0]);
        comm.barrier();
    }

    /** What rank {@code rank} contributes as int64: large values, so a byte lost or moved shows. */
    private static long[] longs(int rank, int n) {
        Random random = new Random(2000 + rank);
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = random.nextLong();
        return v;
    }

    private static short[] bf16Bits(float[] values) {
        return Tensor.of(values, values.length).to(DType.BF16).toHalfBits();
    }

    /** Every rank's {@code perRank.apply(r)} ({@code n} elements each), concatenated in rank order. */
    private static float[] concatenation(int size, int n, IntFunction<float[]> perRank) {
        float[] all = new float[size * n];
        for (int r = 0; r < size; r++) System.arraycopy(perRank.apply(r), 0, all, r * n, n);
        return all;
    }

    /**
     * Checks a sum over ranks of {@code perRank.apply(r)}'s elements {@code [offset, offset + got.length)}
     * against the float sum in rank order, rounded to bf16 when {@code ulps > 0}. With 2 ranks exactly
     * (a + b is the same in either order, and so is its rounding); with more, MPI may add in another order:
     * within {@code 1e-6 · Σ|x|} plus {@code ulps} bf16 ulps.
     */
    private static void compareSum(String what, float[] got, int size, int offset, IntFunction<float[]> perRank, int ulps, List<String> problems) {
        float[] sum = new float[got.length];
        float[] magnitude = new float[got.length];
        for (int r = 0; r < size; r++) {
            float[] v = perRank.apply(r);
            for (int i = 0; i < got.length; i++) {
                sum[i] += v[offset + i];
                magnitude[i] += Math.abs(v[offset + i]);
            }
        }
        float[] expected = ulps == 0 ? sum : Tensor.of(sum, sum.length).to(DType.BF16).to(DType.F32).toFloatArray();
        for (int i = 0; i < got.length; i++) {
            // bf16 keeps 8 of float32's 24 significand bits: its ulp is float32's times 2^16.
            double tolerance = size == 2 ? 0 : 1e-6 * magnitude[i] + ulps * Math.ulp(Math.abs(expected[i])) * 65536.0;
            if (Math.abs(got[i] - expected[i]) > tolerance) {
                problems.add(what + "[" + i + "] = " + got[i] + ", expected " + expected[i] + " ± " + tolerance);
                return;
            }
        }
    }

    private static void refused(String what, Runnable call, List<String> problems) {
        try {
            call.run();
            problems.add(what + " was accepted");
        } catch (IllegalArgumentException expected) {
            // fine: refused on the calling thread, before anything reached MPI
        }
    }

    /**
     * All-gather (f32, bf16, i64, in place), reduce-scatter (f32, bf16) and asynchronous all-reduce, one at a
     * time, several in flight awaited in and out of order, mixed with blocking collectives; arguments refused
     * before they reach MPI; and an all-gather that really runs while the caller goes on.
     */
    private static void collectives(Communicator comm, List<String> problems) throws InterruptedException {
        int rank = comm.rank();
        int size = comm.size();
        int n = 10_007;

        // all-gather: exactly the ranks' shards, concatenated in rank order
        Tensor full32 = Tensor.zeros(DType.F32, Device.CPU, size, n);
        comm.allGather(Tensor.of(values(rank, n), n), full32);
        float[] gathered = concatenation(size, n, r -> values(r, n));
        if (!Arrays.equals(full32.toFloatArray(), gathered)) problems.add("allGather f32 differs from the concatenation");
        Tensor full16 = Tensor.zeros(DType.BF16, Device.CPU, size * n);
        comm.allGather(Tensor.of(values(rank, n), n).to(DType.BF16), full16);
        if (!Arrays.equals(full16.toHalfBits(), bf16Bits(gathered))) problems.add("allGather bf16 differs from the concatenation");
        Tensor full64 = Tensor.zeros(DType.I64, Device.CPU, size * n);
        comm.allGather(Tensor.of(longs(rank, n), n), full64);
        long[] gatheredLongs = new long[size * n];
        for (int r = 0; r < size; r++) System.arraycopy(longs(r, n), 0, gatheredLongs, r * n, n);
        if (!Arrays.equals(full64.toLongArray(), gatheredLongs)) problems.add("allGather i64 differs from the concatenation");
        // in place: the shard is the full tensor's own slice at this rank
        Tensor inPlace = Tensor.zeros(DType.F32, Device.CPU, size * n);
        Tensor mySlice = inPlace.narrow(0, (long) rank * n, n);
        Copies.copyInto(mySlice, Tensor.of(values(rank, n), n));
        comm.allGather(mySlice, inPlace);
        if (!Arrays.equals(inPlace.toFloatArray(), gathered)) problems.add("in-place allGather differs from the concatenation");

        // reduce-scatter: this rank's slice of the sum; full unchanged
        IntFunction<float[]> fulls = r -> values(100 + r, size * n);
        Tensor rsFull = Tensor.of(fulls.apply(rank), size * n);
        Tensor rsShard = Tensor.zeros(DType.F32, Device.CPU, n);
        comm.reduceScatterSum(rsFull, rsShard);
        compareSum("reduceScatterSum f32", rsShard.toFloatArray(), size, rank * n, fulls, 0, problems);
        if (!Arrays.equals(rsFull.toFloatArray(), fulls.apply(rank))) problems.add("reduceScatterSum changed full (f32)");
        IntFunction<float[]> bf16Fulls = r -> Tensor.of(fulls.apply(r), size * n).to(DType.BF16).to(DType.F32).toFloatArray();
        Tensor rsFull16 = Tensor.of(fulls.apply(rank), size * n).to(DType.BF16);
        short[] rsFull16Before = rsFull16.toHalfBits();
        Tensor rsShard16 = Tensor.zeros(DType.BF16, Device.CPU, n);
        comm.reduceScatterSum(rsFull16, rsShard16);
        compareSum("reduceScatterSum bf16", rsShard16.to(DType.F32).toFloatArray(), size, rank * n, bf16Fulls, 1, problems);
        if (!Arrays.equals(rsFull16.toHalfBits(), rsFull16Before)) problems.add("reduceScatterSum changed full (bf16)");

        // all-reduce, asynchronously
        Tensor ar = Tensor.of(values(rank, n), n);
        Pending arDone = comm.allReduceSumAsync(ar);
        arDone.await();
        compareSum("allReduceSumAsync f32", ar.toFloatArray(), size, 0, r -> values(r, n), 0, problems);
        Tensor ar16 = Tensor.of(values(rank, n), n).to(DType.BF16);
        comm.allReduceSumAsync(ar16).await();
        compareSum("allReduceSumAsync bf16", ar16.to(DType.F32).toFloatArray(), size, 0,
                r -> Tensor.of(values(r, n), n).to(DType.BF16).to(DType.F32).toFloatArray(), 1, problems);

        // several in flight, awaited out of order, then in order
        Tensor agFull = Tensor.zeros(DType.F32, Device.CPU, size * n);
        Tensor rsShardB = Tensor.zeros(DType.BF16, Device.CPU, n);
        Tensor arB = Tensor.of(values(rank, n), n);
        Tensor agFull64 = Tensor.zeros(DType.I64, Device.CPU, size * n);
        Pending a = comm.allGatherAsync(Tensor.of(values(rank, n), n), agFull);
        Pending b = comm.reduceScatterSumAsync(rsFull16, rsShardB);
        Pending c = comm.allReduceSumAsync(arB);
        Pending d = comm.allGatherAsync(Tensor.of(longs(rank, n), n), agFull64);
        d.await();
        b.await();
        a.await();
        c.await();
        b.await();
        if (!Arrays.equals(agFull.toFloatArray(), gathered)) problems.add("out of order: allGather f32 differs");
        if (!Arrays.equals(rsShardB.toHalfBits(), rsShard16.toHalfBits())) problems.add("out of order: reduceScatterSum bf16 differs");
        if (!Arrays.equals(arB.toFloatArray(), ar.toFloatArray())) problems.add("out of order: allReduceSumAsync differs");
        if (!Arrays.equals(agFull64.toLongArray(), gatheredLongs)) problems.add("out of order: allGather i64 differs");
        Tensor agFullC = Tensor.zeros(DType.BF16, Device.CPU, size * n);
        Tensor rsShardC = Tensor.zeros(DType.F32, Device.CPU, n);
        List<Pending> inOrder = List.of(comm.allGatherAsync(Tensor.of(values(rank, n), n).to(DType.BF16), agFullC),
                comm.reduceScatterSumAsync(rsFull, rsShardC));
        for (Pending p : inOrder) p.await();
        if (!Arrays.equals(agFullC.toHalfBits(), full16.toHalfBits())) problems.add("in order: allGather bf16 differs");
        if (!Arrays.equals(rsShardC.toFloatArray(), rsShard.toFloatArray())) problems.add("in order: reduceScatterSum f32 differs");

        // blocking collectives between asynchronous ones run after those issued before them
        Tensor mixedFull = Tensor.zeros(DType.F32, Device.CPU, size * n);
        Pending g = comm.allGatherAsync(Tensor.of(values(rank, n), n), mixedFull);
        double[] ranks = {rank};
        comm.allReduceSum(ranks);
        Tensor bc = Tensor.of(values(rank, 1000), 1000);
        comm.broadcast(bc, size - 1);
        Tensor mixedShard = Tensor.zeros(DType.F32, Device.CPU, n);
        Pending h = comm.reduceScatterSumAsync(rsFull, mixedShard);
        comm.barrier();
        h.await();
        g.await();
        if (ranks[0] != size * (size - 1) / 2.0) problems.add("mixed: allReduceSum(double[]) gave " + ranks[0]);
        compare("mixed: broadcast", bc.toFloatArray(), values(size - 1, 1000), 0, problems);
        if (!Arrays.equals(mixedFull.toFloatArray(), gathered)) problems.add("mixed: allGather differs");
        if (!Arrays.equals(mixedShard.toFloatArray(), rsShard.toFloatArray())) problems.add("mixed: reduceScatterSum differs");

        // split: the even and the odd ranks, each ranked in reverse (key -rank); the group's collectives and the
        // world's, issued interleaved, complete in that one order on every rank
        try (Communicator half = comm.split(rank % 2, -rank)) {
            int[] members = java.util.stream.IntStream.range(0, size).filter(r -> r % 2 == rank % 2).map(r -> -r).sorted().map(r -> -r).toArray();
            int place = java.util.Arrays.stream(members).boxed().toList().indexOf(rank);
            if (half.size() != members.length || half.rank() != place) {
                problems.add("split: rank " + half.rank() + " of " + half.size() + ", expected " + place + " of " + members.length);
            }
            Tensor worldFull = Tensor.zeros(DType.F32, Device.CPU, size * n), groupSum = Tensor.of(values(rank, n), n);
            Tensor groupFull = Tensor.zeros(DType.F32, Device.CPU, half.size() * n);
            Pending worldGather = comm.allGatherAsync(Tensor.of(values(rank, n), n), worldFull);
            Pending groupReduce = half.allReduceSumAsync(groupSum);
            Pending groupGather = half.allGatherAsync(Tensor.of(values(rank, n), n), groupFull);
            double[] total = {1};
            comm.allReduceSum(total);
            groupReduce.await();
            groupGather.await();
            worldGather.await();
            compareSum("split: the group's allReduceSum", groupSum.toFloatArray(), members.length, 0, i -> values(members[i], n), 0, problems);
            if (!Arrays.equals(groupFull.toFloatArray(), concatenation(members.length, n, i -> values(members[i], n)))) {
                problems.add("split: the group's allGather differs from its members' shards in their new rank order");
            }
            if (!Arrays.equals(worldFull.toFloatArray(), gathered)) problems.add("split: the world's allGather between the group's differs");
            if (total[0] != size) problems.add("split: the world's allReduceSum gave " + total[0]);
        }

        // bad arguments are refused on the calling thread, on every rank alike, and the ranks stay in step
        Tensor shard = Tensor.of(values(rank, 16), 16);
        refused("allGather into a full of the wrong size", () -> comm.allGatherAsync(shard, Tensor.zeros(DType.F32, Device.CPU, size * 16 + 1)), problems);
        refused("allGather of a non-contiguous shard", () -> comm.allGatherAsync(Tensor.of(values(rank, 16), 4, 4).transpose(0, 1),
                Tensor.zeros(DType.F32, Device.CPU, size * 16)), problems);
        refused("allGather across dtypes", () -> comm.allGatherAsync(shard, Tensor.zeros(DType.BF16, Device.CPU, size * 16)), problems);
        Tensor overlapping = Tensor.zeros(DType.F32, Device.CPU, size * 16);
        refused("allGather from another rank's slice", () -> comm.allGatherAsync(overlapping.narrow(0, (long) ((rank + 1) % size) * 16, 16),
                overlapping), problems);
        refused("reduceScatterSum of int64", () -> comm.reduceScatterSumAsync(Tensor.zeros(DType.I64, Device.CPU, size * 16),
                Tensor.zeros(DType.I64, Device.CPU, 16)), problems);
        refused("reduceScatterSum into a shard of the wrong size", () -> comm.reduceScatterSumAsync(Tensor.zeros(DType.F32, Device.CPU, size * 16),
                Tensor.zeros(DType.F32, Device.CPU, 15)), problems);

        // an asynchronous all-gather returns at once and completes while the caller goes on
        comm.barrier();
        if (rank == size - 1) Thread.sleep(500);
        long start = System.nanoTime();
        Pending late = comm.allGatherAsync(Tensor.of(values(rank, n), n), agFull);
        long issuedMillis = (System.nanoTime() - start) / 1_000_000;
        late.await();
        long doneMillis = (System.nanoTime() - start) / 1_000_000;
        if (rank == 0) {
            System.out.println("RANK 0 allGatherAsync returned after " + issuedMillis + " ms, completed after " + doneMillis + " ms");
            if (issuedMillis > 250) problems.add("allGatherAsync took " + issuedMillis + " ms to return: it waited for the collective");
            if (doneMillis < 250) problems.add("await returned after " + doneMillis + " ms, before the last rank joined (500 ms)");
        }
        if (!Arrays.equals(agFull.toFloatArray(), gathered)) problems.add("late allGather differs");
        comm.barrier();
    }

    /** Runs {@code checks} on this rank's communicator, then prints {@code RANK r OK of N}, or the problems and exits 1. */
    private static void checkRank(RankChecks checks) throws Exception {
        List<String> problems = new ArrayList<>();
        int rank, size;
        try (Communicator comm = Communicators.fromEnvironment(); TensorScope ignored = TensorScope.open()) {
            rank = comm.rank();
            size = comm.size();
            if (!(comm instanceof MpiCommunicator)) problems.add("expected an MpiCommunicator, got " + comm.getClass().getSimpleName());
            checks.run(comm, problems);
        }
        if (!problems.isEmpty()) {
            System.out.println("RANK " + rank + " FAILED:\n  " + String.join("\n  ", problems));
            System.exit(1);
        }
        System.out.println("RANK " + rank + " OK of " + size);
    }

    private interface RankChecks {
        /** Adds what is wrong to {@code problems}. */
        void run(Communicator comm, List<String> problems) throws Exception;
    }

    private static void compare(String what, float[] got, float[] expected, float tolerance, List<String> problems) {
        for (int i = 0; i < got.length; i++) {
            if (Math.abs(got[i] - expected[i]) > tolerance) {
                problems.add(what + "[" + i + "] = " + got[i] + ", expected " + expected[i]);
                return;
            }
        }
    }
}
