package dev.fullshard.dist;

import dev.fullshard.tensor.DType;
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

/**
 * A rank of the multi-process tests, started by {@code mpiexec -n N}: {@code allreduce} checks the
 * collectives against sums computed in Java; {@code train CONFIG [key=value ...]} runs the trainer as one rank.
 * Prints {@code RANK r OK} and exits 0, or prints the mismatches and exits 1.
 */
public final class DistTestMain {
    private DistTestMain() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "allreduce" -> allReduce();
            case "train" -> {
                Trainer.Result r = Trainer.run(TrainConfig.load(Path.of(args[1]), List.of(args).subList(2, args.length)), StopRequest.none(),
                        new PrintWriter(System.out, true));
                System.out.println("RANK " + System.getenv("PMI_RANK") + " OK steps " + r.steps() + " loss " + r.lastLoss());
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

    private static void allReduce() {
        List<String> problems = new ArrayList<>();
        int rank, size;
        try (Communicator comm = Communicators.fromEnvironment(); TensorScope ignored = TensorScope.open()) {
            rank = comm.rank();
            size = comm.size();
            if (!(comm instanceof MpiCommunicator)) problems.add("expected an MpiCommunicator, got " + comm.getClass().getSimpleName());
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
        if (!problems.isEmpty()) {
            System.out.println("RANK " + rank + " FAILED:\n  " + String.join("\n  ", problems));
            System.exit(1);
        }
        System.out.println("RANK " + rank + " OK of " + size);
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
