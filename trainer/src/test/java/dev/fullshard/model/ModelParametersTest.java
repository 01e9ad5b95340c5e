package dev.fullshard.model;

import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

/** Hugging Face parameter names and shapes per architecture, validation, and the random initialisation. */
@ExtendWith(NoLeakedTensors.class)
class ModelParametersTest {
    @Test
    void namesAndShapesFollowHuggingFace() {
        Map<String, long[]> llama = Parameters.shapes(Variant.LLAMA_UNTIED.config);
        assertThat(llama.keySet()).startsWith("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
                "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                "model.layers.0.self_attn.o_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight");
        assertThat(llama.keySet()).endsWith("model.norm.weight", "lm_head.weight").hasSize(1 + 2 * 9 + 2);
        assertThat(llama.get("model.layers.1.self_attn.k_proj.weight")).containsExactly(16, 16);   // KV 2 · hd 8, D 16
        assertThat(llama.get("model.layers.1.self_attn.o_proj.weight")).containsExactly(16, 32);   // D, H 4 · hd 8

        Map<String, long[]> qwen2 = Parameters.shapes(Variant.QWEN2_TIED_BIAS.config);
        assertThat(qwen2).containsKeys("model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.k_proj.bias",
                "model.layers.0.self_attn.v_proj.bias").doesNotContainKeys("lm_head.weight", "model.layers.0.self_attn.o_proj.bias");
        assertThat(qwen2.get("model.layers.0.self_attn.k_proj.bias")).containsExactly(16);
        assertThat(Parameters.shapes(Variant.LLAMA_BIAS_MQA.config)).containsKey("model.layers.1.self_attn.o_proj.bias");
        Map<String, long[]> qwen3 = Parameters.shapes(Variant.QWEN3_QK_NORM.config);
        assertThat(qwen3.get("model.layers.0.self_attn.q_norm.weight")).containsExactly(8);
        assertThat(qwen3.get("model.layers.0.self_attn.k_norm.weight")).containsExactly(8);
    }

    @Test
    void ofListsEveryProblem() {
        ModelConfig c = Variant.QWEN2_TIED_BIAS.config;
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>(Parameters.zeros(c, DType.F32).asMap());
            t.remove("model.layers.1.self_attn.v_proj.bias");
            t.put("model.norm.weight", Tensor.zeros(DType.F32, Device.CPU, 15));
            t.put("lm_head.weight", Tensor.zeros(DType.F32, Device.CPU, 37, 16));
            assertThatThrownBy(() -> Parameters.of(c, t)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Qwen2ForCausalLM config (3 problems)")
                    .hasMessageContaining("missing model.layers.1.self_attn.v_proj.bias [16]")
                    .hasMessageContaining("model.norm.weight is [15], expected [16]")
                    .hasMessageContaining("unexpected lm_head.weight");
        }
    }

    @Test
    void randomInitIsSeededWithNormsOneAndBiasesZero() {
        ModelConfig c = Variant.LLAMA_BIAS_MQA.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters a = Parameters.random(c, 5, DType.F32), b = Parameters.random(c, 5, DType.F32), other = Parameters.random(c, 6, DType.F32);
            for (String name : a.names()) assertThat(a.get(name).toFloatArray()).as(name).containsExactly(b.get(name).toFloatArray());
            assertThat(other.get("model.embed_tokens.weight").toFloatArray()).isNotEqualTo(a.get("model.embed_tokens.weight").toFloatArray());
            assertThat(a.get("model.layers.0.input_layernorm.weight").toDoubleArray()).containsOnly(1.0);
            assertThat(a.get("model.layers.0.self_attn.o_proj.bias").toDoubleArray()).containsOnly(0.0);
            // Weights ~ normal(0, 0.02): the sample std of 592 values is within a few percent of 0.02.
            double[] w = a.get("model.embed_tokens.weight").toDoubleArray();
            double ss = 0, sum = 0;
            for (double v : w) {
                ss += v * v;
                sum += v;
            }
            assertThat(Math.sqrt(ss / w.length)).isCloseTo(0.02, offset(0.002));
            assertThat(sum / w.length).isCloseTo(0.0, offset(0.003));
            assertThat(a.numel()).isEqualTo(Parameters.shapes(c).values().stream().mapToLong(sh -> {
                long n = 1;
                for (long d : sh) n *= d;
                return n;
            }).sum());
        }
    }
}
