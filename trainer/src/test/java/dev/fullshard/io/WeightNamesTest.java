package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.Parameters;
import dev.fullshard.model.ModelConfig.Architecture;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WeightNamesTest {
    private static Map<String, long[]> shapes(ModelConfig c) {
        return new LinkedHashMap<>(Parameters.shapes(c));
    }

    @Test
    void llamaWithGroupedQueryAttention() {
        ModelConfig c = TestTensors.tinyLlama(); // D 16, F 24, H 4, KV 2, head 4, V 32, 2 layers
        Map<String, long[]> s = shapes(c);
        assertThat(s).hasSize(1 + 2 * 9 + 2);
        assertThat(s.keySet()).startsWith("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight")
                .endsWith("model.norm.weight", "lm_head.weight");
        assertThat(s.get("model.embed_tokens.weight")).containsExactly(32, 16);
        assertThat(s.get("model.layers.1.self_attn.q_proj.weight")).containsExactly(16, 16);
        assertThat(s.get("model.layers.1.self_attn.k_proj.weight")).containsExactly(8, 16);
        assertThat(s.get("model.layers.1.self_attn.v_proj.weight")).containsExactly(8, 16);
        assertThat(s.get("model.layers.1.self_attn.o_proj.weight")).containsExactly(16, 16);
        assertThat(s.get("model.layers.0.post_attention_layernorm.weight")).containsExactly(16);
        assertThat(s.get("model.layers.0.mlp.gate_proj.weight")).containsExactly(24, 16);
        assertThat(s.get("model.layers.0.mlp.up_proj.weight")).containsExactly(24, 16);
        assertThat(s.get("model.layers.0.mlp.down_proj.weight")).containsExactly(16, 24);
        assertThat(s.get("lm_head.weight")).containsExactly(32, 16);
        assertThat(s.keySet()).noneMatch(n -> n.endsWith(".bias") || n.contains("_norm.weight") && n.contains("self_attn"));
    }

    @Test
    void qwen2HasQkvBiasesButNoOutputBiasAndTiesItsHead() {
        ModelConfig c = new ModelConfig(Architecture.QWEN2, 151936, 896, 4864, 24, 14, 2, 64, 1e-6, 1e6, null, 131072,
                true, true, false, null, 151643, 151643);
        Map<String, long[]> s = shapes(c);
        assertThat(s.get("model.layers.23.self_attn.q_proj.bias")).containsExactly(896);
        assertThat(s.get("model.layers.23.self_attn.k_proj.bias")).containsExactly(128);
        assertThat(s.get("model.layers.23.self_attn.v_proj.bias")).containsExactly(128);
        assertThat(s).doesNotContainKey("model.layers.0.self_attn.o_proj.bias").doesNotContainKey("lm_head.weight");
        assertThat(s).hasSize(1 + 24 * 12 + 1);
    }

    @Test
    void qwen3HasPerHeadNormsAndAnExplicitHeadDim() {
        ModelConfig c = new ModelConfig(Architecture.QWEN3, 151936, 1024, 3072, 28, 16, 8, 128, 1e-6, 1e6, null, 40960,
                true, false, true, null, 151643, 151645);
        Map<String, long[]> s = shapes(c);
        assertThat(s.get("model.layers.0.self_attn.q_norm.weight")).containsExactly(128);
        assertThat(s.get("model.layers.0.self_attn.k_norm.weight")).containsExactly(128);
        assertThat(s.get("model.layers.0.self_attn.q_proj.weight")).containsExactly(2048, 1024);
        assertThat(s.get("model.layers.0.self_attn.k_proj.weight")).containsExactly(1024, 1024);
        assertThat(s.get("model.layers.0.self_attn.o_proj.weight")).containsExactly(1024, 2048);
        assertThat(s).hasSize(1 + 28 * 11 + 1);
    }

    /** transformers' Llama puts attention_bias on o_proj too. */
    @Test
    void llamaWithAttentionBiasAlsoBiasesTheOutputProjection() {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, 32, 16, 24, 1, 4, 2, 4, 1e-5, 1e4, null, 64, false, true, false, null, 1, 2);
        assertThat(shapes(c).get("model.layers.0.self_attn.o_proj.bias")).containsExactly(16);
        assertThat(shapes(c).get("model.layers.0.self_attn.k_proj.bias")).containsExactly(8);
    }

    @Test
    void everyDifferenceIsReportedNotJustTheFirst() {
        ModelConfig c = TestTensors.tinyLlama();
        Map<String, long[]> s = shapes(c);
        s.remove("model.layers.0.mlp.up_proj.weight");
        s.remove("lm_head.weight");
        s.put("model.layers.2.mlp.up_proj.weight", new long[] {24, 16});
        s.put("model.vision_tower.weight", new long[] {1});
        s.put("model.layers.1.self_attn.k_proj.weight", new long[] {16, 16});
        s.put("model.embed_tokens.weight", new long[] {33, 16});

        WeightNames.Comparison cmp = WeightNames.compare(c, s);
        assertThat(cmp.matches()).isFalse();
        assertThat(cmp.missing()).containsExactly("model.layers.0.mlp.up_proj.weight", "lm_head.weight");
        assertThat(cmp.unexpected()).containsExactly("model.layers.2.mlp.up_proj.weight", "model.vision_tower.weight");
        assertThat(cmp.misshaped()).containsExactly("model.embed_tokens.weight: expected [32, 16], found [33, 16]",
                "model.layers.1.self_attn.k_proj.weight: expected [8, 16], found [16, 16]");

        Path checkpoint = Path.of("/ckpt/step-1");
        assertThatThrownBy(() -> WeightNames.check(c, s, checkpoint)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageStartingWith(checkpoint + ": the weights do not match the LlamaForCausalLM config (2 layers):")
                .hasMessageContaining("2 missing:").hasMessageContaining("2 unexpected:").hasMessageContaining("2 with the wrong shape:")
                .hasMessageContaining("model.layers.0.mlp.up_proj.weight").hasMessageContaining("model.vision_tower.weight")
                .hasMessageContaining("expected [8, 16], found [16, 16]");
    }

    @Test
    void derivedBuffersAndATiedHeadAreTolerated() throws CheckpointFormatException {
        ModelConfig tied = new ModelConfig(Architecture.LLAMA, 32, 16, 24, 2, 4, 2, 4, 1e-5, 1e4, null, 64, true, false, false, null, 1, 2);
        Map<String, long[]> s = shapes(tied);
        s.put("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {2});
        s.put("lm_head.weight", new long[] {32, 16});
        WeightNames.check(tied, s, Path.of("ckpt"));
        s.put("lm_head.weight", new long[] {31, 16});
        assertThat(WeightNames.compare(tied, s).unexpected()).containsExactly("lm_head.weight");
    }
}
