package dev.fullshard.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.cli.FullshardCommand;
import dev.fullshard.io.HfConfig;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The plan against what training measures: one-rank runs of the tiny models in process, each compared with the
 * memory event of its metrics.jsonl. The comparison is exact: every figure is a sum of tensor sizes, fixed by
 * the model's shapes, the layout and the micro-batch's shape (every row is max_seq_len tokens), so a byte of
 * difference is a wrong formula. Sharding modes differ only at more than one rank: launcher's
 * LauncherMemoryPlanTest runs those.
 */
class MemoryPlanTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] FIELDS = {"parameters", "gradients", "optimizer", "gathered_peak", "unsharded_gradients_peak", "activations_peak"};

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;

    private static Path llama, qwen3, tied;

    private static synchronized Path model(String arch) throws IOException {
        switch (arch) {
            case "llama" -> {
                if (llama == null) llama = TinyRun.tinyModel(shared.resolve("llama"));
                return llama;
            }
            case "qwen3" -> {
                if (qwen3 == null) {
                    qwen3 = shared.resolve("qwen3");
                    int code = FullshardCommand.commandLine().setOut(new PrintWriter(new StringWriter(), true))
                            .execute("init-model", "--arch", "qwen3", "--preset", "tiny", "--out", qwen3.toString());
                    assertThat(code).isZero();
                }
                return qwen3;
            }
            case "tied" -> {
                if (tied == null) {
                    // The tiny model with its LM head tied to the embedding (the head's own weight is then unused).
                    tied = Files.createDirectories(shared.resolve("tied"));
                    try (var files = Files.list(model("llama"))) {
                        for (Path f : files.toList()) Files.copy(f, tied.resolve(f.getFileName()));
                    }
                    Path config = tied.resolve("config.json");
                    var json = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(config.toFile());
                    json.put("tie_word_embeddings", true);
                    JSON.writeValue(config.toFile(), json);
                }
                return tied;
            }
            default -> throw new IllegalArgumentException(arch);
        }
    }

    @ParameterizedTest(name = "{0} {1}, activation checkpointing {2}, reduce {3}, accumulation {4}")
    @CsvSource({
            "llama, fp32, false, fp32, 1",
            "llama, fp32, true,  fp32, 1",
            "llama, bf16, false, fp32, 1",
            "llama, bf16, true,  fp32, 1",
            "llama, fp16, false, fp32, 1",
            // A replica reducing in bf16 keeps every unit's buffer over the step's two micro-batches.
            "llama, fp32, false, bf16, 2",
            "qwen3, bf16, false, fp32, 1",
            "tied,  fp32, false, bf16, 1"})
    void aOneRankRunMeasuresWhatThePlanSays(String arch, String precision, boolean checkpointing, String reduce, int accumulation) throws Exception {
        Path data = TinyRun.taskData();
        String yaml = """
                model:
                  path: %s
                mixed_precision: %s
                device: cpu
                data:
                  train_files: [%s]
                  max_seq_len: 48
                training:
                  max_steps: 1
                  micro_batch_size: 3
                  gradient_accumulation_steps: %d
                  activation_checkpointing: %s
                distributed:
                  reduce_dtype: %s
                logging:
                  output_dir: %s
                """.formatted(model(arch), precision, data.resolve("train.jsonl"), accumulation, checkpointing, reduce, tmp.resolve("out"));
        TrainConfig config = TrainConfig.load(Files.writeString(tmp.resolve("train.yaml"), yaml), List.of());
        Trainer.run(config, StopRequest.none(), new PrintWriter(new StringWriter(), true));

        MemoryPlan plan = MemoryPlan.of(HfConfig.read(config.model().path()), MemoryPlan.Job.of(config, 1, Device.Type.CPU));
        long[] planned = {plan.parameters(), plan.gradients(), plan.optimizer(), plan.gatheredPeak(), plan.unshardedGradientsPeak(), plan.activations()};
        JsonNode measured = firstStepMemory(tmp.resolve("out/metrics.jsonl")).get("ranks").get(0);
        for (int f = 0; f < FIELDS.length; f++) assertThat(planned[f]).as(FIELDS[f]).isEqualTo(measured.get(FIELDS[f]).asLong());
    }

    /** Parameter counts Meta publishes (Llama-2-7B: 6,738,415,616; Llama-3-8B: 8,030,261,248) give one rank's fp32 state. */
    @Test
    void oneRankHoldsSixteenBytesPerParameterOfTheWholeModel() {
        ModelConfig llama2 = new ModelConfig(Architecture.LLAMA, 32_000, 4096, 11_008, 32, 32, 32, 128, 1e-5, 10_000, null, 4096, false, false, false,
                null, 1, 2);
        ModelConfig llama3 = new ModelConfig(Architecture.LLAMA, 128_256, 4096, 14_336, 32, 32, 8, 128, 1e-5, 500_000, null, 8192, false, false,
                false, null, 128_000, 128_001);
        MemoryPlan.Job job = new MemoryPlan.Job(1, TrainConfig.Sharding.NO_SHARD, 0, true, DType.BF16, DType.F32,
                TrainConfig.GradientSync.EVERY_MICRO_BATCH, 1, true, 1, 2048, Device.Type.CUDA);
        for (var c : List.of(new Object[]{llama2, 6_738_415_616L}, new Object[]{llama3, 8_030_261_248L})) {
            MemoryPlan p = MemoryPlan.of((ModelConfig) c[0], job);
            long params = (long) c[1];
            assertThat(p.parameters()).isEqualTo(4 * params);
            assertThat(p.gradients()).isEqualTo(4 * params);
            assertThat(p.optimizer()).isEqualTo(8 * params + 4);            // two moments and AdamW's step counter
            assertThat(p.gatheredPeak()).isZero();                          // a replica computes from its own fp32 weights
            // Checkpointed: the bf16 input of each of the 32 blocks and of the final norm, 2048 × 4096 each.
            assertThat(p.activations()).isEqualTo(33L * 2048 * 4096 * 2);
        }
    }

    private static JsonNode firstStepMemory(Path metrics) throws IOException {
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals("memory") && n.path("at").asText().equals("first_step")) return n;
        }
        throw new AssertionError("no memory event at first_step in " + metrics);
    }
}
