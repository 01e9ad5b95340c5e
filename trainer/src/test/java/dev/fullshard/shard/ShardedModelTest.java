package dev.fullshard.shard;

import dev.fullshard.dist.ThreadRanks;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelUnits;
import dev.fullshard.model.Parameters;
import dev.fullshard.model.WeightAccess.Pass;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * FSDP in one JVM: ranks as threads ({@link ThreadRanks}), at world sizes 2 and 3, whose shards are
 * uneven (the units' sizes are not multiples of 3). Gathered weights are the full weights, reduce-scattered
 * gradients are the sums over ranks, and prefetch gathers the unit the pass reaches next.
 */
@ExtendWith(NoLeakedTensors.class)
class ShardedModelTest {
    /** Two layers, GQA, untied head; vocabulary 37 makes every unit's size odd. */
    private static final ModelConfig CONFIG = new ModelConfig(ModelConfig.Architecture.LLAMA, 37, 16, 24, 2, 4, 2, 4, 1e-5, 10000.0, null,
            64, false, false, false, null, 1, 2);
    private static final List<String> NAMES = List.copyOf(Parameters.shapes(CONFIG).keySet());

    /** Element {@code i} of parameter {@code name}: distinct everywhere and exact in float32. */
    private static float weight(String name, long i) {
        return NAMES.indexOf(name) * 1000 + i;
    }

    /** Element {@code i} of rank {@code rank}'s gradient of {@code name}: no two ranks' alike, none exact in binary. */
    private static float gradient(int rank, String name, long i) {
        return (float) (0.1 * (rank + 1) + 0.37 * NAMES.indexOf(name) - 0.013 * i);
    }

    private static ShardedModel model(ThreadRanks.Rank comm, boolean prefetch) {
        return model(comm, ShardGroups.whole(comm), prefetch);
    }

    private static ShardedModel model(ThreadRanks.Rank comm, ShardGroups groups, boolean prefetch) {
        ShardedModel model = new ShardedModel(comm, groups, CONFIG, new ShardedModel.Options(true, true, prefetch, DType.F32, DType.F32, false,
                Device.CPU));
        model.load((name, start, length, into) -> {
            float[] values = new float[(int) length];
            for (int i = 0; i < length; i++) values[i] = weight(name, start + i);
            Copies.copyInto(into, Tensor.of(values, length));
        });
        return model;
    }

    private static float[] expectedWeights(String name, long numel) {
        float[] values = new float[(int) numel];
        for (int i = 0; i < numel; i++) values[i] = weight(name, i);
        return values;
    }

    private static void assertFullWeights(Map<String, Tensor> weights, int unit) {
        List<Map<String, long[]>> shapes = ModelUnits.shapes(CONFIG);
        assertThat(weights.keySet()).as("unit %d", unit).containsExactlyElementsOf(shapes.get(unit).keySet());
        weights.forEach((name, t) -> {
            assertThat(t.shape()).as(name).isEqualTo(shapes.get(unit).get(name));
            assertThat(t.toFloatArray()).as(name).containsExactly(expectedWeights(name, t.numel()));
        });
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void gatheredWeightsAreTheFullWeightsOnEveryRank(int ranks) throws Exception {
        ThreadRanks.run(ranks, comm -> {
            try (TensorScope ignored = TensorScope.open(); ShardedModel model = model(comm, true)) {
                for (int u = 0; u < ModelUnits.count(CONFIG); u++) {
                    int unit = u;
                    model.run(unit, Pass.INFERENCE, weights -> {
                        assertFullWeights(weights, unit);
                        return null;
                    });
                    try (ShardedModel.FullUnit full = model.gatherFull(unit)) {
                        assertFullWeights(full.weights(), unit);
                    }
                }
            }
        });
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void reduceScatteredGradientsAreTheSumsOverTheRanks(int ranks) throws Exception {
        ThreadRanks.run(ranks, comm -> {
            try (TensorScope ignored = TensorScope.open(); ShardedModel model = model(comm, true)) {
                model.zeroGradients();
                model.beginMicroBatch(true);
                for (int u = ModelUnits.count(CONFIG) - 1; u >= 0; u--) {
                    model.gradients(u).forEach((name, buffer) -> {
                        float[] values = new float[(int) buffer.numel()];
                        for (int i = 0; i < values.length; i++) values[i] = gradient(comm.rank(), name, i);
                        try (TensorScope fill = TensorScope.open()) {
                            Copies.copyInto(buffer, Tensor.of(values, buffer.shape()));
                        }
                    });
                    model.gradientsDone(u);
                }
                model.finishGradients();
                for (ShardLayout.Piece p : model.pieces()) {
                    float[] expected = new float[(int) p.length()];
                    for (int i = 0; i < expected.length; i++) {
                        double sum = 0;
                        for (int r = 0; r < ranks; r++) sum += gradient(r, p.name(), p.paramStart() + i);
                        expected[i] = (float) sum;
                    }
                    assertThat(model.gradientPieces().get(p.name()).toFloatArray()).as("rank %d's piece of %s", comm.rank(), p.name())
                            .containsExactly(expected);
                }
            }
        });
    }

    /** Rank {@code rank}'s gradients for every unit, in backward order, then the reductions completed. */
    private static void backward(ShardedModel model, int rank) {
        model.zeroGradients();
        model.beginMicroBatch(true);
        for (int u = ModelUnits.count(CONFIG) - 1; u >= 0; u--) {
            model.gradients(u).forEach((name, buffer) -> {
                float[] values = new float[(int) buffer.numel()];
                for (int i = 0; i < values.length; i++) values[i] = gradient(rank, name, i);
                try (TensorScope fill = TensorScope.open()) {
                    Copies.copyInto(buffer, Tensor.of(values, buffer.shape()));
                }
            });
            model.gradientsDone(u);
        }
        model.finishGradients();
    }

    @ParameterizedTest(name = "{0} ranks in groups of 2")
    @ValueSource(ints = {4, 6})
    void hybridShardingGathersInsideAGroupAndSumsGradientsOverEveryRank(int ranks) throws Exception {
        ThreadRanks.run(ranks, comm -> {
            try (TensorScope ignored = TensorScope.open(); ShardGroups groups = ShardGroups.hybrid(comm, 2);
                 ShardedModel model = model(comm, groups, true)) {
                ThreadRanks.Rank shards = (ThreadRanks.Rank) groups.shards(), replicas = (ThreadRanks.Rank) groups.replicas();
                assertThat(List.of(shards.size(), replicas.size(), model.layout().shards())).isEqualTo(List.of(2, ranks / 2, 2));
                assertThat(model.shardRank()).isEqualTo(comm.rank() % 2);
                assertThat(model.writesShard()).as("one writer per shard: the first group's").isEqualTo(comm.rank() < 2);
                long held = model.masterPieces().values().stream().mapToLong(Tensor::numel).sum();
                assertThat((double) held / model.layout().numel()).as("share of the model this rank holds").isCloseTo(0.5, within(0.01));
                for (int u = 0; u < ModelUnits.count(CONFIG); u++) {
                    int unit = u;
                    model.run(unit, Pass.INFERENCE, weights -> {
                        assertFullWeights(weights, unit);
                        return null;
                    });
                }
                backward(model, comm.rank());
                for (ShardLayout.Piece p : model.pieces()) {
                    float[] got = model.gradientPieces().get(p.name()).toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        double sum = 0;
                        for (int r = 0; r < ranks; r++) sum += gradient(r, p.name(), p.paramStart() + i);
                        // Two roundings to float32 (after the group's sum, then after the replicas'), not one.
                        assertThat((double) got[i]).as("rank %d's %s[%d]", comm.rank(), p.name(), p.paramStart() + i)
                                .isCloseTo(sum, within(1e-6 * Math.max(1, Math.abs(sum))));
                    }
                }
                assertThat(comm.calls()).as("the world only agreed on the groups").noneMatch(c -> c.startsWith("allGather") || c.startsWith("reduceScatter"));
                assertThat(replicas.calls()).as("across groups: one all-reduce of a shard per unit").hasSize(ModelUnits.count(CONFIG))
                        .allMatch(c -> c.startsWith("allReduceSum "));
                assertThat(shards.calls()).filteredOn(c -> c.startsWith("allGather")).hasSize(ModelUnits.count(CONFIG));
                assertThat(shards.calls()).filteredOn(c -> c.startsWith("reduceScatterSum")).hasSize(ModelUnits.count(CONFIG));
            }
        });
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void acquiringAUnitPrefetchesTheNextOneInPassOrderAndReleasingFreesIt(int ranks) throws Exception {
        ThreadRanks.run(ranks, comm -> {
            try (TensorScope ignored = TensorScope.open(); ShardedModel model = model(comm, true)) {
                int head = ModelUnits.head(CONFIG), last = ModelUnits.block(CONFIG.numLayers() - 1);
                List<Integer> expected = new ArrayList<>();
                // Forward: each unit brings the next one.
                for (int u = 0; u < head; u++) {
                    acquire(model, u, Pass.FORWARD);
                    expected.addAll(u == 0 ? List.of(0, 1) : List.of(u + 1));
                    assertGathered(comm, model, expected, String.format("forward, unit %d", u));
                    model.release(u, Pass.FORWARD);
                }
                // The head's fused forward and backward brings the last block; backward stops at the first block.
                acquire(model, head, Pass.BACKWARD);
                expected.add(last);
                model.release(head, Pass.BACKWARD);
                for (int u = last; u >= 1; u--) {
                    acquire(model, u, Pass.BACKWARD);
                    if (u > 1) expected.add(u - 1);
                    assertGathered(comm, model, expected, String.format("backward, unit %d", u));
                    model.release(u, Pass.BACKWARD);
                }
                // Released units are gone: acquiring one again gathers it again.
                acquire(model, head, Pass.INFERENCE);
                expected.add(head);
                // A unit acquired inside another (the tied embedding, in the head) is no step of the pass: it brings nothing.
                acquire(model, ModelUnits.EMBEDDING, Pass.INFERENCE);
                expected.add(ModelUnits.EMBEDDING);
                assertGathered(comm, model, expected, "the tied embedding");
                model.release(ModelUnits.EMBEDDING, Pass.INFERENCE);
                model.release(head, Pass.INFERENCE);
            }
        });
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void withoutPrefetchAUnitIsGatheredWhenAcquired(int ranks) throws Exception {
        ThreadRanks.run(ranks, comm -> {
            try (TensorScope ignored = TensorScope.open(); ShardedModel model = model(comm, false)) {
                List<Integer> expected = new ArrayList<>();
                for (int u = 0; u < ModelUnits.count(CONFIG); u++) {
                    acquire(model, u, Pass.INFERENCE);
                    expected.add(u);
                    assertGathered(comm, model, expected, String.format("unit %d", u));
                    model.release(u, Pass.INFERENCE);
                }
            }
        });
    }

    /** Acquires {@code unit}, checking that its weights are the full weights. */
    private static void acquire(ShardedModel model, int unit, Pass pass) {
        assertFullWeights(model.acquire(unit, pass), unit);
    }

    /** The sizes of the all-gathers issued so far, and those of the all-gathers of {@code units}: blocks look alike, the weights tell them apart. */
    private static void assertGathered(ThreadRanks.Rank comm, ShardedModel model, List<Integer> units, String when) {
        List<Long> sizes = comm.calls().stream().filter(c -> c.startsWith("allGather ")).map(c -> Long.parseLong(c.substring(10))).toList();
        assertThat(sizes).as("all-gathers after %s", when).isEqualTo(units.stream().map(u -> model.layout().unit(u).paddedNumel(comm.size())).toList());
    }
}
