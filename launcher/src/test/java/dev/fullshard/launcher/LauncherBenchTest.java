package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code launcher --standalone --nproc 2 bench ...}: the benchmark on two real MPI ranks, reported once, by rank 0. */
class LauncherBenchTest {
    @TempDir
    Path tmp;

    @Test
    void benchRunsOnEveryRankAndReportsTheWholeJob() throws Exception {
        Path json = tmp.resolve("bench.json");
        List<String> command = TinyFixtures.launcherCommand("--standalone", "--nproc", "2", "--log-dir", tmp.resolve("logs").toString(),
                "bench", "--preset", "tiny", "--batch", "1", "--seq-len", "32", "--steps", "2", "--warmup", "1", "--mixed-precision", "fp32",
                "--json", json.toString());
        Path log = tmp.resolve("launcher.log");
        ProcessBuilder pb = TinyFixtures.launcherProcess(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FULLSHARD_NUM_THREADS", "1");
        Process p = pb.start();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("launcher finished").isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("bench: 2 ranks on 1 host");
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertThat(doc.get("environment").get("world").asInt()).isEqualTo(2);
        assertThat(doc.get("environment").get("hosts")).hasSize(2);
        // Each rank computes its own micro-batch of 1 × 32 tokens.
        assertThat(doc.get("result").get("tokens_per_step").asLong()).isEqualTo(64);
        JsonNode memory = doc.get("memory_per_rank_bytes");
        // full_shard: a rank keeps half the fp32 weights (4,188,480 parameters; units padded to the world size) and gathers whole units.
        assertThat(memory.get("parameters").asLong()).isBetween(2L * 4_188_480, 2L * 4_188_480 + 1024);
        assertThat(memory.get("gathered_peak").asLong()).isPositive();
    }
}
