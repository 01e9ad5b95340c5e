package dev.fullshard.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.DataFormat;
import dev.fullshard.data.DataOptions;
import dev.fullshard.data.TextEncoder;
import dev.fullshard.tensor.DType;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The effective contents of a {@code train.yaml}: typed, immutable, validated when loaded. Every key's
 * name, type, default, allowed values and meaning are declared once, in {@link ConfigKeys}; the loader,
 * {@link #toYaml} and {@code docs/config.md} follow from there. All paths are absolute (relative ones were
 * resolved against the YAML file's folder).
 */
public record TrainConfig(Model model, Precision mixedPrecision, Data data, Training training,
                          Optimizer optimizer, Scheduler scheduler, LossScaling lossScaling, Distributed distributed,
                          Logging logging, Resume resume, DeviceChoice device) {

    /**
     * {@code device}: {@code cuda} puts each rank on GPU {@code LOCAL_RANK} (collectives over NCCL),
     * {@code cpu} on the CPU (collectives over MPI), {@code auto} picks cuda when libtorch has CUDA and a
     * GPU is visible, else cpu.
     */
    public enum DeviceChoice { AUTO, CPU, CUDA }

    /** Name of the effective config saved next to checkpoints, in {@code output_dir}. */
    public static final String SAVED_NAME = "config.yaml";

    /**
     * Reads {@code yaml}, applies {@code overrides} ({@code key.sub=value}, in order, before validation)
     * and validates everything. Throws {@link ConfigException} listing every problem, each line starting
     * with the file's path.
     */
    public static TrainConfig load(Path yaml, List<String> overrides) {
        return TrainConfigLoader.load(yaml, overrides);
    }

    /** The dtype of the forward and backward: F32, BF16 or F16. */
    public DType computeDtype() {
        return model.computeDtype();
    }

    /** Warmup length for a run of {@code totalSteps} optimizer steps: ceil(warmup_ratio × total) or warmup_steps. */
    public long warmupSteps(long totalSteps) {
        return scheduler.warmupRatio() > 0 ? (long) Math.ceil(scheduler.warmupRatio() * totalSteps) : scheduler.warmupSteps();
    }

    /** Optimizer steps of the run: {@code max_steps} when > 0, else epochs × steps per epoch. */
    public long totalSteps(long optimizerStepsPerEpoch) {
        return training.maxSteps() > 0 ? training.maxSteps() : training.epochs() * optimizerStepsPerEpoch;
    }

    /** Sequences per optimizer step on one data-parallel rank: micro_batch_size × gradient_accumulation_steps. */
    public int globalBatch() {
        return training.microBatchSize() * training.gradientAccumulationSteps();
    }

    /**
     * The effective config as YAML (all keys, defaults filled in, absolute paths), for {@code config.yaml}
     * next to checkpoints; {@link #load} reads it back to an equal config.
     */
    public String toYaml() {
        try {
            return YAML_OUT.writeValueAsString(toMap());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("plain maps, strings and numbers always serialise", e);
        }
    }

    /** The effective config as nested maps in YAML key order (what {@link #toYaml} writes). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (ConfigKeys.Setting<?> setting : ConfigKeys.ALL) {
            Map<String, Object> section = m;
            if (!setting.key().section().isEmpty()) {
                @SuppressWarnings("unchecked")
                Map<String, Object> s = (Map<String, Object>) m.computeIfAbsent(setting.key().section(), k -> new LinkedHashMap<>());
                section = s;
            }
            section.put(setting.key().leaf(), setting.written(this));
        }
        return m;
    }

    private static final YAMLMapper YAML_OUT = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();

    /** {@code model}: what to fine-tune, and the dtype of its forward and backward (F32, BF16 or F16). */
    public record Model(Path path, DType computeDtype) {
    }

    /**
     * A floating-point dtype as train.yaml spells it: {@code mixed_precision}, {@code model.compute_dtype} and
     * {@code distributed.reduce_dtype} all choose one.
     */
    public enum Precision {
        FP32(DType.F32), BF16(DType.BF16), FP16(DType.F16);

        /** The other names of each precision that train.yaml and the command line accept; the constant's own name is written. */
        public static final Map<String, Precision> OTHER_SPELLINGS = Map.of("f32", FP32, "float32", FP32,
                "bfloat16", BF16, "f16", FP16, "float16", FP16);

        private final DType dtype;

        Precision(DType dtype) {
            this.dtype = dtype;
        }

        /** The tensor dtype: fp32 -> F32, bf16 -> BF16, fp16 -> F16. */
        public DType dtype() {
            return dtype;
        }

        /** The precision {@code text} names in any accepted spelling, or null. */
        public static Precision parse(String text) {
            String spelling = text.strip().toLowerCase(Locale.ROOT);
            for (Precision p : values()) if (p.name().toLowerCase(Locale.ROOT).equals(spelling)) return p;
            return OTHER_SPELLINGS.get(spelling);
        }

        /** The precision whose dtype is {@code dtype}. */
        public static Precision of(DType dtype) {
            for (Precision p : values()) if (p.dtype == dtype) return p;
            throw new IllegalArgumentException("no precision computes in " + dtype);
        }
    }

    /** {@code data}: training and evaluation files and how examples become tokens. */
    public record Data(List<Path> trainFiles, List<Path> evalFiles, DataFormat format, String template,
                       String chatTemplate, int maxSeqLen, boolean packing, boolean skipBadLines) {
        /** Instruction templates the data pipeline knows by name. */
        public static final List<String> BUILTIN_TEMPLATES = List.of("default", "alpaca", "zh");

        public Data {
            trainFiles = List.copyOf(trainFiles);
            evalFiles = List.copyOf(evalFiles);
        }

        /** How these files become tokens with {@code tokenizer} (the chat template resolved for it), into the default token cache. */
        public DataOptions options(TextEncoder tokenizer) {
            ChatTemplate chat;
            try {
                chat = ChatTemplate.resolve(chatTemplate, tokenizer.file());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("data.chat_template: " + e.getMessage(), e);
            }
            return new DataOptions(format, template, chat, maxSeqLen, skipBadLines, null);
        }

        /** Whether {@link #template} names a built-in template rather than being the template text. */
        public boolean builtinTemplate() {
            return BUILTIN_TEMPLATES.contains(template);
        }
    }

    /** {@code training}: loop length, batch, seed and regularisation. */
    public record Training(int epochs, long maxSteps, int microBatchSize, int gradientAccumulationSteps, long seed,
                           boolean activationCheckpointing, double labelSmoothing, double maxGradNorm) {
    }

    /** {@code optimizer}: AdamW; {@code optimizer.betas} is split into beta1 and beta2. */
    public record Optimizer(double lr, double beta1, double beta2, double eps, double weightDecay) {
    }

    /** {@code scheduler}: the learning-rate schedule after a linear warmup. */
    public record Scheduler(SchedulerType type, double warmupRatio, int warmupSteps, double minLrRatio) {
    }

    /** {@code scheduler.type}. */
    public enum SchedulerType { COSINE, LINEAR, CONSTANT }

    /** {@code loss_scaling}: PyTorch GradScaler settings, used only with {@code mixed_precision: fp16}. */
    public record LossScaling(double initScale, double growthFactor, double backoffFactor, int growthInterval) {
    }

    /**
     * {@code distributed}: how the model, gradients and optimizer are split across ranks. With one rank every
     * setting here computes the same thing; they trade memory for communication when there are several. A unit
     * is what is gathered and freed as one: the embedding, each decoder block, and the final norm with the LM head.
     */
    public record Distributed(Sharding sharding, boolean prefetch, Precision reduceDtype, GradientSync gradientSync, int shardGroupSize) {
    }

    /** {@code distributed.sharding}: how the model is split across more than one rank; with one rank all four are the same. */
    public enum Sharding {
        /**
         * Each rank keeps 1/N of every unit's fp32 master weights, gradients and AdamW moments; a unit's weights
         * are all-gathered in the compute dtype just before its forward and again before its backward, and freed
         * after each (ZeRO-3, FSDP FULL_SHARD).
         */
        FULL_SHARD,
        /**
         * As {@link #FULL_SHARD}, but the weights gathered for the forward are kept until the unit's backward:
         * fewer all-gathers, more memory (ZeRO-2-like, FSDP SHARD_GRAD_OP).
         */
        SHARD_GRAD_OP,
        /** Every rank holds the whole model and optimizer; gradients are all-reduced once per step (DDP). */
        NO_SHARD,
        /**
         * {@link #FULL_SHARD} within each node, replicated across nodes (FSDP HYBRID_SHARD, FSDP2 HSDP): all-gathers
         * stay inside a node; gradients are reduce-scattered inside the node, then each shard is all-reduced across
         * the nodes. Each rank holds 1/(ranks per node) of the model, in exchange for far less traffic between nodes.
         */
        HYBRID_SHARD
    }

    /** {@code distributed.gradient_sync}: when, with gradient accumulation, gradients leave the unsharded buffers. */
    public enum GradientSync {
        /**
         * Reduce-scatter each micro-batch's gradients into the rank's shard as soon as a unit's backward is done;
         * holds one unit's unsharded gradients at a time.
         */
        EVERY_MICRO_BATCH,
        /**
         * Keep the whole model's unsharded gradients (in reduce_dtype) across a step's micro-batches and
         * reduce-scatter once, after the last: less communication, more memory.
         */
        LAST_MICRO_BATCH
    }

    /** {@code logging}: logging, evaluation and checkpoint cadence (in optimizer steps), output folder. */
    public record Logging(int loggingSteps, int evalSteps, int saveSteps, int saveTotalLimit, Path outputDir) {
    }

    /** {@code resume}: where training starts. */
    public sealed interface Resume {
        /** The newest complete checkpoint in output_dir if there is one, else from the model. */
        record Auto() implements Resume {
        }

        /** From the model, ignoring checkpoints in output_dir. */
        record None() implements Resume {
        }

        /** From this checkpoint directory (it must exist). */
        record From(Path checkpoint) implements Resume {
        }
    }
}
