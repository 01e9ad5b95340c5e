package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.OpProfile;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Forward + backward tokens per second of a preset model on this machine's CPU: one line per
 * configuration (preset, compute dtype, activation checkpointing), the median of the timed steps
 * after warm-up steps. Parameters and gradient buffers are float32, as a trainer keeps them. With
 * {@code FULLSHARD_PROFILE_OPS=1} it also prints the operators that took the timed steps' time
 * ({@link OpProfile}), and the Java heap allocated per step.
 *
 * <pre>java ... ModelThroughput PRESET DTYPE CHECKPOINTING BATCH SEQ_LEN WARMUP STEPS</pre>
 */
public final class ModelThroughput {
    private static final com.sun.management.ThreadMXBean ALLOCATIONS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    private ModelThroughput() {
    }

    public static void main(String[] args) {
        ModelPresets preset = ModelPresets.parse(args[0]);
        DType compute = DType.valueOf(args[1].toUpperCase(Locale.ROOT));
        boolean checkpointing = Boolean.parseBoolean(args[2]);
        int batch = Integer.parseInt(args[3]), seqLen = Integer.parseInt(args[4]);
        int warmup = Integer.parseInt(args[5]), steps = Integer.parseInt(args[6]);
        TorchLibrary.Loaded torch = TorchLibrary.load();
        ModelConfig config = preset.config(ModelConfig.Architecture.LLAMA);
        try (TensorScope ignored = TensorScope.open()) {
            Parameters params = Parameters.random(config, 0, DType.F32);
            Parameters grads = Parameters.zeros(config, DType.F32);
            CausalLm model = new CausalLm(params, CausalLm.Options.defaults().withComputeDtype(compute).withCheckpointing(checkpointing));
            SplittableRandom random = new SplittableRandom(1);
            long[] ids = new long[batch * seqLen];
            double[] seconds = new double[steps];
            long allocatedBefore = 0;
            for (int step = -warmup; step < steps; step++) {
                if (step == 0) {
                    OpProfile.reset();
                    allocatedBefore = ALLOCATIONS.getCurrentThreadAllocatedBytes();
                }
                for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(config.vocabSize());
                try (TensorScope stepScope = TensorScope.open()) {
                    Tensor tokens = Tensor.of(ids, batch, seqLen);
                    Tensor targets = CausalLm.shiftLabels(tokens);
                    long start = System.nanoTime();
                    model.forwardBackward(tokens, targets, grads);
                    if (step >= 0) seconds[step] = (System.nanoTime() - start) / 1e9;
                }
            }
            long allocatedPerStep = (ALLOCATIONS.getCurrentThreadAllocatedBytes() - allocatedBefore) / steps;
            double total = Arrays.stream(seconds).sum();
            Arrays.sort(seconds);
            double median = seconds[steps / 2];
            long parameters = params.numel();
            System.out.printf(Locale.ROOT, "%-5s %-8s checkpointing=%-5s batch=%d seq=%d params=%,d: %.0f tokens/s (median step %.3f s, min %.3f s; %s)%n",
                    preset.label(), compute, checkpointing, batch, seqLen, parameters, batch * seqLen / median, median, seconds[0],
                    torch.threadEnvironment());
            if (OpProfile.ON) {
                System.out.print(OpProfile.table(12, steps, (long) (total * 1e9)));
                System.out.printf(Locale.ROOT, "Java heap allocated per step: %,d bytes%n", allocatedPerStep);
            }
        }
    }
}
