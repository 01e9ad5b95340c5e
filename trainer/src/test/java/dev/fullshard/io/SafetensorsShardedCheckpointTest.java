package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.fullshard.io.SafetensorsRoundTripTest.listing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(NoLeakedTensors.class)
class SafetensorsShardedCheckpointTest {
    @TempDir
    Path dir;

    /** Random bf16 weights with the names and shapes of {@code config}'s model, in model order. */
    private static Map<String, Tensor> weights(ModelConfig config) {
        Map<String, Tensor> weights = new LinkedHashMap<>();
        long seed = 0;
        for (var e : Parameters.shapes(config).entrySet()) weights.put(e.getKey(), TestTensors.random(DType.BF16, seed++, e.getValue()));
        return weights;
    }

    private static List<WritableTensor> writable(Map<String, Tensor> tensors) {
        List<WritableTensor> out = new ArrayList<>();
        tensors.forEach((name, t) -> out.add(WritableTensor.of(name, t)));
        return out;
    }

    @Test
    void aLargeModelIsShardedAndReadsBackIdentically() throws IOException {
        ModelConfig config = TestTensors.tinyLlama();
        try (TensorScope ignored = TensorScope.open()) {
            Map<String, Tensor> weights = weights(config);
            long total = weights.values().stream().mapToLong(t -> t.numel() * 2).sum();
            long maxShard = 2048; // the 1024-byte embedding and lm_head force several shards
            Path checkpoint = dir.resolve("step-100");
            CheckpointWriter.write(checkpoint, config, writable(weights), maxShard);

            List<String> files = listing(checkpoint);
            assertThat(files).contains("config.json", "model.safetensors.index.json").doesNotContain("model.safetensors");
            List<String> shards = files.stream().filter(f -> f.endsWith(".safetensors")).toList();
            int n = shards.size();
            assertThat(n).isGreaterThan(2);
            for (int i = 1; i <= n; i++) assertThat(shards).contains("model-%05d-of-%05d.safetensors".formatted(i, n));
            assertThat(listing(dir)).as("no temporary directory left").containsExactly("step-100");

            // The index, read with Jackson directly.
            JsonNode index = new ObjectMapper().readTree(checkpoint.resolve("model.safetensors.index.json").toFile());
            assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
            Map<String, String> weightMap = new TreeMap<>();
            index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asText()));
            assertThat(weightMap.keySet()).containsExactlyInAnyOrderElementsOf(weights.keySet());
            assertThat(weightMap.values()).containsAll(shards);
            for (String shard : shards) {
                long shardBytes = weightMap.entrySet().stream().filter(e -> e.getValue().equals(shard))
                        .mapToLong(e -> weights.get(e.getKey()).numel() * 2).sum();
                long largest = weightMap.entrySet().stream().filter(e -> e.getValue().equals(shard))
                        .mapToLong(e -> weights.get(e.getKey()).numel() * 2).max().orElseThrow();
                assertThat(shardBytes).as(shard).satisfiesAnyOf(s -> assertThat(s).isLessThanOrEqualTo(maxShard),
                        s -> assertThat(s).isEqualTo(largest));
            }

            try (CheckpointReader read = CheckpointReader.open(checkpoint)) {
                assertThat(read.files()).hasSize(n);
                assertThat(read.names()).containsExactlyInAnyOrderElementsOf(weights.keySet());
                assertThat(read.metadata()).containsEntry("format", "pt");
                for (Map.Entry<String, Tensor> e : weights.entrySet()) {
                    Tensor back = read.tensor(e.getKey());
                    assertThat(TestTensors.bytes(back)).as(e.getKey()).isEqualTo(TestTensors.bytes(e.getValue()));
                    back.close();
                }
                WeightNames.check(config, read.shapes(), checkpoint);
            }
            assertThat(HfConfig.read(checkpoint)).isEqualTo(config);
        }
    }

    @Test
    void aSmallModelIsOneFile() throws IOException {
        ModelConfig config = TestTensors.tinyLlama();
        try (TensorScope ignored = TensorScope.open()) {
            Map<String, Tensor> weights = weights(config);
            Path checkpoint = dir.resolve("final");
            CheckpointWriter.write(checkpoint, config, writable(weights), CheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
            assertThat(listing(checkpoint)).containsExactly("config.json", "model.safetensors");
            try (CheckpointReader read = CheckpointReader.open(checkpoint)) {
                assertThat(read.names()).hasSize(weights.size());
                WeightNames.check(config, read.shapes(), checkpoint);
                Tensor embed = read.copy("model.embed_tokens.weight", DType.BF16);
                assertThat(embed.toHalfBits()).isEqualTo(weights.get("model.embed_tokens.weight").toHalfBits());
            }
            JsonNode json = new ObjectMapper().readTree(checkpoint.resolve("config.json").toFile());
            assertThat(json.get("torch_dtype").asText()).isEqualTo("bfloat16");
        }
    }

    @Test
    void aFailureInTheLastShardLeavesNoCheckpoint() throws IOException {
        ModelConfig config = TestTensors.tinyLlama();
        try (TensorScope ignored = TensorScope.open()) {
            List<WritableTensor> tensors = new ArrayList<>(writable(weights(config)));
            WritableTensor last = tensors.removeLast();
            tensors.add(new WritableTensor(last.name(), last.dtype(), last.shape(), () -> {
                throw new IllegalStateException("out of memory while gathering " + last.name());
            }));
            Path checkpoint = dir.resolve("step-200");
            assertThatThrownBy(() -> CheckpointWriter.write(checkpoint, config, tensors, 2048))
                    .hasMessage("out of memory while gathering lm_head.weight");
            assertThat(listing(dir)).as("neither the checkpoint nor its temporary directory").isEmpty();
        }
    }

    @Test
    void anExistingCheckpointIsNeverOverwritten() throws IOException {
        Path checkpoint = Files.createDirectory(dir.resolve("step-300"));
        Files.writeString(checkpoint.resolve("config.json"), "{}");
        assertThatThrownBy(() -> CheckpointWriter.write(checkpoint, TestTensors.tinyLlama(), List.of(), 2048))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("step-300");
        assertThat(listing(checkpoint)).containsExactly("config.json");
        assertThat(listing(dir)).containsExactly("step-300");
    }

    @Test
    void shardsFollowHuggingFacesSplit() {
        List<WritableTensor> tensors = List.of(sized("a", 40), sized("b", 40), sized("c", 30), sized("big", 500), sized("d", 10));
        List<List<String>> names = CheckpointWriter.shards(tensors, 100).stream()
                .map(s -> s.stream().map(WritableTensor::name).toList()).toList();
        assertThat(names).containsExactly(List.of("a", "b"), List.of("c"), List.of("big"), List.of("d"));
    }

    private static WritableTensor sized(String name, long bytes) {
        return new WritableTensor(name, DType.U8, new long[] {bytes}, () -> {
            throw new AssertionError("not written");
        });
    }
}
