package dev.fullshard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.dist.CollectiveBandwidth.Op;
import dev.fullshard.dist.CorruptLastElement;
import dev.fullshard.dist.ThreadRanks;
import dev.fullshard.tensor.NoLeakedTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code fullshard bench comm}'s flags, and a run at world size 1; the multi-rank runs are in the launcher's tests. */
@ExtendWith(NoLeakedTensors.class)
class BenchCommCommandTest {
    @TempDir
    Path tmp;

    private record Result(int exitCode, String out, String err) {
    }

    private static Result fullshard(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = FullshardCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void sizesArePowersOfTwoInBytesOrKMG() {
        assertThat(BenchCommCommand.parseBytes("--max-bytes", "4096")).isEqualTo(4096);
        assertThat(BenchCommCommand.parseBytes("--max-bytes", "1K")).isEqualTo(1024);
        assertThat(BenchCommCommand.parseBytes("--max-bytes", "64m")).isEqualTo(64L << 20);
        assertThat(BenchCommCommand.parseBytes("--max-bytes", "1G")).isEqualTo(1L << 30);
        assertThat(BenchCommCommand.parseBytes("--max-bytes", "16G")).isEqualTo(16L << 30);
        for (String bad : List.of("3K", "1.5M", "2", "1T", "K", "-1K", "99999999999999G")) {
            assertThatThrownBy(() -> BenchCommCommand.parseBytes("--min-bytes", bad))
                    .hasMessageStartingWith("--min-bytes " + bad + ": expected a power of two of at least 4 bytes");
        }
    }

    @Test
    void badFlagsStopWithOneLineNamingTheFlag() {
        List<List<String>> cases = List.of(
                List.of("--max-bytes", "3K"), List.of("--min-bytes", "1M", "--max-bytes", "64K"), List.of("--ops", "all_reduce,broadcast"),
                List.of("--iters", "0"), List.of("--warmup", "-1"), List.of("--device", "tpu"));
        List<String> messages = List.of(
                "fullshard bench comm: --max-bytes 3K: expected a power of two of at least 4 bytes, in bytes or with K, M or G (1024-based), e.g. 4K, 64M, 1G",
                "fullshard bench comm: --min-bytes 1M is above --max-bytes 64K",
                "fullshard bench comm: --ops broadcast: expected all_reduce, all_gather or reduce_scatter",
                "fullshard bench comm: --iters must be at least 1, got 0",
                "fullshard bench comm: --warmup must be at least 0, got -1",
                "fullshard bench comm: --device tpu: expected auto, cpu or cuda");
        for (int i = 0; i < cases.size(); i++) {
            String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("bench", "comm"), cases.get(i).stream()).toArray(String[]::new);
            Result r = fullshard(args);
            assertThat(r.exitCode()).as("%s", cases.get(i)).isEqualTo(1);
            assertThat(r.err()).as("%s", cases.get(i)).isEqualTo(messages.get(i) + System.lineSeparator());
            assertThat(r.out()).isEmpty();
        }
        Result unknown = fullshard("bench", "comm", "--max-size", "1M");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).startsWith("Unknown options: '--max-size', '1M'");
    }

    @Test
    void oneRankRunsEveryOpChecksEveryResultAndWritesJson() throws Exception {
        Path json = tmp.resolve("comm.json");
        Result r = fullshard("bench", "comm", "--device", "cpu", "--max-bytes", "8K", "--iters", "2", "--warmup", "1", "--json", json.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("# fullshard bench comm: 1 rank, 1 per node, on cpu, collectives over none (one process)")
                .contains("# one rank: bus bandwidth is 0 by the formula")
                .contains("# all_reduce: busbw = algbw × 0.0000").contains("# every result checked: right");
        // 1K, 2K, 4K, 8K for each of the three ops
        assertThat(r.out().lines().filter(l -> l.endsWith("  ok"))).hasSize(12);
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertThat(root.get("world_size").asInt()).isEqualTo(1);
        assertThat(root.get("ok").asBoolean()).isTrue();
        assertThat(root.get("results")).hasSize(12);
        assertThat(root.get("results").get(0).get("op").asText()).isEqualTo("all_reduce");
        assertThat(root.get("results").get(0).get("bytes").asLong()).isEqualTo(1024);
        assertThat(root.get("results").get(0).get("busbw_gb_s").asDouble()).isZero();
    }

    @Test
    void aWrongResultOnOneRankFailsEveryRank() throws Exception {
        BenchCommCommand.Settings settings = new BenchCommCommand.Settings(1024, 2048, List.of(Op.ALL_REDUCE, Op.REDUCE_SCATTER), 1, 2);
        Map<Integer, Result> results = new ConcurrentHashMap<>();
        ThreadRanks.run(2, comm -> {
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = BenchCommCommand.run(new CorruptLastElement(comm, 1), settings, null, new PrintWriter(out), new PrintWriter(err));
            results.put(comm.rank(), new Result(code, out.toString(), err.toString()));
        });
        Result rank0 = results.get(0), rank1 = results.get(1);
        assertThat(rank0.exitCode()).isEqualTo(1);
        assertThat(rank1.exitCode()).isEqualTo(1);
        assertThat(rank0.out().lines().filter(l -> l.endsWith("  WRONG on ranks [1]"))).hasSize(4);
        assertThat(rank0.out()).contains("# 4 of 4 results WRONG (each rank printed its first wrong element)");
        assertThat(rank0.err()).isEqualTo("fullshard bench comm: 4 of 4 results wrong" + System.lineSeparator());
        assertThat(rank1.out()).isEmpty();
        assertThat(rank1.err().lines()).containsExactly(
                "fullshard bench comm: all_reduce of 1K on rank 1: 1 of 256 elements wrong; the first, element 255, is -7.0, expected 3.0",
                "fullshard bench comm: all_reduce of 2K on rank 1: 1 of 512 elements wrong; the first, element 511, is -7.0, expected 3.0",
                "fullshard bench comm: reduce_scatter of 1K on rank 1: 1 of 128 elements wrong; the first, element 127, is -7.0, expected 5.0",
                "fullshard bench comm: reduce_scatter of 2K on rank 1: 1 of 256 elements wrong; the first, element 255, is -7.0, expected 5.0");
    }
}
