package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code launcher ... bench comm} on real MPICH ranks: every collective's result checked at world 2; no speed asserted. */
class LauncherBenchCommTest {
    @TempDir
    Path tmp;

    @Test
    void twoRanksMeasureEveryOpWithCheckedResults() throws Exception {
        List<String> command = TinyFixtures.launcherCommand("--standalone", "--nproc", "2", "--log-dir", tmp.resolve("logs").toString(),
                "bench", "comm", "--max-bytes", "64K", "--iters", "3", "--warmup", "1");
        Path log = tmp.resolve("launcher.log");
        Process p = TinyFixtures.launcherProcess(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("launcher finished").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("[rank0]:# fullshard bench comm: 2 ranks, 2 per node, on cpu, collectives over MPI")
                .contains("[rank0]:# all_reduce: busbw = algbw × 1.0000")
                .contains("[rank0]:# all_gather: busbw = algbw × 0.5000")
                .contains("[rank0]:# reduce_scatter: busbw = algbw × 0.5000")
                .contains("[rank0]:# every result checked: right");
        // 1K to 64K: 7 sizes for each of the 3 ops, each row checked on both ranks
        assertThat(output.lines().filter(l -> l.startsWith("[rank0]:") && l.endsWith("  ok"))).hasSize(21);
    }
}
