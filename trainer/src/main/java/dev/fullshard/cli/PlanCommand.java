package dev.fullshard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.io.HfConfig;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.shard.ShardLayout;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.train.ConfigException;
import dev.fullshard.train.MemoryPlan;
import dev.fullshard.train.MemoryPlan.Job;
import dev.fullshard.train.TrainConfig;
import dev.fullshard.train.TrainConfig.Sharding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code fullshard plan}: the memory one rank of a training job needs, per category, computed without any
 * hardware ({@link MemoryPlan}); whether that fits a device, and what would make it fit.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Plan the memory per rank of a training job, without hardware: fp32 weights, gradients and AdamW state, "
                + "gathered weights, unsharded gradients and activations, as training's memory report measures them, plus "
                + "estimates of working buffers and GPU overhead; whether it fits a device, and what to change if not.",
                "Exit codes: 0 planned, 1 bad input, 2 bad configuration or command line."})
public final class PlanCommand implements Callable<Integer> {
    /** Total memory of common GPUs as nvidia-smi reports it. */
    private static final Map<String, Long> GPUS = gpus();

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "train.yaml",
            description = "A training config: model, sharding, dtype, checkpointing, micro-batch and sequence length come from it (flags override).")
    Path config;

    @Parameters(index = "1..*", paramLabel = "key.sub=value", description = "Overrides of train.yaml keys, as for fullshard train.")
    List<String> overrides = List.of();

    @Option(names = "--preset", description = "A model shape: tiny, 125m, 1b or 8b (with the bundled 32k vocabulary).")
    String preset;

    @Option(names = "--arch", defaultValue = "llama", description = "With --preset: llama, qwen2, qwen3 or mistral (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face model directory, or its config.json (only the config is read).")
    Path model;

    @Option(names = "--world", description = "Ranks (GPUs) in the job (default: 1).")
    Integer world;

    @Option(names = "--nodes", description = "Nodes in the job, with --gpus-per-node (world = nodes × gpus per node).")
    Integer nodes;

    @Option(names = "--gpus-per-node", description = "Ranks per node; hybrid_shard's shard group unless --shard-group-size says otherwise.")
    Integer gpusPerNode;

    @Option(names = "--sharding", description = "full_shard, shard_grad_op, no_shard or hybrid_shard (default: full_shard).")
    String sharding;

    @Option(names = "--shard-group-size", description = "hybrid_shard: ranks that split the model among themselves.")
    Integer shardGroupSize;

    @Option(names = "--mixed-precision", description = "Compute dtype: bf16, fp16 or fp32 (default: bf16).")
    String mixedPrecision;

    @Option(names = "--reduce-dtype", description = "Dtype of unsharded gradients: fp32, bf16 or fp16 (default: fp32).")
    String reduceDtype;

    @Option(names = "--activation-checkpointing", negatable = true, description = "Recompute block activations in the backward (default: off).")
    Boolean activationCheckpointing;

    @Option(names = "--micro-batch", description = "Sequences per forward/backward (default: 4).")
    Integer microBatch;

    @Option(names = "--seq-len", description = "Tokens per sequence (default: 512).")
    Integer seqLen;

    @Option(names = "--device", description = "cuda or cpu (default: cuda, or train.yaml's device when it says cpu).")
    String device;

    @Option(names = "--device-memory", paramLabel = "SIZE", description = "Memory of one device, e.g. 80GiB, 80GB, 81920MiB.")
    String deviceMemory;

    @Option(names = "--gpu", description = "A GPU whose memory to fit: h100, h200, a100-80, a100-40 or l40s.")
    String gpu;

    @Option(names = "--json", description = "Print the plan as one JSON object.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        TrainConfig train = null;
        if (config != null) {
            try {
                train = TrainConfig.load(config, overrides);
            } catch (ConfigException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return 2;
            }
        }
        ModelChoice chosen = model(train);
        Job job = job(train);
        MemoryPlan plan = MemoryPlan.of(chosen.config(), job);
        Long capacity = capacity();
        List<Suggestion> suggestions = capacity == null || plan.total() <= capacity ? List.of() : suggestions(chosen.config(), job, capacity);
        PrintWriter out = spec.commandLine().getOut();
        if (json) out.println(toJson(chosen, job, plan, capacity, suggestions));
        else print(out, chosen, job, plan, capacity, suggestions);
        return 0;
    }

    private record ModelChoice(ModelConfig config, String label) {
    }

    private record Suggestion(String change, MemoryPlan plan) {
    }

    // ================================================================ inputs

    private ModelChoice model(TrainConfig train) throws Exception {
        int given = (preset != null ? 1 : 0) + (model != null ? 1 : 0);
        if (given > 1) throw new IllegalArgumentException("--preset and --model: give one model, not both");
        if (preset != null) {
            ModelPresets p = ModelPresets.parse(preset);
            return new ModelChoice(p.config(InitModelCommand.architecture(arch)), "preset " + p.label());
        }
        Path dir = model != null ? model : train != null ? train.model().path() : null;
        if (dir == null) throw new IllegalArgumentException("no model: give --preset NAME, --model DIR or a train.yaml");
        return new ModelChoice(HfConfig.read(dir), dir.toString());
    }

    private Job job(TrainConfig train) {
        int ranks = world();
        Device.Type type = deviceType(train);
        Job base = train != null ? Job.of(train, ranks, type)
                : new Job(ranks, Sharding.FULL_SHARD, 0, true, DType.BF16, DType.F32, TrainConfig.GradientSync.EVERY_MICRO_BATCH, 1, false, 4, 512, type);
        int group = shardGroupSize != null ? shardGroupSize : gpusPerNode != null && base.shardGroupSize() == 0 ? gpusPerNode : base.shardGroupSize();
        Sharding mode = sharding != null ? parseSharding(sharding) : base.sharding();
        if (mode == Sharding.HYBRID_SHARD && ranks > 1 && group == 0) {
            throw new IllegalArgumentException("--sharding hybrid_shard needs the shard group: give --gpus-per-node or --shard-group-size");
        }
        return new Job(ranks, mode, group, base.prefetch(), dtype("--mixed-precision", mixedPrecision, base.computeDtype()),
                dtype("--reduce-dtype", reduceDtype, base.reduceDtype()), base.gradientSync(), base.gradientAccumulationSteps(),
                activationCheckpointing != null ? activationCheckpointing : base.activationCheckpointing(),
                positive("--micro-batch", microBatch, base.microBatchSize()), atLeastTwo(seqLen, base.seqLen()), type);
    }

    private int world() {
        if (world != null && (nodes != null || gpusPerNode != null) && world != (nodes == null ? 1 : nodes) * (gpusPerNode == null ? 1 : gpusPerNode)) {
            throw new IllegalArgumentException("--world " + world + " disagrees with --nodes × --gpus-per-node; give one or the other");
        }
        if (world != null) return positive("--world", world, 1);
        return positive("--nodes", nodes, 1) * positive("--gpus-per-node", gpusPerNode, 1);
    }

    private Device.Type deviceType(TrainConfig train) {
        if (device == null) return train != null && train.device() == TrainConfig.DeviceChoice.CPU && gpu == null ? Device.Type.CPU : Device.Type.CUDA;
        Device.Type type = switch (device.strip().toLowerCase(Locale.ROOT)) {
            case "cuda", "gpu" -> Device.Type.CUDA;
            case "cpu" -> Device.Type.CPU;
            default -> throw new IllegalArgumentException("--device " + device + ": expected cuda or cpu");
        };
        if (type == Device.Type.CPU && gpu != null) throw new IllegalArgumentException("--device cpu and --gpu " + gpu + ": a GPU's memory is for --device cuda");
        return type;
    }

    /** Device memory in bytes, or null when none was given. */
    private Long capacity() {
        if (gpu != null && deviceMemory != null) throw new IllegalArgumentException("--gpu and --device-memory: give one of them");
        if (gpu != null) {
            Long bytes = GPUS.get(gpu.strip().toLowerCase(Locale.ROOT));
            if (bytes == null) throw new IllegalArgumentException("--gpu " + gpu + ": expected one of " + GPUS.keySet());
            return bytes;
        }
        return deviceMemory == null ? null : parseSize(deviceMemory);
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?B)", Pattern.CASE_INSENSITIVE);

    /** A size with its unit: 80GiB (2^30), 80GB (10^9), and K/M/T likewise. */
    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) throw new IllegalArgumentException("--device-memory " + text + ": expected a size with its unit, such as 80GiB, 80GB or 81920MiB");
        String unit = m.group(2).toUpperCase(Locale.ROOT);
        int power = "KMGT".indexOf(unit.charAt(0)) + 1;
        double base = unit.contains("I") ? 1024 : 1000;
        double bytes = Double.parseDouble(m.group(1)) * Math.pow(base, power);
        if (bytes < 1) throw new IllegalArgumentException("--device-memory " + text + ": must be more than zero");
        return (long) bytes;
    }

    private static Sharding parseSharding(String text) {
        for (Sharding s : Sharding.values()) if (s.name().equalsIgnoreCase(text.strip())) return s;
        throw new IllegalArgumentException("--sharding " + text + ": expected one of full_shard, shard_grad_op, no_shard, hybrid_shard");
    }

    private static DType dtype(String flag, String text, DType otherwise) {
        if (text == null) return otherwise;
        TrainConfig.Precision p = TrainConfig.Precision.parse(text);
        if (p == null) throw new IllegalArgumentException(flag + " " + text + ": expected bf16, fp16 or fp32");
        return p.dtype();
    }

    private static int positive(String flag, Integer value, int otherwise) {
        if (value == null) return otherwise;
        if (value < 1) throw new IllegalArgumentException(flag + " " + value + ": must be at least 1");
        return value;
    }

    private static int atLeastTwo(Integer value, int otherwise) {
        if (value == null) return otherwise;
        if (value < 2) throw new IllegalArgumentException("--seq-len " + value + ": must be at least 2 (a token and the one it predicts)");
        return value;
    }

    private static Map<String, Long> gpus() {
        Map<String, Long> m = new LinkedHashMap<>();
        long mib = 1L << 20;
        m.put("h100", 81_559 * mib);     // H100 80GB (SXM and PCIe)
        m.put("h200", 143_771 * mib);    // H200 141GB
        m.put("a100-80", 81_920 * mib);
        m.put("a100-40", 40_960 * mib);
        m.put("l40s", 46_068 * mib);
        return m;
    }

    // ================================================================ what would fit

    /**
     * Single changes that lower the plan, each re-planned: checkpointing, a smaller micro-batch (the largest that
     * fits, else 1), full_shard instead of a mode that holds more, and the fewest ranks (doubling) under full_shard
     * that fit; when none fits alone, all of them together.
     */
    private static List<Suggestion> suggestions(ModelConfig model, Job job, long capacity) {
        List<Suggestion> out = new ArrayList<>();
        if (!job.activationCheckpointing()) out.add(new Suggestion("with activation checkpointing", MemoryPlan.of(model, job.withActivationCheckpointing(true))));
        if (job.microBatchSize() > 1) {
            int size = job.microBatchSize() / 2;
            while (size > 1 && MemoryPlan.of(model, job.withMicroBatchSize(size)).total() > capacity) size /= 2;
            out.add(new Suggestion("micro-batch " + size, MemoryPlan.of(model, job.withMicroBatchSize(size))));
        }
        if (job.sharding() != Sharding.FULL_SHARD && job.world() > 1) {
            out.add(new Suggestion("full_shard on the same " + job.world() + " ranks", MemoryPlan.of(model, job.withWorld(job.world(), Sharding.FULL_SHARD))));
        }
        int ranks = moreRanksThatFit(model, job, capacity);
        if (ranks > 0) out.add(new Suggestion("with " + ranks + " ranks, full_shard", MemoryPlan.of(model, job.withWorld(ranks, Sharding.FULL_SHARD))));
        if (out.stream().noneMatch(s -> s.plan().total() <= capacity)) {
            Job all = job.withActivationCheckpointing(true).withMicroBatchSize(1);
            int most = moreRanksThatFit(model, all, capacity);
            String change = "with activation checkpointing, micro-batch 1" + (most > 0 ? " and " + most + " ranks, full_shard" : "");
            out.add(new Suggestion(change, MemoryPlan.of(model, most > 0 ? all.withWorld(most, Sharding.FULL_SHARD) : all)));
        }
        return out;
    }

    /** The fewest ranks, doubling from twice the job's, at which full_shard fits; 0 when not even 4096 do. */
    private static int moreRanksThatFit(ModelConfig model, Job job, long capacity) {
        for (int ranks = job.world() * 2; ranks <= 4096; ranks *= 2) {
            if (MemoryPlan.of(model, job.withWorld(ranks, Sharding.FULL_SHARD)).total() <= capacity) return ranks;
        }
        return 0;
    }

    // ================================================================ output

    private void print(PrintWriter out, ModelChoice model, Job job, MemoryPlan plan, Long capacity, List<Suggestion> suggestions) {
        ModelConfig c = model.config();
        long params = ShardLayout.of(c, 1).numel();
        out.printf(Locale.ROOT, "plan: %s (%s, %,d parameters), %s%n", model.label(), c.architecture().modelType(), params, describe(job));
        out.printf(Locale.ROOT, "per rank (the largest)%n");
        String dt = dtypeName(job.computeDtype()), rd = dtypeName(job.reduceDtype());
        row(out, "parameters", "fp32 master weights of the rank's shard", plan.parameters());
        row(out, "gradients", "fp32, the shard's", plan.gradients());
        row(out, "optimizer", "AdamW exp_avg + exp_avg_sq, fp32", plan.optimizer());
        row(out, "gathered_peak", dt + " weights of the units gathered at once", plan.gatheredPeak());
        row(out, "unsharded_gradients_peak", rd + " gradient buffers alive at once", plan.unshardedGradientsPeak());
        row(out, "activations_peak", dt + " tensors kept for the backward", plan.activations());
        row(out, "= reported", "what training's memory report measures", plan.reported());
        row(out, "working (estimate)", "loss chunk or one block's backward temporaries", plan.working());
        if (job.device() == Device.Type.CUDA) {
            row(out, "overhead (estimate)", String.format(Locale.ROOT, "CUDA context, workspaces, %.0f%% allocator slack", 100 * MemoryPlan.CUDA_ALLOCATOR_SLACK),
                    plan.deviceOverhead());
        }
        row(out, "= total", "", plan.total());
        if (capacity == null) return;
        boolean fits = plan.total() <= capacity;
        String device = gpu != null ? gpu.strip().toLowerCase(Locale.ROOT) + " (" + gib(capacity) + ")" : gib(capacity);
        out.printf(Locale.ROOT, "fits in %s: %s (%.1f%% of it)%n", device, fits ? "yes" : "no", 100.0 * plan.total() / capacity);
        for (Suggestion s : suggestions) {
            out.printf(Locale.ROOT, "  %s: %s, %s%n", s.change(), gib(s.plan().total()), s.plan().total() <= capacity ? "fits" : "does not fit");
        }
    }

    private static String describe(Job job) {
        String layout = job.world() == 1 ? "1 rank"
                : job.shards() == 1 ? job.world() + " ranks, " + name(job.sharding()) + " (every rank holds the whole model)"
                : job.world() + " ranks, " + name(job.sharding()) + " (the model split over " + job.shards() + ")";
        return String.format(Locale.ROOT, "%s, %s, activation checkpointing %s, micro-batch %d × %d tokens, on %s", layout, dtypeName(job.computeDtype()),
                job.activationCheckpointing() ? "on" : "off", job.microBatchSize(), job.seqLen(), job.device().name().toLowerCase(Locale.ROOT));
    }

    private static void row(PrintWriter out, String name, String what, long bytes) {
        out.println(String.format(Locale.ROOT, "  %-26s %12s  %s", name, gib(bytes), what).stripTrailing());
    }

    private static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    private static String name(Sharding s) {
        return s.name().toLowerCase(Locale.ROOT);
    }

    private static String dtypeName(DType d) {
        return TrainConfig.Precision.of(d).name().toLowerCase(Locale.ROOT);
    }

    private static String toJson(ModelChoice model, Job job, MemoryPlan plan, Long capacity, List<Suggestion> suggestions) throws Exception {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", model.label());
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("world", job.world());
        j.put("sharding", name(job.sharding()));
        j.put("shards", job.shards());
        j.put("mixed_precision", dtypeName(job.computeDtype()));
        j.put("reduce_dtype", dtypeName(job.reduceDtype()));
        j.put("activation_checkpointing", job.activationCheckpointing());
        j.put("micro_batch_size", job.microBatchSize());
        j.put("max_seq_len", job.seqLen());
        j.put("device", job.device().name().toLowerCase(Locale.ROOT));
        o.put("job", j);
        o.put("per_rank", bytes(plan));
        if (capacity != null) {
            o.put("device_memory", capacity);
            o.put("fits", plan.total() <= capacity);
            List<Map<String, Object>> s = new ArrayList<>();
            for (Suggestion x : suggestions) s.add(Map.of("change", x.change(), "total", x.plan().total(), "fits", x.plan().total() <= capacity));
            o.put("suggestions", s);
        }
        return new ObjectMapper().writeValueAsString(o);
    }

    /** The categories under the names of the memory event in metrics.jsonl, and the estimates. */
    private static Map<String, Long> bytes(MemoryPlan p) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("parameters", p.parameters());
        m.put("gradients", p.gradients());
        m.put("optimizer", p.optimizer());
        m.put("gathered_peak", p.gatheredPeak());
        m.put("unsharded_gradients_peak", p.unshardedGradientsPeak());
        m.put("activations_peak", p.activations());
        m.put("reported", p.reported());
        m.put("working_estimate", p.working());
        m.put("device_overhead_estimate", p.deviceOverhead());
        m.put("total", p.total());
        return m;
    }
}
