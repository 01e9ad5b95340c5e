package dev.fullshard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fullshard.bindings.CpuFlags;
import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.io.AtomicFile;
import dev.fullshard.io.HfConfig;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.tensor.Device;
import dev.fullshard.train.Benchmark;
import dev.fullshard.train.ConfigException;
import dev.fullshard.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code fullshard bench}: how fast training runs here. Alone it is one rank; under the launcher
 * ({@code launcher --nnodes N --nproc M bench ...}) every rank runs it. It times real training steps on
 * synthetic tokens and prints tokens/s, model TFLOP/s, MFU, the step's split and memory per rank (rank 0),
 * and writes the same as JSON. {@code --sweep-world} runs it at several world sizes on this node and
 * reports weak scaling ({@link ScalingReport}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure training throughput (tokens/s, TFLOP/s, MFU, step split, memory) on synthetic tokens.",
        subcommands = {ScalingReport.Command.class, BenchCommCommand.class})
public final class BenchCommand implements Callable<Integer> {
    /** Dense bf16 peaks from the vendors' datasheets, TFLOP/s, by a part of the name CUDA reports. Most specific first. */
    static final List<Map.Entry<String, Double>> GPU_PEAK_BF16_TFLOPS = List.of(
            Map.entry("H200", 989.0), Map.entry("H100 PCIe", 756.0), Map.entry("H100 NVL", 835.0), Map.entry("H100", 989.0),
            Map.entry("A100", 312.0), Map.entry("L40S", 362.0));

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "train.yaml",
            description = "Take model, batch, sequence length, precision, sharding and checkpointing from this config; flags override.")
    Path config;

    @Parameters(index = "1..*", paramLabel = "key.sub=value", description = "Overrides of train.yaml keys, as for train.")
    List<String> overrides = List.of();

    @Option(names = "--preset", description = "A model shape: tiny, 125m, 1b or 8b, with random weights (default: tiny without train.yaml or --model).")
    String preset;

    @Option(names = "--arch", defaultValue = "llama", description = "With --preset: llama, qwen2, qwen3 or mistral (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face model directory, whose weights are loaded.")
    Path model;

    @Option(names = "--batch", description = "Sequences per micro-batch, per rank (default 1, or training.micro_batch_size).")
    Integer batch;

    @Option(names = "--seq-len", description = "Tokens per sequence (default 512, or data.max_seq_len).")
    Integer seqLen;

    @Option(names = "--accumulation", description = "Micro-batches per rank per optimizer step (default 1).")
    Integer accumulation;

    @Option(names = "--mixed-precision", description = "bf16, fp16 or fp32 (default: bf16 on a GPU or a CPU with bfloat16 in hardware, else fp32).")
    String mixedPrecision;

    @Option(names = "--sharding", description = "full_shard, shard_grad_op, no_shard or hybrid_shard (default full_shard).")
    String sharding;

    @Option(names = "--activation-checkpointing", negatable = true, description = "Recompute each layer's forward in backward.")
    Boolean checkpointing;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--steps", defaultValue = "10", description = "Measured steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "Steps run first and not counted (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--peak-tflops", description = "The peak the MFU is against, per rank (default: the GPU's datasheet bf16 figure; on a CPU, a matrix product measured here).")
    Double peakTflops;

    @Option(names = "--json", defaultValue = "bench.json", paramLabel = "FILE", description = "Where rank 0 writes the figures (default: ${DEFAULT-VALUE}).")
    Path json;

    @Option(names = "--sweep-world", split = ",", paramLabel = "N,N,...",
            description = "Run at each of these world sizes on this node (through the launcher), the per-rank batch fixed, and report weak scaling.")
    List<Integer> sweepWorld;

    @Override
    public Integer call() throws Exception {
        if (sweepWorld != null) return ScalingReport.sweep(spec, sweepWorld, json);
        Benchmark.Setup setup;
        TrainConfig.DeviceChoice choice;
        try {
            TrainConfig train = config == null ? null : TrainConfig.load(config, overrides);
            choice = train != null && device.equals("auto") ? train.device() : deviceChoice(device);
            setup = setup(train, choice);
        } catch (ConfigException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return 2;
        }
        Benchmark.Result r = Benchmark.run(setup, choice);
        if (r.rank() != 0) return 0;
        Peak peak = peak(r, setup);
        PrintWriter out = spec.commandLine().getOut();
        print(out, setup, r, peak);
        ObjectNode doc = json(setup, r, peak);
        AtomicFile.write(json.toAbsolutePath(), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(doc));
        out.println("json: " + json);
        return 0;
    }

    private Benchmark.Setup setup(TrainConfig train, TrainConfig.DeviceChoice choice) throws Exception {
        if (model != null && preset != null) throw new IllegalArgumentException("--model and --preset: give one");
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be 0 or more, got " + warmup);
        Path dir = model != null ? model : preset == null && train != null ? train.model().path() : null;
        ModelConfig config = dir != null ? HfConfig.read(dir) : ModelPresets.parse(preset == null ? "tiny" : preset).config(InitModelCommand.architecture(arch));
        String name = dir != null ? dir.getFileName().toString() : (preset == null ? "tiny" : preset);
        int b = batch != null ? batch : train != null ? train.training().microBatchSize() : 1;
        int t = seqLen != null ? seqLen : train != null ? train.data().maxSeqLen() : 512;
        int a = accumulation != null ? accumulation : 1;
        TrainConfig.Precision precision = mixedPrecision != null ? precision(mixedPrecision)
                : train != null ? train.mixedPrecision() : defaultPrecision(choice);
        TrainConfig.Distributed distributed = train != null ? train.distributed()
                : new TrainConfig.Distributed(TrainConfig.Sharding.FULL_SHARD, true, TrainConfig.Precision.FP32, TrainConfig.GradientSync.EVERY_MICRO_BATCH, 0); // train.yaml's defaults
        if (sharding != null) {
            distributed = new TrainConfig.Distributed(shardingMode(sharding), distributed.prefetch(), distributed.reduceDtype(), distributed.gradientSync(),
                    distributed.shardGroupSize());
        }
        boolean ac = checkpointing != null ? checkpointing : train != null && train.training().activationCheckpointing();
        return new Benchmark.Setup(config, dir, name, b, t, a, precision, distributed, ac, warmup, steps);
    }

    /** The {@code --device} of bench and its subcommands. */
    static TrainConfig.DeviceChoice deviceChoice(String name) {
        for (TrainConfig.DeviceChoice c : TrainConfig.DeviceChoice.values()) if (c.name().equalsIgnoreCase(name)) return c;
        throw new IllegalArgumentException("--device " + name + ": expected auto, cpu or cuda");
    }

    private static TrainConfig.Precision defaultPrecision(TrainConfig.DeviceChoice choice) {
        boolean gpu = choice == TrainConfig.DeviceChoice.CUDA || choice == TrainConfig.DeviceChoice.AUTO && CudaLibraries.available();
        return gpu || CpuFlags.nativeBf16() ? TrainConfig.Precision.BF16 : TrainConfig.Precision.FP32;
    }

    private static TrainConfig.Precision precision(String name) {
        TrainConfig.Precision p = TrainConfig.Precision.parse(name);
        if (p == null) throw new IllegalArgumentException("--mixed-precision " + name + ": expected bf16, fp16 or fp32");
        return p;
    }

    private static TrainConfig.Sharding shardingMode(String name) {
        for (TrainConfig.Sharding s : TrainConfig.Sharding.values()) if (s.name().equalsIgnoreCase(name)) return s;
        throw new IllegalArgumentException("--sharding " + name + ": expected full_shard, shard_grad_op, no_shard or hybrid_shard");
    }

    /** The per-rank peak the MFU is against, and where it comes from. */
    record Peak(double tflops, String source) {
    }

    private Peak peak(Benchmark.Result r, Benchmark.Setup s) {
        if (peakTflops != null) return new Peak(peakTflops, "--peak-tflops");
        if (r.device().type() == Device.Type.CUDA) {
            String gpu = CudaLibraries.gpus().get(r.device().index()).name();
            for (Map.Entry<String, Double> e : GPU_PEAK_BF16_TFLOPS) {
                if (gpu.contains(e.getKey())) return new Peak(e.getValue(), gpu + " dense bf16 datasheet peak");
            }
            return new Peak(Double.NaN, gpu + " is not in the table of peaks: give --peak-tflops");
        }
        return new Peak(r.gemmCeilingTflopsPerRank(), "measured " + s.precision().dtype().torchName()
                + " matrix product on this CPU (every rank at once), not a datasheet peak");
    }

    private static void print(PrintWriter out, Benchmark.Setup s, Benchmark.Result r, Peak peak) {
        TorchLibrary.Loaded torch = TorchLibrary.load();
        long hosts = r.hosts().stream().distinct().count();
        out.printf(Locale.ROOT, "bench: %s (%s), %s, %s%s%n", s.modelName(), s.model().architecture().className(), s.precision().name().toLowerCase(Locale.ROOT),
                s.distributed().sharding().name().toLowerCase(Locale.ROOT), s.checkpointing() ? ", activation checkpointing" : "");
        out.printf(Locale.ROOT, "bench: %d rank%s on %d host%s (%s), %s; libtorch %s (%s), %d intra-op threads per rank%n", r.world(), r.world() == 1 ? "" : "s",
                hosts, hosts == 1 ? "" : "s", String.join(", ", r.hosts().stream().distinct().toList()), r.device(), torch.version(),
                torch.source().name().toLowerCase(Locale.ROOT), DoctorCommand.intraOpThreads());
        out.printf(Locale.ROOT, "bench: per rank %d x %d tokens x %d micro-batch%s per step; %d warm-up step%s, %d measured%n%n", s.microBatch(), s.seqLen(),
                s.accumulation(), s.accumulation() == 1 ? "" : "es", s.warmupSteps(), s.warmupSteps() == 1 ? "" : "s", s.steps());
        out.printf(Locale.ROOT, "%-26s %14s %14s%n", "", "total", "per rank");
        out.printf(Locale.ROOT, "%-26s %,14.0f %,14.0f%n", "tokens/s", r.tokensPerSecond(), r.tokensPerSecondPerRank());
        out.printf(Locale.ROOT, "%-26s %14.4f %14.4f   (%.3g GFLOP per token: 6N + 12·L·H·Q·T)%n", "model TFLOP/s", r.tflopsPerRank() * r.world(),
                r.tflopsPerRank(), r.flopsPerToken() / 1e9);
        out.printf(Locale.ROOT, "%-26s %14s %13.1f%%   (of %.4g TFLOP/s per rank: %s)%n%n", "MFU", "", 100 * r.tflopsPerRank() / peak.tflops(),
                peak.tflops(), peak.source());
        out.printf(Locale.ROOT, "%-26s %10.4f s%n", "step (mean of " + s.steps() + ")", r.stepSeconds());
        share(out, "  compute", r.computeSeconds(), r.stepSeconds());
        share(out, "  exposed communication", r.communicationSeconds(), r.stepSeconds());
        share(out, "  optimizer", r.optimizerSeconds(), r.stepSeconds());
        out.printf(Locale.ROOT, "%nmemory per rank (the largest)%n");
        String[][] rows = {{"weights (fp32 master)", "parameters"}, {"gradients", "gradients"}, {"optimizer state", "optimizer"},
                {"gathered weights peak", "gathered_peak"}, {"unsharded gradients peak", "unsharded_gradients_peak"}, {"activations peak", "activations_peak"}};
        long sum = 0;
        for (String[] row : rows) {
            long bytes = r.memory().get(row[1]);
            sum += bytes;
            out.printf(Locale.ROOT, "  %-26s %10.1f MiB%n", row[0], bytes / 1048576.0);
        }
        out.printf(Locale.ROOT, "  %-26s %10.1f MiB%n", "sum", sum / 1048576.0);
        if (r.memory().get("device_used") > 0) out.printf(Locale.ROOT, "  %-26s %10.1f MiB%n", "in use on the GPU", r.memory().get("device_used") / 1048576.0);
    }

    private static void share(PrintWriter out, String label, double seconds, double step) {
        out.printf(Locale.ROOT, "%-26s %10.4f s  %5.1f%%%n", label, seconds, 100 * seconds / step);
    }

    private static ObjectNode json(Benchmark.Setup s, Benchmark.Result r, Peak peak) {
        ObjectMapper mapper = new ObjectMapper();
        TorchLibrary.Loaded torch = TorchLibrary.load();
        ObjectNode doc = mapper.createObjectNode();
        ObjectNode setup = doc.putObject("setup");
        setup.put("model", s.modelName()).put("architecture", s.model().architecture().className()).put("micro_batch", s.microBatch())
                .put("seq_len", s.seqLen()).put("accumulation_per_rank", s.accumulation()).put("mixed_precision", s.precision().name().toLowerCase(Locale.ROOT))
                .put("sharding", s.distributed().sharding().name().toLowerCase(Locale.ROOT)).put("activation_checkpointing", s.checkpointing())
                .put("warmup_steps", s.warmupSteps()).put("steps", s.steps());
        ObjectNode env = doc.putObject("environment");
        env.put("world", r.world()).put("device", r.device().toString()).put("libtorch", torch.version())
                .put("libtorch_source", torch.source().name().toLowerCase(Locale.ROOT)).put("libtorch_directory", torch.directory().toString())
                .put("intra_op_threads", DoctorCommand.intraOpThreads()).put("thread_environment", torch.threadEnvironment());
        env.putPOJO("hosts", r.hosts());
        ObjectNode result = doc.putObject("result");
        result.put("tokens_per_second", r.tokensPerSecond()).put("tokens_per_second_per_rank", r.tokensPerSecondPerRank())
                .put("flops_per_token", r.flopsPerToken()).put("tflops_per_rank", r.tflopsPerRank())
                .put("peak_tflops_per_rank", peak.tflops()).put("peak_source", peak.source()).put("mfu", r.tflopsPerRank() / peak.tflops())
                .put("step_s", r.stepSeconds()).put("compute_s", r.computeSeconds()).put("communication_s", r.communicationSeconds())
                .put("optimizer_s", r.optimizerSeconds()).put("tokens_per_step", r.tokensPerStep());
        result.putPOJO("step_times_s", r.stepTimes());
        doc.putPOJO("memory_per_rank_bytes", r.memory());
        return doc;
    }
}
