package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The trainer under the launcher: two data-parallel ranks match one process, and a rank killed with -9 is survived. */
class LauncherTrainingTest {
    @TempDir
    Path tmp;

    private Path tinyModel() {
        return TinyFixtures.tinyModel(tmp.resolve("model"));
    }

    private Path config(Path model, String name, int steps) throws IOException {
        Path data = TinyFixtures.taskData();
        return Files.writeString(tmp.resolve(name + ".yaml"), """
                model:
                  path: %s
                data:
                  train_files: [%s]
                  max_seq_len: 128
                training:
                  max_steps: %d
                  micro_batch_size: 2
                  gradient_accumulation_steps: 4
                optimizer:
                  lr: 3.0e-3
                scheduler:
                  warmup_steps: 2
                logging:
                  save_steps: 4
                  output_dir: %s
                """.formatted(model, data.resolve("train.jsonl"), steps, tmp.resolve(name + "-out")));
    }

    private Process launch(Path yaml, int nproc, String... extra) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), LauncherCommand.class.getName(),
                "--standalone", "--nproc", Integer.toString(nproc), "--grace-period", "5", "--log-dir", tmp.resolve("logs").toString()));
        command.addAll(List.of(extra));
        command.add(yaml.toString());
        Path log = tmp.resolve(yaml.getFileName() + ".launcher.log");
        return TinyFixtures.launcherProcess(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private String log(Path yaml) throws IOException {
        return Files.readString(tmp.resolve(yaml.getFileName() + ".launcher.log"), StandardCharsets.UTF_8);
    }

    @Test
    void twoRanksTrainLikeOneAndSurviveAKilledRank() throws Exception {
        Path model = tinyModel();

        Path one = config(model, "one", 12);
        Process p1 = launch(one, 1);
        assertThat(p1.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p1.exitValue()).as(log(one)).isZero();

        // Two ranks, one of them killed with SIGKILL after the first checkpoint: the launcher stops the
        // other, restarts both, and they resume from the newest checkpoint.
        Path two = config(model, "two", 12);
        Process p2 = launch(two, 2, "--max-restarts", "1");
        Path out = tmp.resolve("two-out");
        while (p2.isAlive() && !Files.isDirectory(out.resolve("checkpoint-4"))) Thread.sleep(20);
        List<ProcessHandle> ranks = p2.toHandle().children().toList();
        assertThat(ranks).as("rank processes").hasSize(2);
        ranks.getLast().destroyForcibly();
        assertThat(p2.waitFor(5, TimeUnit.MINUTES)).isTrue();
        String launcherLog = log(two);
        assertThat(p2.exitValue()).as(launcherLog).isZero();
        assertThat(launcherLog).contains("attempt 1").containsPattern("resuming from .*checkpoint-(4|8)");

        Map<Long, Double> reference = losses(tmp.resolve("one-out"));
        Map<Long, Double> dataParallel = losses(out);
        assertThat(reference).hasSize(12);
        assertThat(dataParallel.keySet()).isEqualTo(reference.keySet());
        // Two ranks sum the same gradients in another order: equal within float rounding.
        reference.forEach((step, loss) -> assertThat(dataParallel.get(step)).as("loss at step %d", step)
                .isCloseTo(loss, org.assertj.core.data.Offset.offset(1e-4 * Math.abs(loss))));
    }

    /** Two launchers on loopback acting as two nodes, one trainer rank each, match one process. */
    @Test
    void twoNodesTrainLikeOneProcess() throws Exception {
        Path model = tinyModel();
        Path one = config(model, "single", 6);
        Process p1 = launch(one, 1);
        assertThat(p1.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p1.exitValue()).as(log(one)).isZero();

        Path two = config(model, "nodes", 6);
        String port = Integer.toString(LauncherProcessTest.freePort());
        List<Process> nodes = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), LauncherCommand.class.getName(),
                    "--nnodes", "2", "--node-rank", Integer.toString(node), "--nproc", "1", "--master-addr", "127.0.0.1",
                    "--master-port", port, "--rdzv-id", "two-nodes-test", "--join-timeout", "120",
                    "--log-dir", tmp.resolve("logs-node" + node).toString(), two.toString()));
            Path log = tmp.resolve("node" + node + ".log");
            nodes.add(TinyFixtures.launcherProcess(command).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        }
        for (int node = 0; node < 2; node++) {
            assertThat(nodes.get(node).waitFor(5, TimeUnit.MINUTES)).isTrue();
            assertThat(nodes.get(node).exitValue()).as(Files.readString(tmp.resolve("node" + node + ".log"))).isZero();
        }
        Map<Long, Double> reference = losses(tmp.resolve("single-out"));
        Map<Long, Double> twoNodes = losses(tmp.resolve("nodes-out"));
        assertThat(twoNodes.keySet()).isEqualTo(reference.keySet());
        reference.forEach((step, loss) -> assertThat(twoNodes.get(step)).as("loss at step %d", step)
                .isCloseTo(loss, org.assertj.core.data.Offset.offset(1e-4 * Math.abs(loss))));
    }

    /**
     * A rank that stops advancing (SIGSTOP: alive but frozen, as in a deadlock) is found by the hang
     * watchdog through the trainer's progress reports; the gang is restarted and the run completes.
     */
    @Test
    void aFrozenRankIsFoundByTheHangWatchdogAndTheRunCompletes() throws Exception {
        Path model = tinyModel();
        Path yaml = config(model, "frozen", 12);
        Process p = launch(yaml, 2, "--max-restarts", "1", "--hang-timeout", "8");
        Path out = tmp.resolve("frozen-out");
        while (p.isAlive() && !Files.isDirectory(out.resolve("checkpoint-4"))) Thread.sleep(20);
        List<ProcessHandle> ranks = p.toHandle().children().toList();
        assertThat(ranks).hasSize(2);
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(ranks.getLast().pid())).start();
        assertThat(stop.waitFor()).isZero();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        String launcherLog = log(yaml);
        assertThat(p.exitValue()).as(launcherLog).isZero();
        assertThat(launcherLog).contains("made no progress").contains("attempt 1").containsPattern("resuming from .*checkpoint-(4|8)");
        assertThat(losses(out)).hasSize(12);
    }

    private static Map<Long, Double> losses(Path outputDir) throws IOException {
        Map<Long, Double> out = new TreeMap<>();
        for (var node : TinyFixtures.metrics(outputDir, "train")) out.put(node.get("step").asLong(), node.get("loss").asDouble());
        return out;
    }
}
