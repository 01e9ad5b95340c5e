package dev.fullshard.train;

import com.fasterxml.jackson.core.JsonToken;
import dev.fullshard.tensor.DType;
import dev.fullshard.train.ConfigReader.Section;
import dev.fullshard.train.TrainConfig.ChatTemplate;
import dev.fullshard.train.TrainConfig.Data;
import dev.fullshard.train.TrainConfig.Distributed;
import dev.fullshard.train.TrainConfig.Format;
import dev.fullshard.train.TrainConfig.GradientSync;
import dev.fullshard.train.TrainConfig.Logging;
import dev.fullshard.train.TrainConfig.LossScaling;
import dev.fullshard.train.TrainConfig.MixedPrecision;
import dev.fullshard.train.TrainConfig.Model;
import dev.fullshard.train.TrainConfig.Optimizer;
import dev.fullshard.train.TrainConfig.ReduceDtype;
import dev.fullshard.train.TrainConfig.Resume;
import dev.fullshard.train.TrainConfig.Scheduler;
import dev.fullshard.train.TrainConfig.SchedulerType;
import dev.fullshard.train.TrainConfig.Sharding;
import dev.fullshard.train.TrainConfig.Training;
import dev.fullshard.train.YamlTree.Field;
import dev.fullshard.train.YamlTree.Loc;
import dev.fullshard.train.YamlTree.MapNode;
import dev.fullshard.train.YamlTree.Node;
import dev.fullshard.train.YamlTree.Scalar;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Reads train.yaml into a {@link TrainConfig}: parse, apply overrides, then read and check every key. */
final class TrainConfigLoader {
    /** Every key, by section ("" is the top level); unknown-key messages list and search these. */
    static final Map<String, List<String>> SCHEMA = schema();

    private TrainConfigLoader() {
    }

    private static Map<String, List<String>> schema() {
        Map<String, List<String>> s = new LinkedHashMap<>();
        s.put("", List.of("model", "mixed_precision", "device", "data", "training", "optimizer", "scheduler", "loss_scaling",
                "distributed", "logging", "resume"));
        s.put("model", List.of("path", "compute_dtype"));
        s.put("data", List.of("train_files", "eval_files", "format", "template", "chat_template", "max_seq_len",
                "packing", "skip_bad_lines"));
        s.put("training", List.of("epochs", "max_steps", "micro_batch_size", "gradient_accumulation_steps", "seed",
                "activation_checkpointing", "label_smoothing", "max_grad_norm"));
        s.put("optimizer", List.of("lr", "betas", "eps", "weight_decay"));
        s.put("scheduler", List.of("type", "warmup_ratio", "warmup_steps", "min_lr_ratio"));
        s.put("loss_scaling", List.of("init_scale", "growth_factor", "backoff_factor", "growth_interval"));
        s.put("distributed", List.of("sharding", "prefetch", "reduce_dtype", "gradient_sync"));
        s.put("logging", List.of("logging_steps", "eval_steps", "save_steps", "save_total_limit", "output_dir"));
        return s;
    }

    static TrainConfig load(Path yaml, List<String> overrides) {
        String text = readText(yaml);
        ConfigReader r = new ConfigReader(yaml);
        Node root;
        try {
            root = YamlTree.parse(text, null);
        } catch (YamlTree.SyntaxException e) {
            r.problem(e.loc, "yaml", e.getMessage());
            throw new ConfigException(yaml, r.problems());
        }
        if (root == null) root = new MapNode(new Loc(1, 1, null), new LinkedHashMap<>());
        if (root instanceof MapNode m) {
            for (String o : overrides) applyOverride(r, m, o);
        }
        TrainConfig config = read(r, root);
        if (!r.problems().isEmpty()) throw new ConfigException(yaml, r.problems());
        return config;
    }

    /** The file as UTF-8 text; a missing, unreadable or non-UTF-8 file is a {@link ConfigException} saying which. */
    private static String readText(Path yaml) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(yaml);
        } catch (NoSuchFileException e) {
            throw new ConfigException(yaml, "no such file: " + yaml, e);
        } catch (AccessDeniedException e) {
            throw new ConfigException(yaml, yaml + ": permission denied", e);
        } catch (IOException e) {
            String why = Files.isDirectory(yaml) ? "is a directory, expected a YAML file" : "cannot be read: " + e.getMessage();
            throw new ConfigException(yaml, yaml + ": " + why, e);
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = utf8.decode(in, out, true);
        if (result.isError()) {
            int at = in.position(), line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new ConfigException(yaml, String.format(Locale.ROOT, "%s:%d: not UTF-8 text (byte 0x%02X at offset %d); expected a UTF-8 "
                    + "YAML file", yaml, line, bytes[at] & 0xFF, at), null);
        }
        return out.flip().toString();
    }

    /**
     * Sets one {@code key.sub=value} in the tree. The value is read as a YAML value, so numbers, booleans
     * and {@code [a, b]} lists mean what they mean in the file; text that is not valid YAML stays a string.
     */
    private static void applyOverride(ConfigReader r, MapNode root, String override) {
        Loc loc = Loc.override(override);
        int eq = override.indexOf('=');
        String key = eq < 0 ? override : override.substring(0, eq).strip();
        if (eq < 0 || key.isEmpty() || key.startsWith(".") || key.endsWith(".") || key.contains("..")) {
            r.problem(loc, key, "expected key.sub=value, e.g. optimizer.lr=1e-4");
            return;
        }
        String valueText = override.substring(eq + 1);
        Node value;
        try {
            value = YamlTree.parse(valueText, loc);
        } catch (YamlTree.SyntaxException e) {
            value = new Scalar(loc, JsonToken.VALUE_STRING, valueText);
        }
        if (value == null) value = new Scalar(loc, JsonToken.VALUE_NULL, "null");
        String[] parts = key.split("\\.");
        MapNode at = root;
        for (int i = 0; i < parts.length - 1; i++) {
            Field f = at.fields().get(parts[i]);
            if (f != null && f.value() instanceof MapNode child) {
                at = child;
            } else {
                // An absent section (or one left empty) is created; unknown names are reported when read.
                MapNode child = new MapNode(loc, new LinkedHashMap<>());
                at.fields().put(parts[i], new Field(parts[i], loc, child));
                at = child;
            }
        }
        String leaf = parts[parts.length - 1];
        at.fields().put(leaf, new Field(leaf, loc, value));
    }

    private static TrainConfig read(ConfigReader r, Node rootNode) {
        Section root = r.new Section("", rootNode, new Loc(1, 1, null), SCHEMA.get(""), SCHEMA);
        Section modelSection = root.section("model", SCHEMA.get("model"), SCHEMA);
        Model model = readModel(r, modelSection);
        MixedPrecision mp = root.choice("mixed_precision", MixedPrecision.BF16, MixedPrecision.class);
        // One of the two may be omitted: it follows from the other, so `compute_dtype: f32` alone means fp32.
        if (!root.has("mixed_precision") && modelSection.has("compute_dtype")) {
            mp = switch (model.computeDtype()) {
                case F32 -> MixedPrecision.FP32;
                case F16 -> MixedPrecision.FP16;
                default -> MixedPrecision.BF16;
            };
        } else if (!modelSection.has("compute_dtype")) {
            model = new Model(model.path(), mp.computeDtype());
        } else if (model.computeDtype() != mp.computeDtype()) {
            r.problem(modelSection.loc("compute_dtype"), "model.compute_dtype",
                    "is " + lower(model.computeDtype()) + " but mixed_precision is " + lower(mp) + ", which computes in "
                            + lower(mp.computeDtype()) + "; make them agree or omit compute_dtype");
        }
        return new TrainConfig(model, mp, readData(root.section("data", SCHEMA.get("data"), SCHEMA)),
                readTraining(root.section("training", SCHEMA.get("training"), SCHEMA)),
                readOptimizer(root.section("optimizer", SCHEMA.get("optimizer"), SCHEMA)),
                readScheduler(r, root.section("scheduler", SCHEMA.get("scheduler"), SCHEMA)),
                readLossScaling(root.section("loss_scaling", SCHEMA.get("loss_scaling"), SCHEMA)),
                readDistributed(root.section("distributed", SCHEMA.get("distributed"), SCHEMA)),
                readLogging(root.section("logging", SCHEMA.get("logging"), SCHEMA)),
                readResume(r, root), root.choice("device", TrainConfig.DeviceChoice.AUTO, TrainConfig.DeviceChoice.class));
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static Model readModel(ConfigReader r, Section s) {
        Path path = s.path("path", "a path to a Hugging Face model directory");
        if (path == null && !s.has("path")) s.missing("path", "the Hugging Face model directory");
        if (path != null && !Files.isDirectory(path)) {
            r.problem(s.loc("path"), "model.path", "expected an existing Hugging Face model directory, found " + path
                    + (Files.exists(path) ? ", which is a file" : ", which does not exist"));
        }
        Map<String, DType> dtypes = new LinkedHashMap<>();
        dtypes.put("f32", DType.F32);
        dtypes.put("bf16", DType.BF16);
        dtypes.put("f16", DType.F16);
        DType dtype = s.choice("compute_dtype", DType.BF16, dtypes);
        return new Model(path, dtype);
    }

    private static Data readData(Section s) {
        List<Path> train = s.existingFiles("train_files");
        if (!s.has("train_files")) s.missing("train_files", "a list of JSONL files, e.g. [train.jsonl]");
        else if (train.isEmpty() && s.get("train_files") instanceof YamlTree.SeqNode) {
            s.reader().problem(s.loc("train_files"), "data.train_files", "expected at least one JSONL file, found an empty list");
        }
        List<Path> eval = s.existingFiles("eval_files");
        Format format = s.choice("format", Format.INSTRUCTION, Format.class);
        String template = s.string("template", "a built-in template name or a template string");
        if (template == null) {
            template = "default";
        } else if (!Data.BUILTIN_TEMPLATES.contains(template)
                && !(template.contains("{instruction}") && template.contains("{output}"))) {
            String hint = ConfigReader.Suggest.closest(template, Data.BUILTIN_TEMPLATES)
                    .map(c -> " (did you mean " + c + "?)").orElse("");
            s.reader().problem(s.loc("template"), "data.template", "expected a built-in template ("
                    + String.join(", ", Data.BUILTIN_TEMPLATES) + ") or a string containing {instruction}, {input} and "
                    + "{output}, found \"" + template + "\"" + hint);
        }
        ChatTemplate chat = s.choice("chat_template", ChatTemplate.CHATML, ChatTemplate.class);
        int maxSeqLen = s.smallInteger("max_seq_len", 512, v -> v >= 2, "an integer >= 2");
        boolean packing = s.bool("packing", true);
        boolean skipBad = s.bool("skip_bad_lines", false);
        return new Data(train, eval, format, template, chat, maxSeqLen, packing, skipBad);
    }

    private static Training readTraining(Section s) {
        return new Training(
                s.smallInteger("epochs", 1, v -> v >= 1, "an integer >= 1"),
                s.integer("max_steps", -1, v -> v == -1 || v >= 1, "-1 (use epochs) or an integer >= 1"),
                s.smallInteger("micro_batch_size", 4, v -> v >= 1, "an integer >= 1"),
                s.smallInteger("gradient_accumulation_steps", 1, v -> v >= 1, "an integer >= 1"),
                s.integer("seed", 42, v -> true, "an integer"),
                s.bool("activation_checkpointing", false),
                s.real("label_smoothing", 0.0, v -> v >= 0 && v < 1, "a number in [0, 1)"),
                s.real("max_grad_norm", 1.0, v -> true, "a number (<= 0 disables clipping)"));
    }

    private static Optimizer readOptimizer(Section s) {
        double lr = s.real("lr", 2e-5, v -> v > 0, "a number > 0");
        double[] betas = s.reals("betas", 2, v -> v >= 0 && v < 1, "in [0, 1)");
        if (betas == null) betas = new double[] {0.9, 0.999};
        return new Optimizer(lr, betas[0], betas[1],
                s.real("eps", 1e-8, v -> v > 0, "a number > 0"),
                s.real("weight_decay", 0.0, v -> v >= 0, "a number >= 0"));
    }

    private static Scheduler readScheduler(ConfigReader r, Section s) {
        SchedulerType type = s.choice("type", SchedulerType.COSINE, SchedulerType.class);
        double ratio = s.real("warmup_ratio", 0.0, v -> v >= 0 && v < 1, "a number in [0, 1)");
        int steps = s.smallInteger("warmup_steps", 0, v -> v >= 0, "an integer >= 0");
        if (ratio > 0 && steps > 0) {
            r.problem(s.loc("warmup_steps"), "scheduler.warmup_steps", "set together with scheduler.warmup_ratio (line "
                    + s.loc("warmup_ratio").line() + "); use one: warmup_ratio (a fraction of total steps) or warmup_steps");
        }
        double floor = s.real("min_lr_ratio", 0.0, v -> v >= 0 && v <= 1, "a number in [0, 1]");
        return new Scheduler(type, ratio, steps, floor);
    }

    private static LossScaling readLossScaling(Section s) {
        return new LossScaling(
                s.real("init_scale", 65536.0, v -> v > 0, "a number > 0"),
                s.real("growth_factor", 2.0, v -> v > 1, "a number > 1"),
                s.real("backoff_factor", 0.5, v -> v > 0 && v < 1, "a number in (0, 1)"),
                s.smallInteger("growth_interval", 2000, v -> v >= 1, "an integer >= 1"));
    }

    private static Distributed readDistributed(Section s) {
        return new Distributed(
                s.choice("sharding", Sharding.FULL_SHARD, Sharding.class),
                s.bool("prefetch", true),
                s.choice("reduce_dtype", ReduceDtype.FP32, ReduceDtype.class),
                s.choice("gradient_sync", GradientSync.EVERY_MICRO_BATCH, GradientSync.class));
    }

    private static Logging readLogging(Section s) {
        int logging = s.smallInteger("logging_steps", 10, v -> v >= 1, "an integer >= 1");
        int eval = s.smallInteger("eval_steps", 0, v -> v >= 0, "an integer >= 0 (0 = only at the end)");
        int save = s.smallInteger("save_steps", 0, v -> v >= 0, "an integer >= 0 (0 = only at the end)");
        int limit = s.smallInteger("save_total_limit", 2, v -> v >= 0, "an integer >= 0 (0 = keep all)");
        Path out = s.path("output_dir", "a directory path");
        if (out == null && !s.has("output_dir")) s.missing("output_dir", "the directory for checkpoints and logs");
        if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
            s.reader().problem(s.loc("output_dir"), "logging.output_dir", "expected a directory, found " + out + ", which is a file");
        }
        return new Logging(logging, eval, save, limit, out);
    }

    private static Resume readResume(ConfigReader r, Section root) {
        String text = root.string("resume", "auto, none or a checkpoint directory");
        if (text == null || text.equals("auto")) return new Resume.Auto();
        if (text.equals("none")) return new Resume.None();
        Path dir = r.resolve(text);
        if (!Files.isDirectory(dir)) {
            r.problem(root.loc("resume"), "resume", "expected auto, none or an existing checkpoint directory, found "
                    + dir + (Files.exists(dir) ? ", which is a file" : ", which does not exist"));
        }
        return new Resume.From(dir);
    }
}
