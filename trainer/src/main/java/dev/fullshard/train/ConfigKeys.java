package dev.fullshard.train;

import dev.fullshard.config.Key;
import dev.fullshard.config.ValueType;
import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.DataFormat;
import dev.fullshard.train.TrainConfig.DeviceChoice;
import dev.fullshard.train.TrainConfig.GradientSync;
import dev.fullshard.train.TrainConfig.Precision;
import dev.fullshard.train.TrainConfig.Resume;
import dev.fullshard.train.TrainConfig.SchedulerType;
import dev.fullshard.train.TrainConfig.Sharding;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoublePredicate;
import java.util.function.Function;

/**
 * Every train.yaml key, declared once: name, type, default, allowed values and meaning, plus where its value
 * is in a {@link TrainConfig}. The loader reads and checks keys by these declarations, unknown-key messages
 * list them, {@link TrainConfig#toYaml} writes them and {@link ConfigDocs} renders {@code docs/config.md}
 * from them. {@link #ALL} gives the order of the YAML and of the docs.
 */
final class ConfigKeys {
    /** A key and where its value is in a loaded config. */
    record Setting<T>(Key<T> key, Function<TrainConfig, T> value) {
        Object written(TrainConfig config) {
            return key.type().write(value.apply(config));
        }
    }

    static final ValueType<Path> PATH = new ValueType<>("path", "a path", (token, text) -> Path.of(text), Path::toString, List.of());
    static final ValueType<List<Path>> FILES = new ValueType<>("list of paths", "a list of file paths", (token, text) -> null,
            paths -> paths.stream().map(Path::toString).toList(), List.of());
    static final ValueType<List<Double>> NUMBERS = new ValueType<>("list of numbers", "a list of numbers", (token, text) -> null,
            v -> v, List.of());
    /** Every dtype key also takes the tensor names (f32, float32, ...); fp32/bf16/fp16 are written. */
    static final ValueType<Precision> PRECISION = ValueType.choice(Precision.class, Precision.OTHER_SPELLINGS);
    static final ValueType<Resume> RESUME = new ValueType<>("auto | none | path", "auto, none or a checkpoint directory",
            (token, text) -> null, r -> switch (r) {
                case Resume.Auto a -> "auto";
                case Resume.None n -> "none";
                case Resume.From f -> f.checkpoint().toString();
            }, List.of());

    /** Each AdamW beta. */
    static final DoublePredicate BETA = v -> v >= 0 && v < 1;
    static final String BETA_RANGE = "in [0, 1)";

    static final Setting<Path> MODEL_PATH = declare(Key.required("model.path", PATH,
                    "Hugging Face model directory (config.json, safetensors, tokenizer); must exist")
            .expecting("a path to a Hugging Face model directory"), c -> c.model().path());
    static final Setting<Precision> COMPUTE_DTYPE = declare(Key.of("model.compute_dtype", PRECISION, null,
            "dtype of the forward and backward; default: from mixed_precision. Must agree "
                    + "with mixed_precision when both are given; given alone, it sets mixed_precision"),
            c -> Precision.of(c.model().computeDtype()));
    static final Setting<Precision> MIXED_PRECISION = declare(Key.of("mixed_precision", PRECISION, Precision.BF16,
            "fp16 enables dynamic loss scaling (loss_scaling); implies the compute dtype"), TrainConfig::mixedPrecision);
    static final Setting<DeviceChoice> DEVICE = declare(Key.of("device", ValueType.choice(DeviceChoice.class), DeviceChoice.AUTO,
            "cuda runs each rank on GPU LOCAL_RANK with NCCL collectives, cpu on the CPU with MPI; auto is cuda when the "
                    + "loaded libtorch has CUDA and a GPU is visible, else cpu"), TrainConfig::device);

    static final Setting<List<Path>> TRAIN_FILES = declare(Key.required("data.train_files", FILES,
                    "JSONL files (a list, one path, or a comma list); non-empty; each must exist"),
            c -> c.data().trainFiles());
    static final Setting<List<Path>> EVAL_FILES = declare(Key.of("data.eval_files", FILES, List.<Path>of(),
            "JSONL files for evaluation; each must exist"), c -> c.data().evalFiles());
    static final Setting<DataFormat> FORMAT = declare(Key.of("data.format", ValueType.choice(DataFormat.class),
            DataFormat.INSTRUCTION, "line layout: {\"text\"}, {\"instruction\", \"input\", \"output\"} or {\"messages\"}"),
            c -> c.data().format());
    static final Setting<String> TEMPLATE = declare(Key.of("data.template", ValueType.STRING, "default",
            "instruction template: a built-in name (" + String.join(", ", TrainConfig.Data.BUILTIN_TEMPLATES)
                    + ") or a string containing {instruction}, {input} and {output} ({instruction} and {output} required)")
            .expecting("a built-in template name or a template string"), c -> c.data().template());
    static final Setting<String> CHAT_TEMPLATE = declare(Key.of("data.chat_template", ValueType.STRING, ChatTemplate.AUTO,
            "chat template, for format: chat: auto (the model's own from tokenizer_config.json or chat_template.jinja; chatml "
                    + "when it has none), chatml, llama2, or a Jinja template file").allowing(v -> !v.isBlank(), "auto, chatml, llama2 or a .jinja file"), c -> c.data().chatTemplate());
    static final Setting<Integer> MAX_SEQ_LEN = declare(Key.of("data.max_seq_len", ValueType.INT, 512,
            "tokens per sequence").allowing(v -> v >= 2, "an integer >= 2"), c -> c.data().maxSeqLen());
    static final Setting<Boolean> PACKING = declare(Key.of("data.packing", ValueType.BOOLEAN, true,
            "pack several examples per sequence (else pad each)"), c -> c.data().packing());
    static final Setting<Boolean> SKIP_BAD_LINES = declare(Key.of("data.skip_bad_lines", ValueType.BOOLEAN, false,
            "false: a bad JSONL line is an error naming file:line; true: skip and count"), c -> c.data().skipBadLines());

    static final Setting<Integer> EPOCHS = declare(Key.of("training.epochs", ValueType.INT, 1,
            "passes over the training files").allowing(v -> v >= 1, "an integer >= 1"), c -> c.training().epochs());
    static final Setting<Long> MAX_STEPS = declare(Key.of("training.max_steps", ValueType.INTEGER, -1L,
            "optimizer steps; > 0 overrides epochs").allowing(v -> v == -1 || v >= 1, "-1 (use epochs) or an integer >= 1"),
            c -> c.training().maxSteps());
    static final Setting<Integer> MICRO_BATCH_SIZE = declare(Key.of("training.micro_batch_size", ValueType.INT, 4,
            "sequences per forward/backward").allowing(v -> v >= 1, "an integer >= 1"), c -> c.training().microBatchSize());
    static final Setting<Integer> GRADIENT_ACCUMULATION_STEPS = declare(Key.of("training.gradient_accumulation_steps",
            ValueType.INT, 1, "micro-batches per optimizer step; the global batch is micro_batch_size × this")
            .allowing(v -> v >= 1, "an integer >= 1"), c -> c.training().gradientAccumulationSteps());
    static final Setting<Long> SEED = declare(Key.of("training.seed", ValueType.INTEGER, 42L,
            "seed for every random choice of the run (data order, random init)"), c -> c.training().seed());
    static final Setting<Boolean> ACTIVATION_CHECKPOINTING = declare(Key.of("training.activation_checkpointing",
            ValueType.BOOLEAN, false, "recompute block activations in the backward"), c -> c.training().activationCheckpointing());
    static final Setting<Double> LABEL_SMOOTHING = declare(Key.of("training.label_smoothing", ValueType.NUMBER, 0.0,
            "cross-entropy label smoothing (PyTorch semantics)").allowing(v -> v >= 0 && v < 1, "a number in [0, 1)"),
            c -> c.training().labelSmoothing());
    static final Setting<Double> MAX_GRAD_NORM = declare(Key.of("training.max_grad_norm", ValueType.NUMBER, 1.0,
            "global gradient-norm clip").expecting("a number (<= 0 disables clipping)"), c -> c.training().maxGradNorm());

    static final Setting<Double> LR = declare(Key.of("optimizer.lr", ValueType.NUMBER, 2e-5,
            "AdamW peak learning rate, reached after warmup").allowing(v -> v > 0, "a number > 0"), c -> c.optimizer().lr());
    static final Setting<List<Double>> BETAS = declare(Key.of("optimizer.betas", NUMBERS, List.of(0.9, 0.999),
            "AdamW first- and second-moment decay").expecting("a list of 2 numbers, each " + BETA_RANGE),
            c -> List.of(c.optimizer().beta1(), c.optimizer().beta2()));
    static final Setting<Double> EPS = declare(Key.of("optimizer.eps", ValueType.NUMBER, 1e-8,
            "AdamW epsilon, added to the denominator").allowing(v -> v > 0, "a number > 0"), c -> c.optimizer().eps());
    static final Setting<Double> WEIGHT_DECAY = declare(Key.of("optimizer.weight_decay", ValueType.NUMBER, 0.0,
            "decoupled weight decay; not applied to norms and biases").allowing(v -> v >= 0, "a number >= 0"),
            c -> c.optimizer().weightDecay());

    static final Setting<SchedulerType> SCHEDULER_TYPE = declare(Key.of("scheduler.type", ValueType.choice(SchedulerType.class),
            SchedulerType.COSINE, "learning-rate decay after a linear warmup"), c -> c.scheduler().type());
    static final Setting<Double> WARMUP_RATIO = declare(Key.of("scheduler.warmup_ratio", ValueType.NUMBER, 0.0,
            "warmup as a fraction of total steps: ceil(ratio × total)").allowing(v -> v >= 0 && v < 1, "a number in [0, 1)"),
            c -> c.scheduler().warmupRatio());
    static final Setting<Integer> WARMUP_STEPS = declare(Key.of("scheduler.warmup_steps", ValueType.INT, 0,
            "warmup in steps; not together with warmup_ratio > 0").allowing(v -> v >= 0, "an integer >= 0"),
            c -> c.scheduler().warmupSteps());
    static final Setting<Double> MIN_LR_RATIO = declare(Key.of("scheduler.min_lr_ratio", ValueType.NUMBER, 0.0,
            "cosine/linear decay floor as a fraction of lr").allowing(v -> v >= 0 && v <= 1, "a number in [0, 1]"),
            c -> c.scheduler().minLrRatio());

    static final Setting<Double> INIT_SCALE = declare(Key.of("loss_scaling.init_scale", ValueType.NUMBER, 65536.0,
            "first loss scale (fp16 only, GradScaler semantics)").allowing(v -> v > 0, "a number > 0"),
            c -> c.lossScaling().initScale());
    static final Setting<Double> GROWTH_FACTOR = declare(Key.of("loss_scaling.growth_factor", ValueType.NUMBER, 2.0,
            "scale × this after growth_interval clean steps").allowing(v -> v > 1, "a number > 1"),
            c -> c.lossScaling().growthFactor());
    static final Setting<Double> BACKOFF_FACTOR = declare(Key.of("loss_scaling.backoff_factor", ValueType.NUMBER, 0.5,
            "scale × this after a step with inf/NaN gradients (the step is skipped)")
            .allowing(v -> v > 0 && v < 1, "a number in (0, 1)"), c -> c.lossScaling().backoffFactor());
    static final Setting<Integer> GROWTH_INTERVAL = declare(Key.of("loss_scaling.growth_interval", ValueType.INT, 2000,
            "clean steps between growths").allowing(v -> v >= 1, "an integer >= 1"), c -> c.lossScaling().growthInterval());

    static final Setting<Sharding> SHARDING = declare(Key.of("distributed.sharding", ValueType.choice(Sharding.class),
            Sharding.FULL_SHARD, "how the model is split across ranks: full_shard is ZeRO-3 (FSDP FULL_SHARD), shard_grad_op "
                    + "keeps forward weights until the backward (ZeRO-2-like), no_shard is DDP, hybrid_shard is full_shard within "
                    + "each node and replicated across nodes (FSDP HYBRID_SHARD); with one rank all four are the same"),
            c -> c.distributed().sharding());
    static final Setting<Integer> SHARD_GROUP_SIZE = declare(Key.of("distributed.shard_group_size", ValueType.INT, 0,
            "hybrid_shard only: the number of consecutive ranks that split the model among themselves; it must divide the "
                    + "world size. 0: the ranks of one node (LOCAL_WORLD_SIZE, from the launcher)")
            .allowing(v -> v >= 0, "an integer >= 0"), c -> c.distributed().shardGroupSize());
    static final Setting<Boolean> PREFETCH = declare(Key.of("distributed.prefetch", ValueType.BOOLEAN, true,
            "issue the next unit's all-gather while the current unit computes (forward and backward); false waits for each "
                    + "all-gather when its unit starts (identical results)"), c -> c.distributed().prefetch());
    static final Setting<Precision> REDUCE_DTYPE = declare(Key.of("distributed.reduce_dtype", PRECISION, Precision.FP32,
            "dtype of the unsharded gradient buffers and of the reduce-scatter/all-reduce; fp32 sums exactly as one process "
                    + "would, bf16/fp16 halve the gradient buffers at some precision loss (on MPI the sum itself is in fp32: "
                    + "MPICH has no bf16 sum)"), c -> c.distributed().reduceDtype());
    static final Setting<GradientSync> GRADIENT_SYNC = declare(Key.of("distributed.gradient_sync",
            ValueType.choice(GradientSync.class), GradientSync.EVERY_MICRO_BATCH,
            "when accumulated gradients are reduce-scattered under full_shard/shard_grad_op: after each micro-batch "
                    + "(one unit's gradients held at a time) or once after the last (less communication, more memory); "
                    + "no_shard always synchronises once per step"), c -> c.distributed().gradientSync());

    static final Setting<Integer> LOGGING_STEPS = declare(Key.of("logging.logging_steps", ValueType.INT, 10,
            "log loss, lr and throughput every N optimizer steps").allowing(v -> v >= 1, "an integer >= 1"),
            c -> c.logging().loggingSteps());
    static final Setting<Integer> EVAL_STEPS = declare(Key.of("logging.eval_steps", ValueType.INT, 0,
            "evaluate every N steps").allowing(v -> v >= 0, "an integer >= 0 (0 = only at the end)"),
            c -> c.logging().evalSteps());
    static final Setting<Integer> SAVE_STEPS = declare(Key.of("logging.save_steps", ValueType.INT, 0,
            "checkpoint every N steps").allowing(v -> v >= 0, "an integer >= 0 (0 = only at the end)"),
            c -> c.logging().saveSteps());
    static final Setting<Integer> SAVE_TOTAL_LIMIT = declare(Key.of("logging.save_total_limit", ValueType.INT, 2,
            "newest checkpoints kept").allowing(v -> v >= 0, "an integer >= 0 (0 = keep all)"),
            c -> c.logging().saveTotalLimit());
    static final Setting<Path> OUTPUT_DIR = declare(Key.required("logging.output_dir", PATH,
            "checkpoints, logs and config.yaml; must be a directory if it exists").expecting("a directory path"),
            c -> c.logging().outputDir());

    static final Setting<Resume> RESUME_FROM = declare(Key.of("resume", RESUME, new Resume.Auto(),
            "auto: the newest complete checkpoint in output_dir, if any; none: start from the model; or an existing "
                    + "checkpoint directory"), TrainConfig::resume);

    /** In the order of the YAML and the docs. */
    static final List<Setting<?>> ALL = List.of(MODEL_PATH, COMPUTE_DTYPE, MIXED_PRECISION, DEVICE,
            TRAIN_FILES, EVAL_FILES, FORMAT, TEMPLATE, CHAT_TEMPLATE, MAX_SEQ_LEN, PACKING, SKIP_BAD_LINES,
            EPOCHS, MAX_STEPS, MICRO_BATCH_SIZE, GRADIENT_ACCUMULATION_STEPS, SEED, ACTIVATION_CHECKPOINTING,
            LABEL_SMOOTHING, MAX_GRAD_NORM,
            LR, BETAS, EPS, WEIGHT_DECAY,
            SCHEDULER_TYPE, WARMUP_RATIO, WARMUP_STEPS, MIN_LR_RATIO,
            INIT_SCALE, GROWTH_FACTOR, BACKOFF_FACTOR, GROWTH_INTERVAL,
            SHARDING, SHARD_GROUP_SIZE, PREFETCH, REDUCE_DTYPE, GRADIENT_SYNC,
            LOGGING_STEPS, EVAL_STEPS, SAVE_STEPS, SAVE_TOTAL_LIMIT, OUTPUT_DIR,
            RESUME_FROM);

    /** Names other trainers use for our keys, so a Hugging Face or torchtune habit gets pointed at the key. */
    static final Map<String, Setting<?>> FOREIGN_NAMES = Map.ofEntries(
            Map.entry("learning_rate", LR),
            Map.entry("num_train_epochs", EPOCHS),
            Map.entry("per_device_train_batch_size", MICRO_BATCH_SIZE),
            Map.entry("batch_size", MICRO_BATCH_SIZE),
            Map.entry("gradient_checkpointing", ACTIVATION_CHECKPOINTING),
            Map.entry("enable_activation_checkpointing", ACTIVATION_CHECKPOINTING),
            Map.entry("lr_scheduler_type", SCHEDULER_TYPE),
            Map.entry("label_smoothing_factor", LABEL_SMOOTHING),
            Map.entry("clip_grad_norm", MAX_GRAD_NORM),
            Map.entry("resume_from_checkpoint", RESUME_FROM),
            Map.entry("fsdp", SHARDING),
            Map.entry("sharding_strategy", SHARDING),
            Map.entry("forward_prefetch", PREFETCH),
            Map.entry("backward_prefetch", PREFETCH),
            Map.entry("dtype", MIXED_PRECISION),
            Map.entry("bf16", MIXED_PRECISION),
            Map.entry("fp16", MIXED_PRECISION));

    /** The keys allowed in each section ("" is the top level, where sections count as keys), in YAML order. */
    static final Map<String, List<String>> SCHEMA = schema();

    private ConfigKeys() {
    }

    private static <T> Setting<T> declare(Key<T> key, Function<TrainConfig, T> value) {
        return new Setting<>(key, value);
    }

    private static Map<String, List<String>> schema() {
        Map<String, List<String>> s = new LinkedHashMap<>();
        s.put("", new ArrayList<>());
        for (Setting<?> setting : ALL) {
            String section = setting.key().section();
            String top = section.isEmpty() ? setting.key().leaf() : section;
            if (!s.get("").contains(top)) s.get("").add(top);
            if (!section.isEmpty()) s.computeIfAbsent(section, k -> new ArrayList<>()).add(setting.key().leaf());
        }
        s.replaceAll((k, v) -> List.copyOf(v));
        return Collections.unmodifiableMap(s);
    }
}
