package dev.fullshard.train;

import dev.fullshard.data.BuiltinChatTemplate;
import dev.fullshard.data.DataFormat;
import dev.fullshard.tensor.DType;
import dev.fullshard.train.TrainConfig.Distributed;
import dev.fullshard.train.TrainConfig.GradientSync;
import dev.fullshard.train.TrainConfig.Precision;
import dev.fullshard.train.TrainConfig.Resume;
import dev.fullshard.train.TrainConfig.SchedulerType;
import dev.fullshard.train.TrainConfig.Sharding;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainConfigTest {
    @TempDir
    Path dir;

    private static final String MINIMAL = """
            model:
              path: model
            data:
              train_files: [train.jsonl]
            logging:
              output_dir: out
            """;

    @BeforeEach
    void files() throws IOException {
        Files.createDirectories(dir.resolve("model"));
        Files.createDirectories(dir.resolve("ckpt/step-10"));
        Files.writeString(dir.resolve("train.jsonl"), "{}\n");
        Files.writeString(dir.resolve("b.jsonl"), "{}\n");
        Files.writeString(dir.resolve("eval.jsonl"), "{}\n");
    }

    private Path yaml(String text) throws IOException {
        Path f = dir.resolve("train.yaml");
        Files.writeString(f, text);
        return f;
    }

    private TrainConfig load(String text, String... overrides) throws IOException {
        return TrainConfig.load(yaml(text), List.of(overrides));
    }

    /** The message of loading {@code text}, which must fail; it always starts with the file. */
    private String error(String text, String... overrides) throws IOException {
        Path f = yaml(text);
        var thrown = assertThatThrownBy(() -> TrainConfig.load(f, List.of(overrides)))
                .isInstanceOf(ConfigException.class).actual();
        String msg = thrown.getMessage();
        assertThat(msg).startsWith(f.toString());
        return msg.replace(f.toString(), "train.yaml");
    }

    @Test
    void fullExampleParsesEveryField() throws IOException {
        TrainConfig c = load("""
                model:
                  path: model
                  compute_dtype: f16
                mixed_precision: fp16
                data:
                  train_files: [train.jsonl, b.jsonl]
                  eval_files: [eval.jsonl]
                  format: chat
                  template: "Q: {instruction} {input}\\nA: {output}"
                  chat_template: llama2
                  max_seq_len: 2048
                  packing: false
                  skip_bad_lines: true
                training:
                  epochs: 3
                  max_steps: 500
                  micro_batch_size: 2
                  gradient_accumulation_steps: 8
                  seed: 7
                  activation_checkpointing: true
                  label_smoothing: 0.1
                  max_grad_norm: 0.5
                optimizer:
                  lr: 1.0e-4
                  betas: [0.8, 0.95]
                  eps: 1.0e-6
                  weight_decay: 0.01
                scheduler:
                  type: linear
                  warmup_ratio: 0.05
                  warmup_steps: 0
                  min_lr_ratio: 0.1
                loss_scaling:
                  init_scale: 1024.0
                  growth_factor: 4.0
                  backoff_factor: 0.25
                  growth_interval: 100
                distributed:
                  sharding: shard_grad_op
                  prefetch: false
                  reduce_dtype: bf16
                  gradient_sync: last_micro_batch
                logging:
                  logging_steps: 5
                  eval_steps: 50
                  save_steps: 100
                  save_total_limit: 3
                  output_dir: out
                resume: ckpt/step-10
                """);
        assertThat(c.model().path()).isEqualTo(dir.resolve("model"));
        assertThat(c.model().computeDtype()).isEqualTo(DType.F16);
        assertThat(c.computeDtype()).isEqualTo(DType.F16);
        assertThat(c.mixedPrecision()).isEqualTo(Precision.FP16);
        var d = c.data();
        assertThat(d.trainFiles()).containsExactly(dir.resolve("train.jsonl"), dir.resolve("b.jsonl"));
        assertThat(d.evalFiles()).containsExactly(dir.resolve("eval.jsonl"));
        assertThat(d.format()).isEqualTo(DataFormat.CHAT);
        assertThat(d.template()).isEqualTo("Q: {instruction} {input}\nA: {output}");
        assertThat(d.builtinTemplate()).isFalse();
        assertThat(d.chatTemplate()).isEqualTo("llama2");
        assertThat(d.maxSeqLen()).isEqualTo(2048);
        assertThat(d.packing()).isFalse();
        assertThat(d.skipBadLines()).isTrue();
        assertThat(c.training()).isEqualTo(new TrainConfig.Training(3, 500, 2, 8, 7, true, 0.1, 0.5));
        assertThat(c.optimizer()).isEqualTo(new TrainConfig.Optimizer(1e-4, 0.8, 0.95, 1e-6, 0.01));
        assertThat(c.scheduler()).isEqualTo(new TrainConfig.Scheduler(SchedulerType.LINEAR, 0.05, 0, 0.1));
        assertThat(c.lossScaling()).isEqualTo(new TrainConfig.LossScaling(1024.0, 4.0, 0.25, 100));
        assertThat(c.distributed()).isEqualTo(new Distributed(Sharding.SHARD_GRAD_OP, false, Precision.BF16,
                GradientSync.LAST_MICRO_BATCH, 0));
        assertThat(c.logging()).isEqualTo(new TrainConfig.Logging(5, 50, 100, 3, dir.resolve("out")));
        assertThat(c.resume()).isEqualTo(new Resume.From(dir.resolve("ckpt/step-10")));
        assertThat(c.globalBatch()).isEqualTo(16);
        assertThat(c.totalSteps(1000)).isEqualTo(500);
        assertThat(c.warmupSteps(500)).isEqualTo(25);
        assertThat(c.warmupSteps(101)).isEqualTo(6); // ceil(5.05)
    }

    @Test
    void minimalFileGetsDefaults() throws IOException {
        TrainConfig c = load(MINIMAL);
        assertThat(c.mixedPrecision()).isEqualTo(Precision.BF16);
        assertThat(c.computeDtype()).isEqualTo(DType.BF16);
        var d = c.data();
        assertThat(d.evalFiles()).isEmpty();
        assertThat(d.format()).isEqualTo(DataFormat.INSTRUCTION);
        assertThat(d.template()).isEqualTo("default");
        assertThat(d.builtinTemplate()).isTrue();
        assertThat(d.chatTemplate()).isEqualTo("auto");
        assertThat(d.maxSeqLen()).isEqualTo(512);
        assertThat(d.packing()).isTrue();
        assertThat(d.skipBadLines()).isFalse();
        assertThat(c.training()).isEqualTo(new TrainConfig.Training(1, -1, 4, 1, 42, false, 0.0, 1.0));
        assertThat(c.optimizer()).isEqualTo(new TrainConfig.Optimizer(2e-5, 0.9, 0.999, 1e-8, 0.0));
        assertThat(c.scheduler()).isEqualTo(new TrainConfig.Scheduler(SchedulerType.COSINE, 0.0, 0, 0.0));
        assertThat(c.lossScaling()).isEqualTo(new TrainConfig.LossScaling(65536.0, 2.0, 0.5, 2000));
        assertThat(c.distributed()).isEqualTo(new Distributed(Sharding.FULL_SHARD, true, Precision.FP32,
                GradientSync.EVERY_MICRO_BATCH, 0));
        assertThat(c.logging()).isEqualTo(new TrainConfig.Logging(10, 0, 0, 2, dir.resolve("out")));
        assertThat(c.resume()).isEqualTo(new Resume.Auto());
        assertThat(c.globalBatch()).isEqualTo(4);
        assertThat(c.totalSteps(30)).isEqualTo(30);
        assertThat(c.warmupSteps(100)).isZero();
    }

    @Test
    void distributedParsesEveryValue() throws IOException {
        assertThat(distributed("sharding: full_shard").sharding()).isEqualTo(Sharding.FULL_SHARD);
        assertThat(distributed("sharding: shard_grad_op").sharding()).isEqualTo(Sharding.SHARD_GRAD_OP);
        assertThat(distributed("sharding: no_shard").sharding()).isEqualTo(Sharding.NO_SHARD);
        assertThat(distributed("prefetch: true").prefetch()).isTrue();
        assertThat(distributed("prefetch: false").prefetch()).isFalse();
        assertThat(distributed("reduce_dtype: fp32").reduceDtype()).isEqualTo(Precision.FP32);
        assertThat(distributed("reduce_dtype: bf16").reduceDtype()).isEqualTo(Precision.BF16);
        assertThat(distributed("reduce_dtype: fp16").reduceDtype()).isEqualTo(Precision.FP16);
        assertThat(distributed("gradient_sync: every_micro_batch").gradientSync()).isEqualTo(GradientSync.EVERY_MICRO_BATCH);
        assertThat(distributed("gradient_sync: last_micro_batch").gradientSync()).isEqualTo(GradientSync.LAST_MICRO_BATCH);
        assertThat(Precision.FP32.dtype()).isEqualTo(DType.F32);
        assertThat(Precision.BF16.dtype()).isEqualTo(DType.BF16);
        assertThat(Precision.FP16.dtype()).isEqualTo(DType.F16);
        // The reduce dtype does not have to match mixed_precision.
        for (String mp : List.of("fp32", "bf16", "fp16")) {
            for (String reduce : List.of("fp32", "bf16", "fp16")) {
                TrainConfig c = load(MINIMAL + "mixed_precision: " + mp + "\ndistributed: {reduce_dtype: " + reduce + "}\n");
                assertThat(c.distributed().reduceDtype().dtype()).isEqualTo(load(MINIMAL + "mixed_precision: " + reduce + "\n").computeDtype());
            }
        }
        // An empty section is all defaults.
        assertThat(load(MINIMAL + "distributed: {}\n").distributed()).isEqualTo(load(MINIMAL).distributed());
    }

    @Test
    void deviceDefaultsToAutoAndParsesEveryValue() throws IOException {
        assertThat(load(MINIMAL).device()).isEqualTo(TrainConfig.DeviceChoice.AUTO);
        assertThat(load(MINIMAL + "device: cpu\n").device()).isEqualTo(TrainConfig.DeviceChoice.CPU);
        assertThat(load(MINIMAL + "device: cuda\n").device()).isEqualTo(TrainConfig.DeviceChoice.CUDA);
        assertThat(load(MINIMAL, "device=cpu").device()).isEqualTo(TrainConfig.DeviceChoice.CPU);
        assertThat(error(MINIMAL + "device: gpu\n")).startsWith("train.yaml:").contains("device: expected one of auto, cpu, cuda");
        TrainConfig c = load(MINIMAL + "device: cuda\n");
        assertThat(c.toYaml()).contains("device: cuda");
    }

    /** The distributed section of MINIMAL plus {@code distributed:} with one {@code line}. */
    private Distributed distributed(String line) throws IOException {
        return load(MINIMAL + "distributed:\n  " + line + "\n").distributed();
    }

    @Test
    void distributedOverrides() throws IOException {
        TrainConfig c = load(MINIMAL, "distributed.sharding=no_shard", "distributed.prefetch=false",
                "distributed.reduce_dtype=bf16", "distributed.gradient_sync=last_micro_batch");
        assertThat(c.distributed()).isEqualTo(new Distributed(Sharding.NO_SHARD, false, Precision.BF16,
                GradientSync.LAST_MICRO_BATCH, 0));
        c = load(MINIMAL + "distributed:\n  sharding: shard_grad_op\n  reduce_dtype: fp16\n", "distributed.sharding=no_shard");
        assertThat(c.distributed().sharding()).isEqualTo(Sharding.NO_SHARD);
        assertThat(c.distributed().reduceDtype()).isEqualTo(Precision.FP16);
        assertThat(error(MINIMAL, "distributed.sharding=zero3")).isEqualTo("train.yaml: override distributed.sharding=zero3: "
                + "expected one of full_shard, shard_grad_op, no_shard, hybrid_shard, found the string \"zero3\"");
    }

    @Test
    void hybridShardTakesAShardGroupSizeAndNoOtherShardingDoes() throws IOException {
        assertThat(distributed("sharding: hybrid_shard")).isEqualTo(new Distributed(Sharding.HYBRID_SHARD, true, Precision.FP32,
                GradientSync.EVERY_MICRO_BATCH, 0));
        TrainConfig c = load(MINIMAL + "distributed:\n  sharding: hybrid_shard\n  shard_group_size: 8\n");
        assertThat(c.distributed().shardGroupSize()).isEqualTo(8);
        assertThat(c.toYaml()).contains("sharding: hybrid_shard").contains("shard_group_size: 8");
        assertThat(error(MINIMAL + "distributed:\n  sharding: full_shard\n  shard_group_size: 2\n")).isEqualTo("train.yaml:9:21: "
                + "distributed.shard_group_size: applies only to sharding: hybrid_shard, but sharding is full_shard (line 8)");
        assertThat(error(MINIMAL + "distributed:\n  shard_group_size: 2\n")).endsWith("but sharding is full_shard (the default)");
        assertThat(error(MINIMAL + "distributed:\n  sharding: hybrid_shard\n  shard_group_size: -1\n"))
                .contains("distributed.shard_group_size: expected an integer >= 0");
    }

    @Test
    void badDistributedValuesNameLineColumnAndAllowedValues() throws IOException {
        assertThat(error(MINIMAL + "distributed:\n  sharding: full_shrd\n"))
                .isEqualTo("train.yaml:8:13: distributed.sharding: expected one of full_shard, shard_grad_op, no_shard, hybrid_shard, "
                        + "found the string \"full_shrd\" (did you mean full_shard?)");
        assertThat(error(MINIMAL + "distributed:\n  reduce_dtype: fp33\n"))
                .isEqualTo("train.yaml:8:17: distributed.reduce_dtype: expected one of fp32, bf16, fp16, "
                        + "found the string \"fp33\" (did you mean fp32?)");
        assertThat(error(MINIMAL + "distributed:\n  gradient_sync: always\n"))
                .isEqualTo("train.yaml:8:18: distributed.gradient_sync: expected one of every_micro_batch, last_micro_batch, "
                        + "found the string \"always\"");
        assertThat(error(MINIMAL + "distributed:\n  prefetch: yes please\n"))
                .isEqualTo("train.yaml:8:13: distributed.prefetch: expected true or false, found the string \"yes please\"");
        assertThat(error(MINIMAL + "distributed: full_shard\n"))
                .isEqualTo("train.yaml:7:14: distributed: expected a mapping with keys sharding, shard_group_size, prefetch, "
                        + "reduce_dtype, gradient_sync, found the string \"full_shard\"");
    }

    @Test
    void computeDtypeFollowsMixedPrecisionAndTheOtherWay() throws IOException {
        assertThat(load(MINIMAL + "mixed_precision: fp32\n").computeDtype()).isEqualTo(DType.F32);
        assertThat(load(MINIMAL + "mixed_precision: fp16\n").computeDtype()).isEqualTo(DType.F16);
        TrainConfig c = load(MINIMAL.replace("path: model", "path: model\n  compute_dtype: f32"));
        assertThat(c.mixedPrecision()).isEqualTo(Precision.FP32);
        assertThat(load(MINIMAL + "scheduler: {warmup_steps: 7}\n").warmupSteps(1000)).isEqualTo(7);
    }

    @Test
    void relativePathsResolveAgainstTheYamlFolderNotTheWorkingDirectory() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("configs/run1"));
        Path f = sub.resolve("train.yaml");
        Files.writeString(f, """
                model: {path: ../../model}
                data: {train_files: [../../train.jsonl], eval_files: ../../eval.jsonl}
                logging: {output_dir: out/../runs/x}
                resume: ../../ckpt/step-10
                """);
        TrainConfig c = TrainConfig.load(f, List.of());
        assertThat(c.model().path()).isEqualTo(dir.resolve("model"));
        assertThat(c.data().trainFiles()).containsExactly(dir.resolve("train.jsonl"));
        assertThat(c.data().evalFiles()).containsExactly(dir.resolve("eval.jsonl"));
        assertThat(c.logging().outputDir()).isEqualTo(sub.resolve("runs/x"));
        assertThat(c.resume()).isEqualTo(new Resume.From(dir.resolve("ckpt/step-10")));
        assertThat(c.model().path()).isAbsolute();
    }

    @Test
    void overridesAreAppliedBeforeValidation() throws IOException {
        TrainConfig c = load(MINIMAL, "optimizer.lr=1e-4", "training.max_steps=20", "data.train_files=[train.jsonl,b.jsonl]",
                "optimizer.betas=[0.9, 0.95]", "training.activation_checkpointing=true", "scheduler.type=constant",
                "resume=none", "model.compute_dtype=f32", "mixed_precision=fp32");
        assertThat(c.optimizer().lr()).isEqualTo(1e-4);
        assertThat(c.optimizer().beta2()).isEqualTo(0.95);
        assertThat(c.training().maxSteps()).isEqualTo(20);
        assertThat(c.training().activationCheckpointing()).isTrue();
        assertThat(c.data().trainFiles()).containsExactly(dir.resolve("train.jsonl"), dir.resolve("b.jsonl"));
        assertThat(c.scheduler().type()).isEqualTo(SchedulerType.CONSTANT);
        assertThat(c.resume()).isEqualTo(new Resume.None());
        assertThat(c.computeDtype()).isEqualTo(DType.F32);
        // A comma list, and an override may supply a required key the file lacks.
        c = load("model: {path: model}\nlogging: {output_dir: out}\n", "data.train_files=train.jsonl,b.jsonl");
        assertThat(c.data().trainFiles()).containsExactly(dir.resolve("train.jsonl"), dir.resolve("b.jsonl"));
    }

    @Test
    void badOverridesNameTheOverride() throws IOException {
        assertThat(error(MINIMAL, "optimizer.lr=abc"))
                .isEqualTo("train.yaml: override optimizer.lr=abc: expected a number > 0, found the string \"abc\"");
        assertThat(error(MINIMAL, "optimizer.lrr=1e-4")).isEqualTo("train.yaml: override optimizer.lrr=1e-4: "
                + "unknown key (did you mean lr?); allowed in optimizer: lr, betas, eps, weight_decay");
        assertThat(error(MINIMAL, "training.max_steps")).isEqualTo(
                "train.yaml: override training.max_steps: training.max_steps: expected key.sub=value, e.g. optimizer.lr=1e-4");
        assertThat(error(MINIMAL, "data.train_files=[train.jsonl,missing.jsonl]")).isEqualTo(
                "train.yaml: override data.train_files=[train.jsonl,missing.jsonl]: data.train_files[1]: expected an existing file, found "
                        + dir.resolve("missing.jsonl") + ", which does not exist");
    }

    @Test
    void unknownKeysNameLineColumnAndAllowedKeys() throws IOException {
        assertThat(error(MINIMAL + "optimizer:\n  learning_rate: 1e-4\n")).isEqualTo("train.yaml:8:3: optimizer.learning_rate: "
                + "unknown key (fullshard calls it optimizer.lr); allowed in optimizer: lr, betas, eps, weight_decay");
        assertThat(error(MINIMAL + "training:\n  micro_batch_sise: 2\n")).isEqualTo("train.yaml:8:3: training.micro_batch_sise: "
                + "unknown key (did you mean micro_batch_size?); allowed in training: epochs, max_steps, micro_batch_size, "
                + "gradient_accumulation_steps, seed, activation_checkpointing, label_smoothing, max_grad_norm");
        assertThat(error(MINIMAL + "training:\n  lr: 1e-4\n")).startsWith("train.yaml:8:3: training.lr: unknown key "
                + "(it belongs in optimizer: did you mean optimizer.lr?); allowed in training: ");
        assertThat(error(MINIMAL + "optimiser: {lr: 1}\n")).isEqualTo("train.yaml:7:1: optimiser: unknown key "
                + "(did you mean optimizer?); allowed at the top level: model, mixed_precision, device, data, training, optimizer, "
                + "scheduler, loss_scaling, distributed, logging, resume");
        assertThat(error(MINIMAL + "distributed:\n  sharding_strategy: full_shard\n")).isEqualTo("train.yaml:8:3: "
                + "distributed.sharding_strategy: unknown key (fullshard calls it distributed.sharding); allowed in "
                + "distributed: sharding, shard_group_size, prefetch, reduce_dtype, gradient_sync");
    }

    @Test
    void wrongTypesNameKeyLineExpectedTypeAndValue() throws IOException {
        assertThat(error(MINIMAL + "training:\n  micro_batch_size: four\n"))
                .isEqualTo("train.yaml:8:21: training.micro_batch_size: expected an integer >= 1, found the string \"four\"");
        assertThat(error(MINIMAL + "training:\n  epochs: 1.5\n"))
                .isEqualTo("train.yaml:8:11: training.epochs: expected an integer >= 1, found the number 1.5");
        assertThat(error(MINIMAL.replace("train_files: [train.jsonl]", "train_files: [train.jsonl]\n  packing: maybe")))
                .isEqualTo("train.yaml:5:12: data.packing: expected true or false, found the string \"maybe\"");
        assertThat(error(MINIMAL + "optimizer: 3\n"))
                .isEqualTo("train.yaml:7:12: optimizer: expected a mapping with keys lr, betas, eps, weight_decay, found the number 3");
        assertThat(error(MINIMAL + "optimizer:\n  betas: 0.9\n"))
                .isEqualTo("train.yaml:8:10: optimizer.betas: expected a list of 2 numbers, each in [0, 1), found the number 0.9");
    }

    @Test
    void impossibleValuesNameKeyLineAndWhatIsAllowed() throws IOException {
        assertThat(error(MINIMAL + "optimizer:\n  lr: -1e-4\n"))
                .isEqualTo("train.yaml:8:7: optimizer.lr: expected a number > 0, found the number -1e-4");
        assertThat(error(MINIMAL + "optimizer:\n  betas: [0.9, 1.0]\n"))
                .isEqualTo("train.yaml:8:16: optimizer.betas[1]: expected in [0, 1), found the number 1.0");
        assertThat(error(MINIMAL.replace("train_files: [train.jsonl]", "train_files: [train.jsonl]\n  max_seq_len: 1")))
                .isEqualTo("train.yaml:5:16: data.max_seq_len: expected an integer >= 2, found the number 1");
        assertThat(error(MINIMAL + "training:\n  micro_batch_size: 0\n"))
                .isEqualTo("train.yaml:8:21: training.micro_batch_size: expected an integer >= 1, found the number 0");
        assertThat(error(MINIMAL + "scheduler:\n  warmup_ratio: 1.5\n"))
                .isEqualTo("train.yaml:8:17: scheduler.warmup_ratio: expected a number in [0, 1), found the number 1.5");
        assertThat(error(MINIMAL + "scheduler:\n  warmup_ratio: 0.1\n  warmup_steps: 100\n"))
                .isEqualTo("train.yaml:9:17: scheduler.warmup_steps: set together with scheduler.warmup_ratio (line 8); "
                        + "use one: warmup_ratio (a fraction of total steps) or warmup_steps");
        assertThat(error(MINIMAL + "scheduler:\n  min_lr_ratio: 2\n"))
                .isEqualTo("train.yaml:8:17: scheduler.min_lr_ratio: expected a number in [0, 1], found the number 2");
        assertThat(error(MINIMAL + "scheduler:\n  type: cosin\n"))
                .isEqualTo("train.yaml:8:9: scheduler.type: expected one of cosine, linear, constant, found the string \"cosin\" "
                        + "(did you mean cosine?)");
        assertThat(error(MINIMAL + "mixed_precision: fp8\n"))
                .isEqualTo("train.yaml:7:18: mixed_precision: expected one of fp32, bf16, fp16, found the string \"fp8\"");
        assertThat(error(MINIMAL.replace("path: model", "path: model\n  compute_dtype: f16") + "mixed_precision: bf16\n"))
                .isEqualTo("train.yaml:3:18: model.compute_dtype: is f16 but mixed_precision is bf16, which computes in bf16; "
                        + "make them agree or omit compute_dtype");
    }

    @Test
    void missingRequiredKeysAndFiles() throws IOException {
        assertThat(error("data: {train_files: [train.jsonl]}\nlogging: {output_dir: out}\n"))
                .isEqualTo("train.yaml:1:1: model.path: missing; required: the Hugging Face model directory");
        assertThat(error(MINIMAL.replace("train_files: [train.jsonl]", "train_files: []")))
                .isEqualTo("train.yaml:4:16: data.train_files: expected at least one JSONL file, found an empty list");
        assertThat(error(MINIMAL.replace("train_files: [train.jsonl]", "train_files: [train.jsonl, nope.jsonl]")))
                .isEqualTo("train.yaml:4:30: data.train_files[1]: expected an existing file, found "
                        + dir.resolve("nope.jsonl") + ", which does not exist");
        assertThat(error(MINIMAL.replace("path: model", "path: no-such-model")))
                .isEqualTo("train.yaml:2:9: model.path: expected an existing Hugging Face model directory, found "
                        + dir.resolve("no-such-model") + ", which does not exist");
        assertThat(error(MINIMAL + "resume: ckpt/step-99\n"))
                .isEqualTo("train.yaml:7:9: resume: expected auto, none or an existing checkpoint directory, found "
                        + dir.resolve("ckpt/step-99") + ", which does not exist");
        assertThat(error("")).contains("model.path: missing").contains("data.train_files: missing")
                .contains("logging.output_dir: missing");
    }

    @Test
    void everyProblemIsReportedAtOnceEachLineStartingWithTheFile() throws IOException {
        String msg = error(MINIMAL + "optimizer:\n  lr: -1\n  eps: 0\n");
        assertThat(msg.lines()).containsExactly(
                "train.yaml:8:7: optimizer.lr: expected a number > 0, found the number -1",
                "train.yaml:9:8: optimizer.eps: expected a number > 0, found the number 0");
    }

    @Test
    void yamlSyntaxErrorsAndDuplicateKeysHaveALine() throws IOException {
        assertThat(error(MINIMAL + "optimizer:\n  lr: 1\n  lr: 2\n"))
                .isEqualTo("train.yaml:9:3: yaml: key 'lr' appears twice in one mapping (first at line 8)");
        assertThat(error(MINIMAL + "optimizer: [lr: 1\n")).startsWith("train.yaml:").contains(": yaml: not valid YAML: ");
    }

    @Test
    void tabsAreNamedWhereTheyAreNotWhereTheParserStarted() throws IOException {
        assertThat(error("model:\n\tpath: model\n"))
                .isEqualTo("train.yaml:2:1: yaml: tabs are not allowed for indentation; indent with spaces");
        assertThat(error(MINIMAL + "optimizer:\n  lr: 1\n \teps: 1\n"))
                .isEqualTo("train.yaml:9:2: yaml: tabs are not allowed for indentation; indent with spaces");
        assertThat(error("resume:\tauto\n" + MINIMAL)).isEqualTo("train.yaml:1:8: yaml: a tab is not allowed here; use spaces");
    }

    @Test
    void aFileThatIsNotUtf8TextIsNamedWithTheByteAndLine() throws IOException {
        Path f = dir.resolve("train.yaml");
        byte[] head = "model:\n  path: m".getBytes(StandardCharsets.US_ASCII);
        byte[] bytes = Arrays.copyOf(head, head.length + 2);
        bytes[head.length] = (byte) 0xFF;
        bytes[head.length + 1] = '\n';
        Files.write(f, bytes);
        assertThatThrownBy(() -> TrainConfig.load(f, List.of())).isInstanceOf(ConfigException.class)
                .hasMessage(f + ":2: not UTF-8 text (byte 0xFF at offset 16); expected a UTF-8 YAML file");
    }

    @Test
    void aMissingFileOrADirectorySaysSo() {
        Path missing = dir.resolve("missing.yaml");
        assertThatThrownBy(() -> TrainConfig.load(missing, List.of())).isInstanceOf(ConfigException.class)
                .hasMessage("no such file: " + missing);
        assertThatThrownBy(() -> TrainConfig.load(dir, List.of())).isInstanceOf(ConfigException.class)
                .hasMessage(dir + ": is a directory, expected a YAML file");
    }

    @Test
    void everyDtypeKeyTakesBothDtypeSpellingsAndIsWrittenInOne() throws IOException {
        for (String spelling : List.of("f32", "fp32")) {
            TrainConfig c = load(MINIMAL.replace("path: model", "path: model\n  compute_dtype: " + spelling));
            assertThat(c.mixedPrecision()).isEqualTo(Precision.FP32);
            assertThat(c.toYaml()).contains("  compute_dtype: fp32\n").contains("mixed_precision: fp32\n");
            TrainConfig d = load(MINIMAL, "mixed_precision=" + spelling, "distributed.reduce_dtype=" + spelling);
            assertThat(d.mixedPrecision()).isEqualTo(Precision.FP32);
            assertThat(d.distributed().reduceDtype()).isEqualTo(Precision.FP32);
            assertThat(d.toYaml()).contains("mixed_precision: fp32\n").contains("  reduce_dtype: fp32\n");
        }
        for (String spelling : List.of("f16", "fp16")) {
            assertThat(load(MINIMAL, "mixed_precision=" + spelling, "distributed.reduce_dtype=" + spelling)
                    .distributed().reduceDtype()).isEqualTo(Precision.FP16);
        }
        for (String spelling : List.of("f16", "fp16")) {
            assertThat(load(MINIMAL, "model.compute_dtype=" + spelling).computeDtype()).isEqualTo(DType.F16);
        }
        assertThat(error(MINIMAL, "model.compute_dtype=fp8"))
                .endsWith("model.compute_dtype=fp8: expected one of fp32, bf16, fp16, found the string \"fp8\"");
    }

    @Test
    void effectiveConfigRoundTripsThroughYaml() throws IOException {
        TrainConfig c = load(MINIMAL + "scheduler: {warmup_ratio: 0.03}\noptimizer: {lr: 3.0e-4}\n", "data.eval_files=eval.jsonl",
                "distributed.sharding=shard_grad_op", "distributed.prefetch=false", "distributed.reduce_dtype=bf16",
                "distributed.gradient_sync=last_micro_batch");
        String saved = c.toYaml();
        assertThat(saved).contains("lr: 3.0E-4").contains("output_dir: " + dir.resolve("out"))
                .contains("distributed:\n  sharding: shard_grad_op\n  shard_group_size: 0\n  prefetch: false\n  reduce_dtype: bf16\n"
                        + "  gradient_sync: last_micro_batch\n");
        assertThat(c.toMap().keySet()).containsExactly("model", "mixed_precision", "device", "data", "training", "optimizer",
                "scheduler", "loss_scaling", "distributed", "logging", "resume");
        Path copy = Files.createDirectories(dir.resolve("elsewhere")).resolve(TrainConfig.SAVED_NAME);
        Files.writeString(copy, saved);
        assertThat(TrainConfig.load(copy, List.of())).isEqualTo(c);
    }
}
