package dev.fullshard.train;

import dev.fullshard.cli.FullshardCommand;
import dev.fullshard.io.HfModel;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Whole runs of the trainer on the tiny example data: the loss falls, and a killed run resumes exactly. */
class TrainerTest {
    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static Path model;

    /** The tiny model, made once for the class. */
    private static synchronized Path model() {
        if (model == null) model = TinyRun.tinyModel(shared.resolve("tiny-model"));
        return model;
    }

    private Path writeConfig(String name, String training) throws IOException {
        Path data = TinyRun.taskData();
        String yaml = """
                model:
                  path: %s
                mixed_precision: bf16
                data:
                  train_files: [%s]
                  eval_files: [%s]
                  max_seq_len: 128
                training:
                %s
                  micro_batch_size: 4
                  gradient_accumulation_steps: 2
                optimizer:
                  lr: 3.0e-3
                  weight_decay: 0.01
                scheduler:
                  type: cosine
                  warmup_steps: 5
                  min_lr_ratio: 0.1
                logging:
                  logging_steps: 5
                  save_steps: 5
                  save_total_limit: 3
                  output_dir: %s
                """.formatted(model(), data.resolve("train.jsonl"), data.resolve("eval.jsonl"), training.indent(2).stripTrailing(),
                tmp.resolve(name + "-out"));
        return Files.writeString(tmp.resolve(name + ".yaml"), yaml);
    }

    @Test
    void deviceCudaWithoutAGpuFailsWithTheReason() throws Exception {
        Path yaml = writeConfig("cuda", "max_steps: 1");
        java.io.StringWriter err = new java.io.StringWriter();
        int code = dev.fullshard.cli.FullshardCommand.commandLine().setOut(new PrintWriter(new StringWriter(), true))
                .setErr(new PrintWriter(err, true)).execute("train", yaml.toString(), "device=cuda");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("fullshard train: CUDA is not available").contains("libtorch_cuda.so");
        assertThat(Files.exists(tmp.resolve("cuda-out/metrics.jsonl"))).isFalse();
    }

    @Test
    void theEvalLossFallsClearlyAndTheExportLoadsAndEvaluatesTheSame() throws Exception {
        Path yaml = writeConfig("e2e", "max_steps: 60");
        Trainer.Result result = Trainer.run(TrainConfig.load(yaml, List.of()), StopRequest.none(), new PrintWriter(new StringWriter(), true));
        Map<Long, Double> eval = evalLosses(tmp.resolve("e2e-out/metrics.jsonl"));
        assertThat(eval).containsKeys(0L, 60L);
        // A random model starts near ln(32000) ≈ 10.4; the regular tiny data is learnable well below that.
        assertThat(eval.get(0L)).isGreaterThan(9.0);
        assertThat(eval.get(60L)).isLessThan(eval.get(0L) - 4.0);
        assertThat(result.evalLoss()).isEqualTo(eval.get(60L));
        assertThat(tmp.resolve("e2e-out/loss.png")).exists();
        assertThat(tmp.resolve("e2e-out/config.yaml")).exists();
        assertThat(result.export().resolve("tokenizer.json")).exists();
        try (TensorScope ignored = TensorScope.open()) {
            assertThat(HfModel.load(result.export(), DType.BF16).config()).isEqualTo(HfModel.load(model(), DType.F32).config());
        }
        // `fullshard eval` on the exported bf16 weights computes the same loss as the trainer's last evaluation.
        StringWriter out = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).execute("eval", "--model", result.export().toString(),
                "--data", TinyRun.taskData().resolve("eval.jsonl").toString(), "--max-seq-len", "128", "--packing", "--dtype", "bf16");
        assertThat(code).isZero();
        Matcher m = Pattern.compile("loss (\\d+\\.\\d+)").matcher(out.toString());
        assertThat(m.find()).as(out.toString()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isCloseTo(result.evalLoss(), org.assertj.core.data.Offset.offset(2e-4));
    }

    /** Without eval data, and when a finished run is started again, the summary says so: no NaN, no "0 tokens/s". */
    @Test
    void theSummaryNamesWhatIsMissingInsteadOfPrintingNaN() throws Exception {
        Path yaml = writeConfig("no-eval", "max_steps: 6");
        List<String> overrides = List.of("data.eval_files=[]", "mixed_precision=fp32");
        StringWriter first = new StringWriter(), again = new StringWriter();
        Trainer.run(TrainConfig.load(yaml, overrides), StopRequest.none(), new PrintWriter(first, true));
        Trainer.run(TrainConfig.load(yaml, overrides), StopRequest.none(), new PrintWriter(again, true));
        assertThat(first.toString()).contains("train: done: 6 steps", "no eval data").doesNotContain("NaN");
        assertThat(again.toString()).contains("train: done: 6 steps", "no eval data", "no step left to train")
                .doesNotContain("NaN").doesNotContain("tokens/s");
        List<String> lines = Files.readAllLines(tmp.resolve("no-eval-out/metrics.jsonl"));
        com.fasterxml.jackson.databind.ObjectMapper strict = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : lines) strict.readTree(line); // NaN is not JSON
        assertThat(lines).filteredOn(l -> l.contains("\"summary\"")).isNotEmpty().allSatisfy(l -> assertThat(l).doesNotContain("eval_loss"));
    }

    /** fp16 with dynamic loss scaling (and label smoothing) trains too: no step is lost, the loss falls. */
    @Test
    void fp16WithLossScalingTrains() throws Exception {
        // fp16 kernels on the CPU are slow (about 20x bf16 here): keep the run short.
        Path yaml = writeConfig("fp16", "max_steps: 12\nlabel_smoothing: 0.1");
        TrainConfig config = TrainConfig.load(yaml, List.of("mixed_precision=fp16"));
        assertThat(config.computeDtype()).isEqualTo(DType.F16);
        Trainer.Result result = Trainer.run(config, StopRequest.none(), new PrintWriter(new StringWriter(), true));
        Map<Long, Double> eval = evalLosses(tmp.resolve("fp16-out/metrics.jsonl"));
        assertThat(result.steps()).isEqualTo(12);
        assertThat(eval.get(12L)).isLessThan(eval.get(0L) - 1.0);
        String metrics = Files.readString(tmp.resolve("fp16-out/metrics.jsonl"));
        // The default initial scale of 65536 is fine for this model: no overflow, so no skipped step.
        assertThat(metrics).doesNotContain("\"type\":\"skipped_step\"").contains("\"skipped_steps\":0");
    }

    /**
     * 20 steps straight, against a run killed with SIGKILL after its first checkpoint and resumed with
     * the same command: the resumed steps have the same losses, and the final weights are identical
     * (each process on 2 intra-op threads, as every run here).
     */
    @Test
    void aKilledRunResumesExactly() throws Exception {
        Path straight = writeConfig("straight", "max_steps: 20");
        assertThat(runFullshard(straight).waitFor(5, TimeUnit.MINUTES)).isTrue();

        Path killed = writeConfig("killed", "max_steps: 20");
        Process first = runFullshard(killed);
        Path out = tmp.resolve("killed-out");
        while (first.isAlive() && !Files.isDirectory(out.resolve("checkpoint-5"))) Thread.sleep(20);
        assertThat(first.isAlive()).as("still training when killed").isTrue();
        first.destroyForcibly().waitFor();
        Process second = runFullshard(killed);
        assertThat(second.waitFor(5, TimeUnit.MINUTES)).isTrue();
        String log = Files.readString(tmp.resolve("killed.log"));
        assertThat(second.exitValue()).as(log).isZero();
        assertThat(log).containsPattern("resuming from .*checkpoint-(5|10|15)");

        Map<Long, Double> reference = trainLosses(tmp.resolve("straight-out/metrics.jsonl"));
        Map<Long, Double> resumed = trainLosses(out.resolve("metrics.jsonl"));
        assertThat(reference).hasSize(20);
        assertThat(resumed).isEqualTo(reference);
        assertThat(Files.readAllBytes(out.resolve("checkpoint-20/model.safetensors")))
                .isEqualTo(Files.readAllBytes(tmp.resolve("straight-out/checkpoint-20/model.safetensors")));
        assertThat(Files.readAllBytes(out.resolve("checkpoint-20/optimizer.safetensors")))
                .isEqualTo(Files.readAllBytes(tmp.resolve("straight-out/checkpoint-20/optimizer.safetensors")));
    }

    /**
     * Two uninterrupted fp32 runs on 2 intra-op threads agree bit for bit: loss and grad_norm of every step,
     * and the final weights. The embedding backward once added repeated tokens' rows with atomic adds in
     * whatever order the threads came, and grad_norm differed from the first step.
     */
    @Test
    void twoRunsOnTwoThreadsAreIdenticalBitForBit() throws Exception {
        for (String run : List.of("one", "two")) {
            Path yaml = writeConfig(run, "max_steps: 5");
            Process p = runFullshard(yaml, "mixed_precision=fp32", "logging.logging_steps=1");
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(tmp.resolve(run + ".log"))).isZero();
        }
        Path one = tmp.resolve("one-out"), two = tmp.resolve("two-out");
        assertThat(trainLosses(one.resolve("metrics.jsonl"))).hasSize(5).isEqualTo(trainLosses(two.resolve("metrics.jsonl")));
        assertThat(values(one.resolve("metrics.jsonl"), "train", "grad_norm")).hasSize(5)
                .isEqualTo(values(two.resolve("metrics.jsonl"), "train", "grad_norm"));
        assertThat(Files.readAllBytes(one.resolve("checkpoint-5/model.safetensors")))
                .isEqualTo(Files.readAllBytes(two.resolve("checkpoint-5/model.safetensors")));
    }

    /** SIGTERM (as Slurm sends before its deadline): the step finishes, a checkpoint is saved, the exit code says so. */
    @Test
    void sigtermSavesACheckpointAndExitsWith143() throws Exception {
        Path yaml = writeConfig("term", "max_steps: 200");
        Process p = runFullshard(yaml);
        Path out = tmp.resolve("term-out");
        while (p.isAlive() && !Files.isDirectory(out.resolve("checkpoint-5"))) Thread.sleep(20);
        assertThat(p.isAlive()).isTrue();
        p.toHandle().destroy(); // SIGTERM
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String log = Files.readString(tmp.resolve("term.log"));
        assertThat(p.exitValue()).as(log).isEqualTo(143);
        assertThat(log).contains("stopped by SIGTERM");
        long newest = new CheckpointStore(out).newest().map(c -> Long.parseLong(c.getFileName().toString().substring(11))).orElseThrow();
        assertThat(newest).isGreaterThanOrEqualTo(5).isLessThan(200);
    }

    /**
     * {@code fullshard train yaml overrides...} in a new process on 2 intra-op threads whatever the machine
     * has: on one thread a race between threads could not show.
     */
    private Process runFullshard(Path yaml, String... overrides) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), FullshardCommand.class.getName(),
                "train", yaml.toString()));
        command.addAll(List.of(overrides));
        Path log = tmp.resolve(yaml.getFileName().toString().replace(".yaml", ".log"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("FULLSHARD_NUM_THREADS", "2");
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        return pb.start();
    }

    private static Map<Long, Double> trainLosses(Path metrics) throws IOException {
        return values(metrics, "train", "loss");
    }

    private static Map<Long, Double> evalLosses(Path metrics) throws IOException {
        return values(metrics, "eval", "eval_loss");
    }

    /** step → value of one field of the records of one type; a later record for the same step wins (a resumed run). */
    private static Map<Long, Double> values(Path metrics, String type, String field) throws IOException {
        Map<Long, Double> out = new TreeMap<>();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
            if (node.get("type").asText().equals(type)) out.put(node.get("step").asLong(), node.get(field).asDouble());
        }
        return out;
    }
}
