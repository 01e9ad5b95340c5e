package dev.fullshard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelFlops;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.tensor.NoLeakedTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code fullshard bench} as a user runs it, at world 1; no figure is checked for speed, only for what it must add up to. */
@ExtendWith(NoLeakedTensors.class)
class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void reportsThroughputTheStepSplitAndMemoryThatAddUp(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("bench.json");
        Run r = run("bench", "--preset", "tiny", "--batch", "2", "--seq-len", "32", "--accumulation", "2", "--steps", "2", "--warmup", "1",
                "--mixed-precision", "fp32", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("tokens/s", "model TFLOP/s", "MFU", "exposed communication", "optimizer", "gathered weights peak",
                "activations peak", "measured float32 matrix product on this CPU");
        JsonNode doc = JSON.readTree(json.toFile());
        JsonNode res = doc.get("result");
        assertThat(res.get("tokens_per_step").asLong()).isEqualTo(2 * 32 * 2);
        assertThat(res.get("flops_per_token").asDouble()).isEqualTo(ModelFlops.perToken(ModelPresets.TINY.config(Architecture.LLAMA), 32));
        double step = res.get("step_s").asDouble();
        assertThat(res.get("tokens_per_second").asDouble() * step).isCloseTo(128, within(1e-6));
        assertThat(res.get("compute_s").asDouble() + res.get("communication_s").asDouble() + res.get("optimizer_s").asDouble())
                .isCloseTo(step, within(1e-9));
        assertThat(res.get("step_times_s")).hasSize(2);
        double mean = (res.get("step_times_s").get(0).asDouble() + res.get("step_times_s").get(1).asDouble()) / 2;
        assertThat(mean).isCloseTo(step, within(1e-9));
        assertThat(res.get("mfu").asDouble()).isCloseTo(res.get("tflops_per_rank").asDouble() / res.get("peak_tflops_per_rank").asDouble(),
                within(1e-12));
        // fp32 master weights, their gradients and AdamW's two moments: 4, 4 and 8 bytes per parameter (4,188,480: llama_flops.py),
        // and AdamW's step number, one float32.
        JsonNode memory = doc.get("memory_per_rank_bytes");
        assertThat(memory.get("parameters").asLong()).isEqualTo(4L * 4_188_480);
        assertThat(memory.get("gradients").asLong()).isEqualTo(4L * 4_188_480);
        assertThat(memory.get("optimizer").asLong()).isEqualTo(8L * 4_188_480 + 4);
        assertThat(memory.get("activations_peak").asLong()).isPositive();
        JsonNode env = doc.get("environment");
        assertThat(env.get("world").asInt()).isEqualTo(1);
        assertThat(env.get("hosts")).hasSize(1);
        assertThat(env.get("libtorch").asText()).isNotBlank();
        assertThat(doc.get("setup").get("sharding").asText()).isEqualTo("full_shard");
    }

    @Test
    void badFlagsAreNamed(@TempDir Path tmp) {
        String json = tmp.resolve("b.json").toString();
        assertThat(run("bench", "--preset", "tiny", "--model", tmp.toString(), "--json", json).err()).contains("--model and --preset: give one");
        assertThat(run("bench", "--steps", "0", "--json", json).err()).contains("--steps must be at least 1");
        assertThat(run("bench", "--sharding", "zero3", "--json", json).err()).contains("--sharding zero3: expected full_shard");
        assertThat(run("bench", "--mixed-precision", "int8", "--json", json).err()).contains("--mixed-precision int8: expected bf16, fp16 or fp32");
        assertThat(run("bench", "--device", "tpu", "--json", json).err()).contains("--device tpu: expected auto, cpu or cuda");
        assertThat(run("bench", "--preset", "70b", "--json", json).err()).contains("unknown preset '70b'");
        Run sweep = run("bench", "--sweep-world", "0,2", "--json", json);
        assertThat(sweep.code()).isNotZero();
        assertThat(sweep.err()).contains("--sweep-world needs world sizes of 1 or more");
        assertThat(Files.exists(tmp.resolve("b.json"))).isFalse();
    }

    @Test
    void aSweepRunsEachWorldWithTheSameArgumentsButItsOwnJson() {
        assertThat(ScalingReport.benchArguments(List.of("bench", "--preset", "tiny", "--sweep-world", "1,2", "--json", "x.json", "--batch=2",
                "--sweep-world=4", "--json=y.json"))).containsExactly("--preset", "tiny", "--batch=2");
    }

    @Test
    void scalingReportsEfficiencyAgainstTheSmallestWorld(@TempDir Path tmp) throws Exception {
        Path one = result(tmp, 1, 1000, 1000, 0.5, 0.0), four = result(tmp, 4, 3200, 800, 0.625, 0.125);
        Path png = tmp.resolve("scaling.png");
        Run r = run("bench", "scaling", four.toString(), one.toString(), "--plot", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        // world 4: 800 of 1000 tokens/s per rank is 80 % efficiency; 0.125 s of 0.625 s is a 20 % communication share.
        assertThat(r.out()).containsPattern("\\s1\\s+1,000\\s+1,000\\s+100\\.0%").containsPattern("\\s4\\s+3,200\\s+800\\s+80\\.0%\\s+0\\.6250\\s+0\\.1250s\\s+20\\.0%");
        assertThat(Files.size(png)).isPositive();
    }

    private static Path result(Path dir, int world, double total, double perRank, double step, double comm) throws Exception {
        var doc = JSON.createObjectNode();
        doc.putObject("setup").put("model", "tiny").put("micro_batch", 2).put("seq_len", 32).put("mixed_precision", "fp32").put("sharding", "full_shard");
        doc.putObject("environment").put("world", world);
        doc.putObject("result").put("tokens_per_second", total).put("tokens_per_second_per_rank", perRank).put("step_s", step)
                .put("communication_s", comm).put("mfu", 0.5);
        Path f = dir.resolve("world" + world + ".json");
        JSON.writeValue(f.toFile(), doc);
        return f;
    }
}
