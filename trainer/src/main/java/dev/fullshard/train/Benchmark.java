package dev.fullshard.train;

import dev.fullshard.data.DataPosition;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.TrainingData;
import dev.fullshard.dist.Communicator;
import dev.fullshard.dist.Communicators;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelFlops;
import dev.fullshard.optim.AdamW;
import dev.fullshard.shard.ParameterSource;
import dev.fullshard.shard.ShardGroups;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code fullshard bench}: the training step of a real run (the same sharded model, micro-batches,
 * collectives and AdamW as {@code fullshard train}) on synthetic tokens, with no data pipeline, no
 * checkpoints and no export, timed after warm-up steps. Every rank calls {@link #run} with the same setup.
 */
public final class Benchmark {
    private static final double LEARNING_RATE = 1e-5;
    /** The longest host name kept per rank. */
    private static final int HOST_BYTES = 64;

    /**
     * What to measure.
     *
     * @param modelDir     a Hugging Face directory whose weights are loaded, or null for random weights of {@code model}
     * @param accumulation micro-batches per rank per optimizer step
     */
    public record Setup(ModelConfig model, Path modelDir, String modelName, int microBatch, int seqLen, int accumulation,
                        TrainConfig.Precision precision, TrainConfig.Distributed distributed, boolean checkpointing, int warmupSteps, int steps) {
        public Setup {
            if (microBatch < 1 || seqLen < 2 || accumulation < 1) throw new IllegalArgumentException("batch, sequence length and accumulation must be positive");
            if (warmupSteps < 0 || steps < 1) throw new IllegalArgumentException("at least one measured step, and no negative warm-up");
        }
    }

    /**
     * The figures, for the whole job unless said otherwise. Times are means over the measured steps, each
     * averaged over the ranks; memory is the largest rank's.
     */
    public record Result(int rank, int world, List<String> hosts, Device device, double stepSeconds, double computeSeconds, double communicationSeconds,
                         double optimizerSeconds, long tokensPerStep, double flopsPerToken, double gemmCeilingTflopsPerRank,
                         Map<String, Long> memory, List<Double> stepTimes) {
        public double tokensPerSecond() {
            return tokensPerStep / stepSeconds;
        }

        public double tokensPerSecondPerRank() {
            return tokensPerSecond() / world;
        }

        /** Model TFLOP/s per rank (see {@link ModelFlops}). */
        public double tflopsPerRank() {
            return tokensPerSecondPerRank() * flopsPerToken / 1e12;
        }
    }

    private Benchmark() {
    }

    /** As one rank of the job the environment announces (the launcher's, or world 1), on the device {@code choice} gives. */
    public static Result run(Setup s, TrainConfig.DeviceChoice choice) throws IOException {
        Device device = RankDevice.select(choice, System.getenv());
        try (Communicator comm = Communicators.fromEnvironment(System.getenv(), device)) {
            return run(s, comm);
        }
    }

    public static Result run(Setup s, Communicator comm) throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            DType compute = s.precision().dtype();
            TrainConfig.Distributed d = s.distributed();
            try (ShardGroups groups = Trainer.shardGroups(d, comm);
                 ShardedModel model = new ShardedModel(comm, groups, s.model(), Trainer.shardingOptions(d, compute, comm))) {
                if (s.modelDir() != null) Trainer.loadWeights(model, s.modelDir());
                else model.load(randomWeights(s.model()));
                return measure(s, comm, model, compute);
            }
        }
    }

    private static Result measure(Setup s, Communicator comm, ShardedModel model, DType compute) {
        int world = comm.size();
        int globalAccumulation = s.accumulation() * world; // TrainStep gives each rank every world-th micro-batch
        int steps = s.warmupSteps() + s.steps();
        TrainingData data = TrainingData.of(TokenizedDataset.synthetic(s.microBatch() * globalAccumulation * steps, s.seqLen(),
                s.model().vocabSize(), 0), new TrainingData.Options(s.microBatch(), false, false, 0));
        TrainConfig.Training training = new TrainConfig.Training(1, steps, s.microBatch(), globalAccumulation, 0, s.checkpointing(), 0, 1.0);
        AdamW optimizer = new AdamW(model.masterPieces(), 0.9, 0.999, 1e-8, 0.0);
        CausalLm lm = new CausalLm(s.model(), model, Trainer.modelOptions(compute, s.checkpointing(), comm.device()));
        TrainStep step = new TrainStep(comm, model, lm, optimizer, null, training);
        MemoryReport memory = new MemoryReport(comm, model, optimizer);

        double[] sums = new double[3]; // communication, optimizer, step
        List<Double> stepTimes = new ArrayList<>();
        DataPosition at = DataPosition.START;
        for (int i = 0; i < steps; i++) {
            long start = System.nanoTime();
            TrainStep.Result r = step.run(data, at, LEARNING_RATE);
            if (comm.device().type() == Device.Type.CUDA) Cuda.synchronize(comm.device());
            double seconds = (System.nanoTime() - start) / 1e9;
            memory.activations(r.activationBytes());
            at = r.next();
            if (i < s.warmupSteps()) continue;
            sums[0] += r.communicationSeconds();
            sums[1] += r.optimizerSeconds();
            sums[2] += seconds;
            stepTimes.add(seconds);
        }
        comm.allReduceSum(sums);
        double n = (double) s.steps() * world;
        double stepSeconds = sums[2] / n, communication = sums[0] / n, optimizerTime = sums[1] / n;
        double ceiling = comm.device().type() == Device.Type.CPU ? gemmCeilingTflops(compute) : Double.NaN;
        double[] ceilingSum = {Double.isNaN(ceiling) ? 0 : ceiling};
        comm.allReduceSum(ceilingSum);
        long tokensPerStep = (long) s.microBatch() * s.seqLen() * globalAccumulation;
        return new Result(comm.rank(), world, hosts(comm), comm.device(), stepSeconds, stepSeconds - communication - optimizerTime, communication, optimizerTime,
                tokensPerStep, ModelFlops.perToken(s.model(), s.seqLen()), Double.isNaN(ceiling) ? Double.NaN : ceilingSum[0] / world,
                memory.largest(), stepTimes);
    }

    /** Weights as Hugging Face initialises them (normal 0.02, norms 1, biases 0); each rank makes only its pieces. */
    private static ParameterSource randomWeights(ModelConfig config) {
        List<String> names = new ArrayList<>(dev.fullshard.model.Parameters.shapes(config).keySet());
        return (name, start, length, into) -> {
            Tensor piece;
            if (name.endsWith("norm.weight")) piece = Tensor.full(1.0, DType.F32, Device.CPU, length);
            else if (name.endsWith(".bias")) piece = Tensor.zeros(DType.F32, Device.CPU, length);
            else {
                try (Tensor unit = Tensor.randn(names.indexOf(name) * 1_000_003L + start, DType.F32, Device.CPU, length)) {
                    piece = Elementwise.mul(unit, 0.02);
                }
            }
            try (piece) {
                Copies.copyInto(into, piece);
            }
        };
    }

    /**
     * What one rank's matrix products reach here, in TFLOP/s: a square product in the compute dtype, sized
     * to take a tenth of a second or more (at most 4096), timed while every rank runs its own at once, as
     * in training. The CPU's MFU is against this, measured on the spot, not a datasheet figure.
     */
    static double gemmCeilingTflops(DType dtype) {
        int n = 256;
        double seconds;
        do {
            n *= 2;
            seconds = timeProduct(n, dtype, 1);
        } while (seconds < 0.1 && n < 4096);
        int reps = 3;
        return 2.0 * n * n * n * reps / timeProduct(n, dtype, reps) / 1e12;
    }

    private static double timeProduct(int n, DType dtype, int reps) {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor a = Tensor.randn(1, dtype, Device.CPU, n, n), b = Tensor.randn(2, dtype, Device.CPU, n, n);
            Matmul.mm(a, b).close(); // warm-up: the first product also sets up the BLAS threads
            long start = System.nanoTime();
            for (int i = 0; i < reps; i++) Matmul.mm(a, b).close();
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** The kernel's host name: a name lookup (InetAddress) can stall for seconds on a node with odd DNS. */
    private static String hostName() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException e) {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException again) {
                return "unknown";
            }
        }
    }

    /** Every rank's host name, in rank order (one all-reduce of the names' bytes). */
    static List<String> hosts(Communicator comm) {
        String mine = hostName();
        byte[] bytes = Arrays.copyOf(mine.getBytes(StandardCharsets.UTF_8), HOST_BYTES);
        long[] all = new long[HOST_BYTES * comm.size()];
        for (int i = 0; i < HOST_BYTES; i++) all[comm.rank() * HOST_BYTES + i] = bytes[i] & 0xFF;
        comm.allReduceSum(all);
        List<String> hosts = new ArrayList<>();
        for (int r = 0; r < comm.size(); r++) {
            byte[] name = new byte[HOST_BYTES];
            int length = 0;
            while (length < HOST_BYTES && all[r * HOST_BYTES + length] != 0) {
                name[length] = (byte) all[r * HOST_BYTES + length];
                length++;
            }
            hosts.add(new String(name, 0, length, StandardCharsets.UTF_8));
        }
        return hosts;
    }
}
