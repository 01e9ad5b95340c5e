package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.cli.FullshardCommand;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** What the launcher's training tests train (the tiny preset made by {@code fullshard init-model}, on the example data) and read back. */
final class TinyFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyFixtures() {
    }

    /** {@code fullshard init-model --preset tiny --seed 0 --out dir}, as a user makes it. */
    static Path tinyModel(Path dir) {
        StringWriter err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(new StringWriter(), true)).setErr(new PrintWriter(err, true))
                .execute("init-model", "--preset", "tiny", "--seed", "0", "--out", dir.toString());
        assertThat(code).as(err.toString()).isZero();
        return dir;
    }

    /** The tests' regular-task data (trainer/src/test/resources/tiny-tasks; see its README) of the checkout the tests run in. */
    private static final String TASK_DATA = "trainer/src/test/resources/tiny-tasks";

    static Path taskData() {
        return inCheckout(TASK_DATA);
    }

    /** {@code path} (relative to the repository root) in the checkout the tests run in. */
    static Path inCheckout(String path) {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve(path))) dir = dir.getParent();
        assertThat(dir).as(path + " above the working directory").isNotNull();
        return dir.resolve(path);
    }

    /**
     * {@code dir/name.yaml}: the tiny model trained {@code steps} steps in fp32 on the task data (micro-batch 2 ×
     * accumulation 4, clipping at 1.0, a checkpoint every 5 steps) under {@code sharding}, into
     * {@code dir/name-out}; each of {@code extra} is appended as a line.
     */
    static Path trainConfig(Path dir, Path model, String name, String sharding, int steps, String... extra) throws IOException {
        Path data = taskData();
        String yaml = """
                model:
                  path: %s
                mixed_precision: fp32
                data:
                  train_files: [%s]
                  eval_files: [%s]
                  max_seq_len: 64
                training:
                  max_steps: %d
                  micro_batch_size: 2
                  gradient_accumulation_steps: 4
                  max_grad_norm: 1.0
                optimizer:
                  lr: 3.0e-3
                  weight_decay: 0.01
                scheduler:
                  warmup_steps: 2
                distributed:
                  sharding: %s
                logging:
                  save_steps: 5
                  output_dir: %s
                """.formatted(model, data.resolve("train.jsonl"), data.resolve("eval.jsonl"), steps, sharding, dir.resolve(name + "-out"));
        Path file = Files.writeString(dir.resolve(name + ".yaml"), yaml);
        for (String e : extra) Files.writeString(file, e + "\n", java.nio.file.StandardOpenOption.APPEND);
        return file;
    }

    /** The command line that runs the launcher with {@code args} on this JVM's java and class path. */
    static List<String> launcherCommand(String... args) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), LauncherCommand.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * A process for a launcher command line. This JVM has loaded libtorch (tinyModel), which set
     * OMP_NUM_THREADS to all cores for itself; a launcher inheriting that would pass it on to every rank
     * instead of splitting the cores among them, and oversubscribed ranks run several times slower.
     */
    static ProcessBuilder launcherProcess(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        return pb;
    }

    /**
     * Runs the launcher on {@code yaml} (a {@link #trainConfig} in {@code dir}) as {@code nproc} local ranks of one
     * intra-op thread each, to completion; returns the run's output folder.
     */
    static Path launch(Path dir, Path yaml, int nproc, String... overrides) throws Exception {
        List<String> command = launcherCommand("--standalone", "--nproc", Integer.toString(nproc),
                "--log-dir", dir.resolve("logs").toString(), yaml.toString());
        command.addAll(List.of(overrides));
        Path log = dir.resolve(yaml.getFileName() + "-" + nproc + ".log");
        ProcessBuilder pb = launcherProcess(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FULLSHARD_NUM_THREADS", "1");
        Process p = pb.start();
        assertThat(p.waitFor(8, TimeUnit.MINUTES)).as("launcher finished").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        String name = yaml.getFileName().toString().replace(".yaml", "");
        return dir.resolve(name + "-out");
    }

    /** The lines of a run's {@code metrics.jsonl} whose {@code type} is {@code type}, in order. */
    static List<JsonNode> metrics(Path outputDir, String type) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals(type)) found.add(n);
        }
        return found;
    }
}
