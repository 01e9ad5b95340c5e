package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fullshard.io.HfConfig;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.tensor.Device;
import dev.fullshard.train.MemoryPlan;
import dev.fullshard.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code fullshard plan}'s figures against the memory report of sharded runs of the tiny model through the
 * launcher (one step each). Exact, as in MemoryPlanTest: each figure is a sum of tensor sizes that the layout and
 * the micro-batch's shape fix. Every rank's figures must be at most the plan's (it plans the largest rank), and
 * the largest rank's must equal it.
 */
class LauncherMemoryPlanTest {
    private static final String[] FIELDS = {"parameters", "gradients", "optimizer", "gathered_peak", "unsharded_gradients_peak", "activations_peak"};

    @TempDir
    Path tmp;

    @Test
    void shardedRunsMeasureWhatThePlanSays() throws Exception {
        Path model = TinyFixtures.tinyModel(tmp.resolve("tiny-model"));
        ModelConfig config = HfConfig.read(model);
        check(config, "full-shard", "full_shard", 2);
        check(config, "shard-grad-op", "shard_grad_op", 2, "mixed_precision=bf16", "training.activation_checkpointing=true");
        check(config, "hybrid", "hybrid_shard", 4, "distributed.shard_group_size=2", "distributed.reduce_dtype=bf16");
    }

    private void check(ModelConfig config, String name, String sharding, int world, String... extra) throws Exception {
        // One step (the memory event comes after the first), so no warmup.
        Path yaml = TinyFixtures.trainConfig(tmp, tmp.resolve("tiny-model"), name, sharding, 1);
        List<String> overrides = new ArrayList<>(List.of("scheduler.warmup_steps=0"));
        overrides.addAll(List.of(extra));
        Path out = TinyFixtures.launch(tmp, yaml, world, overrides.toArray(String[]::new));
        MemoryPlan plan = MemoryPlan.of(config, MemoryPlan.Job.of(TrainConfig.load(yaml, overrides), world, Device.Type.CPU));
        long[] planned = {plan.parameters(), plan.gradients(), plan.optimizer(), plan.gatheredPeak(), plan.unshardedGradientsPeak(), plan.activations()};
        JsonNode ranks = TinyFixtures.metrics(out, "memory").stream().filter(n -> n.get("at").asText().equals("first_step")).findFirst()
                .orElseThrow().get("ranks");
        assertThat(ranks).hasSize(world);
        for (int f = 0; f < FIELDS.length; f++) {
            long largest = 0;
            for (JsonNode rank : ranks) largest = Math.max(largest, rank.get(FIELDS[f]).asLong());
            assertThat(planned[f]).as(name + " at world " + world + ": " + FIELDS[f]).isEqualTo(largest);
        }
    }
}
