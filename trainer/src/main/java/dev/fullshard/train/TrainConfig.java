package dev.fullshard.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.fullshard.tensor.DType;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The effective contents of a {@code train.yaml}: typed, immutable, validated when loaded. The README's
 * "train.yaml reference" lists the same keys; each component's javadoc gives its YAML key and default.
 * All paths are absolute (relative ones were resolved against the YAML file's folder).
 *
 * @param model           {@code model}: what to fine-tune
 * @param mixedPrecision  {@code mixed_precision} (default {@code bf16}): fp32 | bf16 | fp16; fp16 turns on
 *                        dynamic loss scaling ({@link #lossScaling}). Must agree with {@code model.compute_dtype}
 *                        when both are given; when only one is given the other follows from it
 * @param data            {@code data}: training and evaluation files and how examples become tokens
 * @param training        {@code training}: loop length, batch, seed and regularisation
 * @param optimizer       {@code optimizer}: AdamW settings
 * @param scheduler       {@code scheduler}: learning-rate schedule
 * @param lossScaling     {@code loss_scaling}: GradScaler settings, used only with {@code mixed_precision: fp16}
 * @param distributed     {@code distributed}: how the model, gradients and optimizer are split across ranks
 * @param logging         {@code logging}: logging, evaluation and checkpoint cadence, output folder
 * @param resume          {@code resume} (default {@code auto}): auto | none | a checkpoint directory
 * @param device          {@code device} (default {@code auto}): where each rank computes, see {@link DeviceChoice}
 */
public record TrainConfig(Model model, MixedPrecision mixedPrecision, Data data, Training training,
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
        m.put("model", ordered("path", model.path().toString(), "compute_dtype", lower(model.computeDtype())));
        m.put("mixed_precision", lower(mixedPrecision));
        m.put("device", lower(device));
        Map<String, Object> d = ordered("train_files", strings(data.trainFiles()), "eval_files", strings(data.evalFiles()),
                "format", lower(data.format()), "template", data.template(), "chat_template", lower(data.chatTemplate()));
        d.putAll(ordered("max_seq_len", data.maxSeqLen(), "packing", data.packing(), "skip_bad_lines", data.skipBadLines()));
        m.put("data", d);
        Map<String, Object> t = ordered("epochs", training.epochs(), "max_steps", training.maxSteps(),
                "micro_batch_size", training.microBatchSize(), "gradient_accumulation_steps", training.gradientAccumulationSteps());
        t.putAll(ordered("seed", training.seed(), "activation_checkpointing", training.activationCheckpointing(),
                "label_smoothing", training.labelSmoothing(), "max_grad_norm", training.maxGradNorm()));
        m.put("training", t);
        m.put("optimizer", ordered("lr", optimizer.lr(), "betas", List.of(optimizer.beta1(), optimizer.beta2()),
                "eps", optimizer.eps(), "weight_decay", optimizer.weightDecay()));
        m.put("scheduler", ordered("type", lower(scheduler.type()), "warmup_ratio", scheduler.warmupRatio(),
                "warmup_steps", scheduler.warmupSteps(), "min_lr_ratio", scheduler.minLrRatio()));
        m.put("loss_scaling", ordered("init_scale", lossScaling.initScale(), "growth_factor", lossScaling.growthFactor(),
                "backoff_factor", lossScaling.backoffFactor(), "growth_interval", lossScaling.growthInterval()));
        m.put("distributed", ordered("sharding", lower(distributed.sharding()), "prefetch", distributed.prefetch(),
                "reduce_dtype", lower(distributed.reduceDtype()), "gradient_sync", lower(distributed.gradientSync())));
        Map<String, Object> l = ordered("logging_steps", logging.loggingSteps(), "eval_steps", logging.evalSteps(),
                "save_steps", logging.saveSteps(), "save_total_limit", logging.saveTotalLimit());
        l.put("output_dir", logging.outputDir().toString());
        m.put("logging", l);
        m.put("resume", switch (resume) {
            case Resume.Auto a -> "auto";
            case Resume.None n -> "none";
            case Resume.From f -> f.checkpoint().toString();
        });
        return m;
    }

    private static final YAMLMapper YAML_OUT = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static List<String> strings(List<Path> paths) {
        return paths.stream().map(Path::toString).toList();
    }

    private static Map<String, Object> ordered(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    /**
     * @param path         {@code model.path} (required): the Hugging Face model directory (config.json, safetensors, tokenizer)
     * @param computeDtype {@code model.compute_dtype} (default: from mixed_precision, bf16): f32 | bf16 | f16,
     *                     the dtype of the forward and backward
     */
    public record Model(Path path, DType computeDtype) {
    }

    /** {@code mixed_precision}: fp32 (no mixed precision), bf16, or fp16 with dynamic loss scaling. */
    public enum MixedPrecision {
        FP32(DType.F32), BF16(DType.BF16), FP16(DType.F16);

        private final DType computeDtype;

        MixedPrecision(DType computeDtype) {
            this.computeDtype = computeDtype;
        }

        /** The compute dtype this precision implies: fp32 -> F32, bf16 -> BF16, fp16 -> F16. */
        public DType computeDtype() {
            return computeDtype;
        }
    }

    /**
     * @param trainFiles   {@code data.train_files} (required, non-empty): JSONL files, each existing
     * @param evalFiles    {@code data.eval_files} (default none): JSONL files for evaluation
     * @param format       {@code data.format} (default instruction): text | instruction | chat
     * @param template     {@code data.template} (default {@code default}): instruction template, a built-in name
     *                     ({@link #BUILTIN_TEMPLATES}) or a string with {instruction}, {input} and {output}
     * @param chatTemplate {@code data.chat_template} (default chatml): chatml | llama2, for format chat
     * @param maxSeqLen    {@code data.max_seq_len} (default 512, at least 2): tokens per sequence
     * @param packing      {@code data.packing} (default true): pack several examples per sequence, else pad each
     * @param skipBadLines {@code data.skip_bad_lines} (default false): false makes a bad JSONL line an error naming
     *                     file:line; true skips and counts such lines
     */
    public record Data(List<Path> trainFiles, List<Path> evalFiles, Format format, String template,
                       ChatTemplate chatTemplate, int maxSeqLen, boolean packing, boolean skipBadLines) {
        /** Instruction templates the data pipeline knows by name. */
        public static final List<String> BUILTIN_TEMPLATES = List.of("default", "alpaca", "zh");

        public Data {
            trainFiles = List.copyOf(trainFiles);
            evalFiles = List.copyOf(evalFiles);
        }

        /** Whether {@link #template} names a built-in template rather than being the template text. */
        public boolean builtinTemplate() {
            return BUILTIN_TEMPLATES.contains(template);
        }
    }

    /** {@code data.format}: plain text, instruction/input/output records, or chat messages. */
    public enum Format { TEXT, INSTRUCTION, CHAT }

    /** {@code data.chat_template}: built-in chat templates. */
    public enum ChatTemplate { CHATML, LLAMA2 }

    /**
     * @param epochs                    {@code training.epochs} (default 1, at least 1): passes over train_files
     * @param maxSteps                  {@code training.max_steps} (default -1): optimizer steps; > 0 overrides epochs
     * @param microBatchSize            {@code training.micro_batch_size} (default 4, at least 1): sequences per forward/backward
     * @param gradientAccumulationSteps {@code training.gradient_accumulation_steps} (default 1, at least 1): micro-batches per optimizer step
     * @param seed                      {@code training.seed} (default 42): seeds every random choice of the run (data order, random init)
     * @param activationCheckpointing   {@code training.activation_checkpointing} (default false): recompute block activations in backward
     * @param labelSmoothing            {@code training.label_smoothing} (default 0.0, in [0,1)): PyTorch cross-entropy label smoothing
     * @param maxGradNorm               {@code training.max_grad_norm} (default 1.0): global gradient-norm clip; <= 0 disables clipping
     */
    public record Training(int epochs, long maxSteps, int microBatchSize, int gradientAccumulationSteps, long seed,
                           boolean activationCheckpointing, double labelSmoothing, double maxGradNorm) {
    }

    /**
     * AdamW. {@code optimizer.betas} (default [0.9, 0.999], each in [0,1)) is split into beta1 and beta2.
     *
     * @param lr          {@code optimizer.lr} (default 2.0e-5, > 0): peak learning rate, reached after warmup
     * @param beta1       {@code optimizer.betas[0]} (default 0.9): first-moment decay
     * @param beta2       {@code optimizer.betas[1]} (default 0.999): second-moment decay
     * @param eps         {@code optimizer.eps} (default 1.0e-8, > 0): added to the denominator
     * @param weightDecay {@code optimizer.weight_decay} (default 0.0, >= 0): decoupled decay; never applied to norms and biases
     */
    public record Optimizer(double lr, double beta1, double beta2, double eps, double weightDecay) {
    }

    /**
     * @param type        {@code scheduler.type} (default cosine): cosine | linear | constant, after a linear warmup
     * @param warmupRatio {@code scheduler.warmup_ratio} (default 0.0, in [0,1)): warmup as a fraction of total steps
     * @param warmupSteps {@code scheduler.warmup_steps} (default 0, >= 0): warmup in steps; exclusive with warmup_ratio
     * @param minLrRatio  {@code scheduler.min_lr_ratio} (default 0.0, in [0,1]): decay floor as a fraction of lr
     */
    public record Scheduler(SchedulerType type, double warmupRatio, int warmupSteps, double minLrRatio) {
    }

    /** {@code scheduler.type}. */
    public enum SchedulerType { COSINE, LINEAR, CONSTANT }

    /**
     * PyTorch GradScaler semantics; only used with {@code mixed_precision: fp16}.
     *
     * @param initScale      {@code loss_scaling.init_scale} (default 65536.0, > 0): first loss scale
     * @param growthFactor   {@code loss_scaling.growth_factor} (default 2.0, > 1): scale multiplier after growth_interval clean steps
     * @param backoffFactor  {@code loss_scaling.backoff_factor} (default 0.5, in (0,1)): scale multiplier after a step with inf/NaN gradients (the step is skipped)
     * @param growthInterval {@code loss_scaling.growth_interval} (default 2000, >= 1): clean steps between growths
     */
    public record LossScaling(double initScale, double growthFactor, double backoffFactor, int growthInterval) {
    }

    /**
     * With one rank every setting here computes the same thing; they trade memory for communication when
     * there are several. A unit is what is gathered and freed as one: the embedding, each decoder block, and
     * the final norm with the LM head.
     *
     * @param sharding     {@code distributed.sharding} (default full_shard): full_shard | shard_grad_op | no_shard,
     *                     how the model is split across ranks ({@link Sharding})
     * @param prefetch     {@code distributed.prefetch} (default true): issue the next unit's all-gather while the
     *                     current unit computes, in forward and backward; false waits for each all-gather when its
     *                     unit starts (for comparison: the results are identical)
     * @param reduceDtype  {@code distributed.reduce_dtype} (default fp32): fp32 | bf16 | fp16, the dtype of the
     *                     unsharded gradient buffers and of the reduce-scatter/all-reduce; fp32 sums exactly as one
     *                     process would, bf16/fp16 halve the gradient buffers at some precision loss (on MPI the
     *                     sum itself is done in fp32: MPICH has no bf16 sum)
     * @param gradientSync {@code distributed.gradient_sync} (default every_micro_batch): every_micro_batch |
     *                     last_micro_batch, when accumulated gradients are reduce-scattered under full_shard and
     *                     shard_grad_op ({@link GradientSync}); no_shard always synchronises once per step
     */
    public record Distributed(Sharding sharding, boolean prefetch, ReduceDtype reduceDtype, GradientSync gradientSync) {
    }

    /** {@code distributed.sharding}: how the model is split across more than one rank; with one rank all three are the same. */
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
        NO_SHARD
    }

    /** {@code distributed.reduce_dtype}: the dtype gradients are held and reduced in before they reach the fp32 shard. */
    public enum ReduceDtype {
        FP32(DType.F32), BF16(DType.BF16), FP16(DType.F16);

        private final DType dtype;

        ReduceDtype(DType dtype) {
            this.dtype = dtype;
        }

        /** The tensor dtype: fp32 -> F32, bf16 -> BF16, fp16 -> F16. */
        public DType dtype() {
            return dtype;
        }
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

    /**
     * Counts are optimizer steps.
     *
     * @param loggingSteps   {@code logging.logging_steps} (default 10, >= 1): log loss, lr and throughput every N steps
     * @param evalSteps      {@code logging.eval_steps} (default 0, >= 0): evaluate every N steps; 0 only at the end
     * @param saveSteps      {@code logging.save_steps} (default 0, >= 0): checkpoint every N steps; 0 only at the end
     * @param saveTotalLimit {@code logging.save_total_limit} (default 2, >= 0): newest checkpoints kept; 0 keeps all
     * @param outputDir      {@code logging.output_dir} (required): checkpoints, logs and the saved config.yaml
     */
    public record Logging(int loggingSteps, int evalSteps, int saveSteps, int saveTotalLimit, Path outputDir) {
    }

    /** {@code resume} (default auto): where training starts. */
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
