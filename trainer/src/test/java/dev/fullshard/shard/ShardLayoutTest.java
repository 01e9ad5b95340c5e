package dev.fullshard.shard;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.model.Parameters;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The flat per-unit layout, checked element by element: over all ranks the pieces cover every element of
 * every parameter exactly once, each at the place of the unit's flat buffer that rank's shard holds,
 * and the padding is less than one element per rank per unit.
 */
class ShardLayoutTest {
    @Test
    void everyElementIsHeldByExactlyOneRankAtItsFlatPosition() {
        for (ModelConfig.Architecture arch : List.of(ModelConfig.Architecture.LLAMA, ModelConfig.Architecture.QWEN2)) {
            ModelConfig config = ModelPresets.TINY.config(arch);
            Map<String, long[]> shapes = Parameters.shapes(config);
            for (int shards : new int[]{1, 2, 3, 4, 7}) {
                ShardLayout layout = ShardLayout.of(config, shards);
                Map<String, int[]> seen = new HashMap<>();
                shapes.forEach((name, shape) -> {
                    long n = 1;
                    for (long s : shape) n *= s;
                    seen.put(name, new int[(int) n]);
                });
                for (ShardLayout.Unit u : layout.units()) {
                    assertThat(u.paddedNumel(shards) - u.numel()).as("padding of unit %d at %d shards", u.index(), shards).isBetween(0L, shards - 1L);
                    Map<String, Long> offsets = new HashMap<>();
                    for (ShardLayout.Param p : u.params()) offsets.put(p.name(), p.offset());
                    for (int r = 0; r < shards; r++) {
                        for (ShardLayout.Piece p : layout.pieces(u.index(), r)) {
                            // The piece's place in the rank's shard is its place in the unit's flat buffer, minus the shard's start.
                            assertThat(offsets.get(p.name()) + p.paramStart()).isEqualTo(r * u.shardNumel() + p.shardOffset());
                            assertThat(p.shardOffset() + p.length()).isLessThanOrEqualTo(u.shardNumel());
                            int[] count = seen.get(p.name());
                            for (long i = p.paramStart(); i < p.paramStart() + p.length(); i++) count[(int) i]++;
                        }
                    }
                }
                seen.forEach((name, count) -> {
                    for (int c : count) assertThat(c).as("%s at %d shards: times each element is held", name, shards).isEqualTo(1);
                });
                assertThat(layout.numel()).isEqualTo(shapes.values().stream().mapToLong(s -> { long n = 1; for (long d : s) n *= d; return n; }).sum());
            }
        }
    }

    @Test
    void unitsAreTheEmbeddingEachBlockAndTheHead() {
        ModelConfig config = ModelPresets.TINY.config(ModelConfig.Architecture.LLAMA);
        ShardLayout layout = ShardLayout.of(config, 2);
        assertThat(layout.units()).hasSize(config.numLayers() + 2);
        assertThat(layout.unit(0).params()).extracting(ShardLayout.Param::name).containsExactly("model.embed_tokens.weight");
        assertThat(layout.unit(1).params()).extracting(ShardLayout.Param::name).allMatch(n -> n.startsWith("model.layers.0."));
        assertThat(layout.units().getLast().params()).extracting(ShardLayout.Param::name)
                .containsExactly("model.norm.weight", "lm_head.weight");
        assertThatThrownBy(() -> ShardLayout.of(config, 0)).hasMessageContaining("at least 1");
    }
}
