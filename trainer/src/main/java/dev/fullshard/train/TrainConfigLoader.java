package dev.fullshard.train;

import static dev.fullshard.train.ConfigKeys.*;

import com.fasterxml.jackson.core.JsonToken;
import dev.fullshard.data.DataFormat;
import dev.fullshard.train.ConfigReader.Section;
import dev.fullshard.train.TrainConfig.Data;
import dev.fullshard.train.TrainConfig.Distributed;
import dev.fullshard.train.TrainConfig.Logging;
import dev.fullshard.train.TrainConfig.LossScaling;
import dev.fullshard.train.TrainConfig.Model;
import dev.fullshard.train.TrainConfig.Optimizer;
import dev.fullshard.train.TrainConfig.Precision;
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

/** Reads train.yaml into a {@link TrainConfig}: parse, apply overrides, then read and check every key. */
final class TrainConfigLoader {
    private TrainConfigLoader() {
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
        Section root = r.new Section("", rootNode, new Loc(1, 1, null));
        Section modelSection = root.section("model");
        Path modelPath = readModelPath(r, modelSection);
        Precision mp = root.get(MIXED_PRECISION.key());
        Precision compute = modelSection.get(COMPUTE_DTYPE.key());
        // One of the two may be omitted: it follows from the other, so `compute_dtype: f32` alone means fp32.
        if (!root.has("mixed_precision") && compute != null) {
            mp = compute;
        } else if (compute == null) {
            compute = mp;
        } else if (compute != mp) {
            r.problem(modelSection.loc("compute_dtype"), "model.compute_dtype",
                    "is " + modelSection.string(COMPUTE_DTYPE.key()) + " but mixed_precision is " + PRECISION.write(mp)
                            + ", which computes in " + mp.dtype().name().toLowerCase(Locale.ROOT) + "; make them agree or omit compute_dtype");
        }
        return new TrainConfig(new Model(modelPath, compute.dtype()), mp, readData(root.section("data")),
                readTraining(root.section("training")), readOptimizer(root.section("optimizer")),
                readScheduler(r, root.section("scheduler")), readLossScaling(root.section("loss_scaling")),
                readDistributed(r, root.section("distributed")), readLogging(root.section("logging")),
                readResume(r, root), root.get(DEVICE.key()));
    }

    private static Path readModelPath(ConfigReader r, Section s) {
        Path path = s.path(MODEL_PATH.key());
        if (path == null && !s.has("path")) s.missing("path", "the Hugging Face model directory");
        if (path != null && !Files.isDirectory(path)) {
            r.problem(s.loc("path"), "model.path", "expected an existing Hugging Face model directory, found " + path
                    + (Files.exists(path) ? ", which is a file" : ", which does not exist"));
        }
        return path;
    }

    private static Data readData(Section s) {
        List<Path> train = s.existingFiles("train_files");
        if (!s.has("train_files")) s.missing("train_files", "a list of JSONL files, e.g. [train.jsonl]");
        else if (train.isEmpty() && s.get("train_files") instanceof YamlTree.SeqNode) {
            s.reader().problem(s.loc("train_files"), "data.train_files", "expected at least one JSONL file, found an empty list");
        }
        List<Path> eval = s.existingFiles("eval_files");
        DataFormat format = s.get(FORMAT.key());
        String template = s.get(TEMPLATE.key());
        if (!Data.BUILTIN_TEMPLATES.contains(template) && !(template.contains("{instruction}") && template.contains("{output}"))) {
            String hint = ConfigReader.Suggest.closest(template, Data.BUILTIN_TEMPLATES)
                    .map(c -> " (did you mean " + c + "?)").orElse("");
            s.reader().problem(s.loc("template"), "data.template", "expected a built-in template ("
                    + String.join(", ", Data.BUILTIN_TEMPLATES) + ") or a string containing {instruction}, {input} and "
                    + "{output}, found \"" + template + "\"" + hint);
        }
        return new Data(train, eval, format, template, s.get(CHAT_TEMPLATE.key()), s.get(MAX_SEQ_LEN.key()),
                s.get(PACKING.key()), s.get(SKIP_BAD_LINES.key()));
    }

    private static Training readTraining(Section s) {
        return new Training(s.get(EPOCHS.key()), s.get(MAX_STEPS.key()), s.get(MICRO_BATCH_SIZE.key()),
                s.get(GRADIENT_ACCUMULATION_STEPS.key()), s.get(SEED.key()), s.get(ACTIVATION_CHECKPOINTING.key()),
                s.get(LABEL_SMOOTHING.key()), s.get(MAX_GRAD_NORM.key()));
    }

    private static Optimizer readOptimizer(Section s) {
        double lr = s.get(LR.key());
        double[] betas = s.reals(BETAS.key().leaf(), 2, ConfigKeys.BETA, ConfigKeys.BETA_RANGE);
        List<Double> b = betas == null ? BETAS.key().defaultValue() : List.of(betas[0], betas[1]);
        return new Optimizer(lr, b.get(0), b.get(1), s.get(EPS.key()), s.get(WEIGHT_DECAY.key()));
    }

    private static Scheduler readScheduler(ConfigReader r, Section s) {
        SchedulerType type = s.get(SCHEDULER_TYPE.key());
        double ratio = s.get(WARMUP_RATIO.key());
        int steps = s.get(WARMUP_STEPS.key());
        if (ratio > 0 && steps > 0) {
            r.problem(s.loc("warmup_steps"), "scheduler.warmup_steps", "set together with scheduler.warmup_ratio (line "
                    + s.loc("warmup_ratio").line() + "); use one: warmup_ratio (a fraction of total steps) or warmup_steps");
        }
        return new Scheduler(type, ratio, steps, s.get(MIN_LR_RATIO.key()));
    }

    private static LossScaling readLossScaling(Section s) {
        return new LossScaling(s.get(INIT_SCALE.key()), s.get(GROWTH_FACTOR.key()), s.get(BACKOFF_FACTOR.key()),
                s.get(GROWTH_INTERVAL.key()));
    }

    private static Distributed readDistributed(ConfigReader r, Section s) {
        Sharding sharding = s.get(SHARDING.key());
        int groupSize = s.get(SHARD_GROUP_SIZE.key());
        if (groupSize > 0 && sharding != null && sharding != Sharding.HYBRID_SHARD) {
            r.problem(s.loc("shard_group_size"), "distributed.shard_group_size", "applies only to sharding: hybrid_shard, but sharding is "
                    + sharding.name().toLowerCase(Locale.ROOT) + (s.has("sharding") ? " (line " + s.loc("sharding").line() + ")" : " (the default)"));
        }
        return new Distributed(sharding, s.get(PREFETCH.key()), s.get(REDUCE_DTYPE.key()), s.get(GRADIENT_SYNC.key()), groupSize);
    }

    private static Logging readLogging(Section s) {
        int logging = s.get(LOGGING_STEPS.key());
        int eval = s.get(EVAL_STEPS.key());
        int save = s.get(SAVE_STEPS.key());
        int limit = s.get(SAVE_TOTAL_LIMIT.key());
        Path out = s.path(OUTPUT_DIR.key());
        if (out == null && !s.has("output_dir")) s.missing("output_dir", "the directory for checkpoints and logs");
        if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
            s.reader().problem(s.loc("output_dir"), "logging.output_dir", "expected a directory, found " + out + ", which is a file");
        }
        return new Logging(logging, eval, save, limit, out);
    }

    private static Resume readResume(ConfigReader r, Section root) {
        String text = root.string(RESUME_FROM.key());
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
