package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.io.HfConfig;
import dev.fullshard.io.SafetensorsFile;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.Parameters;
import dev.fullshard.shard.CheckpointShards;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * FSDP through the launcher's real ranks: sharding is only a different way to compute the same step.
 * World 1, 2 and 4 train the tiny model for 10 steps (fp32, micro-batch 2 × accumulation 4, clipping
 * at 1.0) under full_shard, shard_grad_op and no_shard, and must give the same losses, gradient norms
 * and final fp32 master weights; prefetch on and off must give bit-identical runs; a sharded
 * checkpoint written by 4 ranks must resume on 4 bit for bit and on 2 as the unbroken run; and a rank's
 * weights + AdamW state under full_shard must be a quarter of the model's (plus padding).
 */
class LauncherShardingTest {
    private static final int STEPS = 10;

    @TempDir
    Path tmp;

    private Path config(Path model, String name, String sharding, String... extra) throws IOException {
        return TinyFixtures.trainConfig(tmp, model, name, sharding, STEPS, extra);
    }

    private Path launch(Path yaml, int nproc, String... overrides) throws Exception {
        return TinyFixtures.launch(tmp, yaml, nproc, overrides);
    }

    /** The full fp32 master weights of a checkpoint, whatever world size wrote it. */
    private static Map<String, float[]> weights(Path checkpoint, ModelConfig config) throws IOException {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (TensorScope ignored = TensorScope.open(); CheckpointShards files = CheckpointShards.open(checkpoint, config)) {
            for (var e : Parameters.shapes(config).entrySet()) {
                long numel = 1;
                for (long s : e.getValue()) numel *= s;
                Tensor full = Tensor.empty(DType.F32, Device.CPU, numel);
                files.source("").read(e.getKey(), 0, numel, full);
                out.put(e.getKey(), full.toFloatArray());
            }
        }
        return out;
    }

    private static void assertSameRun(Path reference, Path other, String what, ModelConfig config) throws IOException {
        List<JsonNode> a = TinyFixtures.metrics(reference, "train"), b = TinyFixtures.metrics(other, "train");
        assertThat(b).as(what + ": one metrics line per step").hasSize(a.size());
        for (int i = 0; i < a.size(); i++) {
            double la = a.get(i).get("loss").asDouble(), lb = b.get(i).get("loss").asDouble();
            double ga = a.get(i).get("grad_norm").asDouble(), gb = b.get(i).get("grad_norm").asDouble();
            assertThat(lb).as("%s: loss at step %d", what, i + 1).isCloseTo(la, within(1e-4 * Math.abs(la)));
            assertThat(gb).as("%s: grad norm at step %d", what, i + 1).isCloseTo(ga, within(1e-3 * Math.abs(ga)));
        }
        double ea = TinyFixtures.metrics(reference, "eval").getLast().get("eval_loss").asDouble(), eb = TinyFixtures.metrics(other, "eval").getLast().get("eval_loss").asDouble();
        assertThat(eb).as(what + ": final eval loss").isCloseTo(ea, within(1e-4 * Math.abs(ea)));
        Map<String, float[]> wa = weights(reference.resolve("checkpoint-" + STEPS), config), wb = weights(other.resolve("checkpoint-" + STEPS), config);
        double worst = 0, squares = 0;
        long count = 0;
        for (var e : wa.entrySet()) {
            float[] x = e.getValue(), y = wb.get(e.getKey());
            for (int i = 0; i < x.length; i++) {
                double d = Math.abs(x[i] - y[i]);
                worst = Math.max(worst, d);
                squares += d * d;
            }
            count += x.length;
        }
        double rms = Math.sqrt(squares / count);
        System.out.printf("%s: losses within %.1e, final weights differ by %.2e at most, %.2e rms%n", what, maxLossDifference(a, b), worst, rms);
        // Gradients summed in another order differ in the last bits; where a gradient element nearly cancels
        // over the micro-batches, AdamW's normalised update m/√v turns that into up to ~lr (3e-3) per step for
        // that element. A wrong shard, scale or mapping would move whole tensors by far more.
        assertThat(worst).as(what + ": largest final weight difference").isLessThan(3e-3);
        assertThat(rms).as(what + ": rms final weight difference").isLessThan(1e-5);
    }

    private static double maxLossDifference(List<JsonNode> a, List<JsonNode> b) {
        double worst = 0;
        for (int i = 0; i < a.size(); i++) worst = Math.max(worst, Math.abs(a.get(i).get("loss").asDouble() - b.get(i).get("loss").asDouble()));
        return worst;
    }

    @Test
    void everyShardingModeAtWorldOneTwoAndFourTrainsAlike() throws Exception {
        Path model = TinyFixtures.tinyModel(tmp.resolve("tiny-model"));
        ModelConfig config = HfConfig.read(model);
        Path reference = launch(config(model, "world1", "full_shard"), 1);
        assertThat(TinyFixtures.metrics(reference, "train").stream().anyMatch(n -> n.get("grad_norm").asDouble() > 1.0))
                .as("clipping at 1.0 is active in some step").isTrue();

        Path fullShard4 = null;
        for (String mode : List.of("full_shard", "shard_grad_op", "no_shard")) {
            for (int world : new int[]{2, 4}) {
                Path out = launch(config(model, mode + "-world" + world, mode), world);
                assertSameRun(reference, out, mode + " at world " + world, config);
                if (mode.equals("full_shard") && world == 4) fullShard4 = out;
            }
        }
        assertThat(CheckpointShards.shardsOf(fullShard4.resolve("checkpoint-" + STEPS))).isEqualTo(4);

        // Prefetch only changes when the all-gathers are issued, never what they deliver.
        Path noPrefetch = launch(config(model, "no-prefetch", "full_shard"), 2, "distributed.prefetch=false");
        Path prefetch = tmp.resolve("full_shard-world2-out");
        List<JsonNode> on = TinyFixtures.metrics(prefetch, "train"), off = TinyFixtures.metrics(noPrefetch, "train");
        for (int i = 0; i < STEPS; i++) {
            assertThat(off.get(i).get("loss").asDouble()).as("loss at step %d, prefetch off", i + 1).isEqualTo(on.get(i).get("loss").asDouble());
            assertThat(off.get(i).get("grad_norm").asDouble()).isEqualTo(on.get(i).get("grad_norm").asDouble());
        }

        // Resharding: world 4's checkpoint-5 resumed by 2 ranks continues as the unbroken world-4 run.
        Path resumedOut = tmp.resolve("resharded-out");
        Files.createDirectories(resumedOut);
        copyTree(fullShard4.resolve("checkpoint-5"), resumedOut.resolve("checkpoint-5"));
        launch(config(model, "resharded", "full_shard"), 2);
        List<JsonNode> unbroken = TinyFixtures.metrics(fullShard4, "train"), resumed = TinyFixtures.metrics(resumedOut, "train");
        assertThat(resumed).hasSize(STEPS - 5);
        for (int i = 0; i < STEPS - 5; i++) {
            assertThat(resumed.get(i).get("step").asLong()).isEqualTo(6 + i);
            double l4 = unbroken.get(5 + i).get("loss").asDouble(), l2 = resumed.get(i).get("loss").asDouble();
            assertThat(l2).as("loss at step %d after resharding 4 -> 2", 6 + i).isCloseTo(l4, within(1e-4 * Math.abs(l4)));
        }

        // The same world size resumes exactly: world 4's checkpoint-5 resumed by 4 ranks gives the same bits.
        Path sameOut = tmp.resolve("same-world-out");
        Files.createDirectories(sameOut);
        copyTree(fullShard4.resolve("checkpoint-5"), sameOut.resolve("checkpoint-5"));
        launch(config(model, "same-world", "full_shard"), 4);
        List<JsonNode> again = TinyFixtures.metrics(sameOut, "train");
        for (int i = 0; i < STEPS - 5; i++) {
            assertThat(again.get(i).get("loss").asDouble()).as("loss at step %d resumed at world 4", 6 + i)
                    .isEqualTo(unbroken.get(5 + i).get("loss").asDouble());
        }

        // Memory: a full_shard rank holds a quarter of the weights and of the AdamW moments, plus padding.
        long total = modelElements(model);
        int units = config.numLayers() + 2;
        JsonNode memory = TinyFixtures.metrics(fullShard4, "memory").getFirst().get("ranks");
        assertThat(memory).hasSize(4);
        for (JsonNode rank : memory) {
            long held = rank.get("parameters").asLong() + rank.get("optimizer").asLong();
            long quarter = 3 * 4 * total / 4;                            // fp32 weights + two fp32 moments, ÷ 4
            assertThat(held).as("parameter + optimizer bytes of a rank").isBetween(quarter - 3 * 4 * units * 3L, quarter + 3 * 4 * units * 3L + 8);
            System.out.printf("full_shard world 4: a rank holds %d bytes of weights + AdamW state; whole model %d; ratio %.4f%n",
                    held, 3 * 4 * total, held / (3.0 * 4 * total));
        }
    }

    /**
     * hybrid_shard on one host, in groups of 2 of the 4 ranks (as 2 nodes of 2 would be): the same run as
     * full_shard, each rank holding half the model, and checkpoints that resume under the other mode.
     */
    @Test
    void hybridShardingTrainsLikeFullShardAndItsCheckpointsResumeUnderEither() throws Exception {
        Path model = TinyFixtures.tinyModel(tmp.resolve("tiny-model"));
        ModelConfig config = HfConfig.read(model);
        Path full = launch(config(model, "full", "full_shard"), 4);
        Path hybrid = launch(config(model, "hybrid", "hybrid_shard"), 4, "distributed.shard_group_size=2");
        assertSameRun(full, hybrid, "hybrid_shard (2 groups of 2) vs full_shard at world 4", config);
        assertThat(CheckpointShards.shardsOf(hybrid.resolve("checkpoint-" + STEPS))).as("one copy of each of 2 shards").isEqualTo(2);
        try (var files = Files.list(hybrid.resolve("checkpoint-" + STEPS))) {
            assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("model.rank-")))
                    .containsExactlyInAnyOrder("model.rank-0-of-2.safetensors", "model.rank-1-of-2.safetensors");
        }
        long whole = 3 * 4 * modelElements(model);                      // fp32 weights + two fp32 moments
        JsonNode memory = TinyFixtures.metrics(hybrid, "memory").getFirst().get("ranks");
        assertThat(memory).hasSize(4);
        for (JsonNode rank : memory) {
            long held = rank.get("parameters").asLong() + rank.get("optimizer").asLong();
            assertThat((double) held / whole).as("share of weights + AdamW state a hybrid rank holds").isCloseTo(0.5, within(0.001));
            System.out.printf("hybrid_shard, 2 groups of 2: a rank holds %d bytes of weights + AdamW state; whole model %d; ratio %.4f%n",
                    held, whole, held / (double) whole);
        }

        // Checkpoint-5 of each mode resumed under the other continues as that mode's unbroken run did.
        for (String[] pair : List.of(new String[] {"hybrid", "full_shard"}, new String[] {"full", "hybrid_shard"})) {
            Path written = tmp.resolve(pair[0] + "-out");
            String name = pair[0] + "-resumed-as-" + pair[1];
            Path out = tmp.resolve(name + "-out");
            Files.createDirectories(out);
            copyTree(written.resolve("checkpoint-5"), out.resolve("checkpoint-5"));
            launch(config(model, name, pair[1]), 4, pair[1].equals("hybrid_shard") ? List.of("distributed.shard_group_size=2").toArray(String[]::new)
                    : new String[0]);
            List<JsonNode> unbroken = TinyFixtures.metrics(written, "train"), resumed = TinyFixtures.metrics(out, "train");
            assertThat(resumed).hasSize(STEPS - 5);
            for (int i = 0; i < STEPS - 5; i++) {
                double a = unbroken.get(5 + i).get("loss").asDouble(), b = resumed.get(i).get("loss").asDouble();
                assertThat(b).as("%s: loss at step %d", name, 6 + i).isCloseTo(a, within(1e-4 * Math.abs(a)));
            }
        }
    }

    private static long modelElements(Path model) throws IOException {
        long total = 0;
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            for (var e : f.entries()) {
                long n = 1;
                for (long s : e.shape()) n *= s;
                total += n;
            }
        }
        return total;
    }

    /**
     * Tied embeddings: the LM head is the embedding unit's matrix, gathered again for the head, and its
     * gradient from the head and from the embedding meet in one buffer before the reduce-scatter.
     */
    @Test
    void aTiedModelShardsAlike() throws Exception {
        Path untied = TinyFixtures.tinyModel(tmp.resolve("untied-model"));
        Path model = tmp.resolve("tiny-model");
        copyTree(untied, model);
        ObjectMapper json = new ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(model.resolve("config.json").toFile());
        config.put("tie_word_embeddings", true);
        json.writeValue(model.resolve("config.json").toFile(), config);
        ModelConfig tied = HfConfig.read(model);
        assertThat(tied.tieWordEmbeddings()).isTrue();
        Path reference = launch(config(model, "tied-world1", "full_shard"), 1);
        for (String mode : List.of("full_shard", "shard_grad_op")) {
            assertSameRun(reference, launch(config(model, "tied-" + mode, mode), 2), "tied, " + mode + " at world 2", tied);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }
}
