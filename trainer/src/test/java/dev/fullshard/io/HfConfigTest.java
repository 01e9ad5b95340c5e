package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelConfig.RopeScaling;
import dev.fullshard.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** config.json texts as published on the Hugging Face Hub for each model (values from the public files). */
class HfConfigTest {
    @TempDir
    Path dir;

    static final String LLAMA_31_8B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [128001, 128008, 128009],
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3"
              },
              "rope_theta": 500000.0,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.43.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }""";

    static final String LLAMA_2_7B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 11008,
              "max_position_embeddings": 4096,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 32,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": null,
              "tie_word_embeddings": false,
              "torch_dtype": "float16",
              "transformers_version": "4.31.0.dev0",
              "use_cache": true,
              "vocab_size": 32000
            }""";

    static final String QWEN2_05B = """
            {
              "architectures": ["Qwen2ForCausalLM"],
              "attention_dropout": 0.0,
              "bos_token_id": 151643,
              "eos_token_id": 151643,
              "hidden_act": "silu",
              "hidden_size": 896,
              "initializer_range": 0.02,
              "intermediate_size": 4864,
              "max_position_embeddings": 131072,
              "max_window_layers": 24,
              "model_type": "qwen2",
              "num_attention_heads": 14,
              "num_hidden_layers": 24,
              "num_key_value_heads": 2,
              "rms_norm_eps": 1e-06,
              "rope_theta": 1000000.0,
              "sliding_window": 131072,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.40.1",
              "use_cache": true,
              "use_sliding_window": false,
              "vocab_size": 151936
            }""";

    static final String QWEN3_06B = """
            {
              "architectures": ["Qwen3ForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 151643,
              "eos_token_id": 151645,
              "head_dim": 128,
              "hidden_act": "silu",
              "hidden_size": 1024,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "max_position_embeddings": 40960,
              "max_window_layers": 28,
              "model_type": "qwen3",
              "num_attention_heads": 16,
              "num_hidden_layers": 28,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-06,
              "rope_scaling": null,
              "rope_theta": 1000000,
              "sliding_window": null,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.51.0",
              "use_cache": true,
              "use_sliding_window": false,
              "vocab_size": 151936
            }""";

    static final String MISTRAL_7B_V01 = """
            {
              "architectures": ["MistralForCausalLM"],
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 32768,
              "model_type": "mistral",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-05,
              "rope_theta": 10000.0,
              "sliding_window": 4096,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.34.0.dev0",
              "use_cache": true,
              "vocab_size": 32000
            }""";

    static final String MISTRAL_7B_V03 = """
            {
              "architectures": ["MistralForCausalLM"],
              "attention_dropout": 0.0,
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 32768,
              "model_type": "mistral",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-05,
              "rope_theta": 1000000.0,
              "sliding_window": null,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.42.0.dev0",
              "use_cache": true,
              "vocab_size": 32768
            }""";

    private Path write(String name, String json) throws IOException {
        return Files.writeString(dir.resolve(name), json);
    }

    private ModelConfig read(String json) throws IOException {
        return HfConfig.read(write("config.json", json));
    }

    @Test
    void llama31_8b() throws IOException {
        assertThat(read(LLAMA_31_8B)).isEqualTo(new ModelConfig(Architecture.LLAMA, 128256, 4096, 14336, 32, 32, 8, 128, 1e-5, 500000.0,
                new RopeScaling(8.0, 1.0, 4.0, 8192), 131072, false, false, false, null, 128000, 128001));
    }

    @Test
    void llama2_7b_takesTheDefaultRopeTheta() throws IOException {
        assertThat(read(LLAMA_2_7B)).isEqualTo(new ModelConfig(Architecture.LLAMA, 32000, 4096, 11008, 32, 32, 32, 128, 1e-5, 10000.0,
                null, 4096, false, false, false, null, 1, 2));
    }

    @Test
    void qwen2_05b_hasBiasesAndTiedEmbeddingsAndNoSlidingWindowWhenItIsOff() throws IOException {
        assertThat(read(QWEN2_05B)).isEqualTo(new ModelConfig(Architecture.QWEN2, 151936, 896, 4864, 24, 14, 2, 64, 1e-6, 1e6,
                null, 131072, true, true, false, null, 151643, 151643));
    }

    @Test
    void qwen3_06b_hasAnExplicitHeadDimAndQueryKeyNorms() throws IOException {
        ModelConfig c = read(QWEN3_06B);
        assertThat(c).isEqualTo(new ModelConfig(Architecture.QWEN3, 151936, 1024, 3072, 28, 16, 8, 128, 1e-6, 1e6,
                null, 40960, true, false, true, null, 151643, 151645));
        assertThat(c.headDim()).isNotEqualTo(c.hiddenSize() / c.numHeads());
        assertThat(c.groupSize()).isEqualTo(2);
    }

    @Test
    void mistral7b_slidingWindowOrNull() throws IOException {
        assertThat(read(MISTRAL_7B_V01)).isEqualTo(new ModelConfig(Architecture.MISTRAL, 32000, 4096, 14336, 32, 32, 8, 128, 1e-5, 10000.0,
                null, 32768, false, false, false, 4096, 1, 2));
        assertThat(read(MISTRAL_7B_V03).slidingWindow()).isNull();
        assertThat(read(MISTRAL_7B_V03).vocabSize()).isEqualTo(32768);
    }

    @Test
    void aDirectoryIsReadThroughItsConfigJson() throws IOException {
        write("config.json", QWEN3_06B);
        assertThat(HfConfig.read(dir)).isEqualTo(read(QWEN3_06B));
    }

    @Test
    void anOldLlamaWithoutKeyValueHeadsUsesOneKeyValueHeadPerQueryHead() throws IOException {
        assertThat(read(LLAMA_2_7B.replace("\"num_key_value_heads\": 32,", "")).numKeyValueHeads()).isEqualTo(32);
    }

    @Test
    void typeIsAcceptedInPlaceOfRopeType() throws IOException {
        assertThat(read(LLAMA_31_8B.replace("\"rope_type\": \"llama3\"", "\"type\": \"llama3\"")).ropeScaling())
                .isEqualTo(new RopeScaling(8.0, 1.0, 4.0, 8192));
    }

    /** transformers 5 writes rope_theta and the scaling together in rope_parameters. */
    @Test
    void ropeParametersOfTransformers5() throws IOException {
        String v5 = LLAMA_31_8B.replace("\"rope_scaling\": {", "\"rope_parameters\": {\"rope_theta\": 500000.0,")
                .replace("\"rope_theta\": 500000.0,\n  \"tie", "\"tie");
        assertThat(v5).doesNotContain("rope_scaling").containsOnlyOnce("rope_theta");
        assertThat(read(v5)).isEqualTo(read(LLAMA_31_8B));
        String v5Default = LLAMA_2_7B.replace("\"rope_scaling\": null,", "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 20000.0},");
        assertThat(read(v5Default).ropeTheta()).isEqualTo(20000.0);
        assertThat(read(v5Default).ropeScaling()).isNull();
    }

    @Test
    void anUnsupportedArchitectureListsTheSupportedOnes() throws IOException {
        Path file = write("config.json", LLAMA_2_7B.replace("LlamaForCausalLM", "GemmaForCausalLM"));
        assertThatThrownBy(() -> HfConfig.read(file)).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(file + ": architecture \"GemmaForCausalLM\" is not supported; fullshard supports "
                        + "LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hidden_size", "vocab_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "rms_norm_eps", "max_position_embeddings", "architectures"})
    void aMissingRequiredKeyIsNamed(String key) throws IOException {
        JsonNode json = new ObjectMapper().readTree(MISTRAL_7B_V01);
        ((com.fasterxml.jackson.databind.node.ObjectNode) json).remove(key);
        Path file = write("config.json", json.toString());
        assertThatThrownBy(() -> HfConfig.read(file)).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(file + ": required key '" + key + "' is missing");
    }

    @Test
    void aWrongTypeNamesTheKeyAndTheExpectedType() throws IOException {
        Path file = write("config.json", LLAMA_2_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": \"4096\""));
        assertThatThrownBy(() -> HfConfig.read(file)).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(file + ": key 'hidden_size' must be a positive integer, got the string \"4096\"");
        Path floatHeads = write("heads.json", LLAMA_2_7B.replace("\"num_attention_heads\": 32", "\"num_attention_heads\": 32.5"));
        assertThatThrownBy(() -> HfConfig.read(floatHeads)).hasMessage(floatHeads + ": key 'num_attention_heads' must be a positive integer, got the number 32.5");
        Path tie = write("tie.json", LLAMA_2_7B.replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": \"no\""));
        assertThatThrownBy(() -> HfConfig.read(tie)).hasMessage(tie + ": key 'tie_word_embeddings' must be true or false, got the string \"no\"");
        Path eps = write("eps.json", LLAMA_2_7B.replace("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": [1e-05]"));
        assertThatThrownBy(() -> HfConfig.read(eps)).hasMessage(eps + ": key 'rms_norm_eps' must be a positive number, got the list [1.0E-5]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"yarn", "linear", "dynamic", "longrope"})
    void unsupportedRopeScalingIsRefused(String type) throws IOException {
        Path file = write("config.json", LLAMA_31_8B.replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"" + type + "\""));
        assertThatThrownBy(() -> HfConfig.read(file)).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(file + ": rope_scaling.rope_type is \"" + type + "\"; fullshard supports only \"llama3\" RoPE scaling (or none)");
    }

    @Test
    void llama3ScalingNeedsAllItsKeys() throws IOException {
        Path file = write("config.json", LLAMA_31_8B.replace("\"low_freq_factor\": 1.0,", ""));
        assertThatThrownBy(() -> HfConfig.read(file)).hasMessage(file + ": required key 'rope_scaling.low_freq_factor' is missing");
    }

    @Test
    void whatTheModelWouldComputeDifferentlyIsRefused() throws IOException {
        Path gelu = write("gelu.json", LLAMA_2_7B.replace("\"silu\"", "\"gelu\""));
        assertThatThrownBy(() -> HfConfig.read(gelu)).hasMessage(gelu + ": hidden_act is \"gelu\"; fullshard's LlamaForCausalLM supports only \"silu\"");
        Path mlpBias = write("mlp.json", LLAMA_31_8B.replace("\"mlp_bias\": false", "\"mlp_bias\": true"));
        assertThatThrownBy(() -> HfConfig.read(mlpBias)).hasMessageContaining("mlp_bias is true");
        Path window = write("window.json", QWEN2_05B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"));
        assertThatThrownBy(() -> HfConfig.read(window)).hasMessageStartingWith(window + ": use_sliding_window is true");
        Path groups = write("groups.json", LLAMA_2_7B.replace("\"num_key_value_heads\": 32", "\"num_key_value_heads\": 5"));
        assertThatThrownBy(() -> HfConfig.read(groups)).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(groups + ": num_attention_heads (32) must be a multiple of num_key_value_heads (5)");
    }

    @Test
    void notAConfigAtAll() throws IOException {
        Path list = write("list.json", "[1, 2]");
        assertThatThrownBy(() -> HfConfig.read(list)).hasMessage(list + ": config.json must be a JSON object ({...}), got the list [1,2]");
        Path broken = write("broken.json", "{\"hidden_size\": ");
        assertThatThrownBy(() -> HfConfig.read(broken)).isInstanceOf(CheckpointFormatException.class)
                .hasMessageStartingWith(broken + ": config.json is not valid JSON");
        assertThatThrownBy(() -> HfConfig.read(dir.resolve("absent"))).isInstanceOf(CheckpointFormatException.class)
                .hasMessage(dir.resolve("absent") + ": no such file; expected a Hugging Face config.json");
    }

    @Test
    void everyConfigSurvivesAWriteAndARead() throws IOException {
        for (String original : List.of(LLAMA_31_8B, LLAMA_2_7B, QWEN2_05B, QWEN3_06B, MISTRAL_7B_V01, MISTRAL_7B_V03)) {
            ModelConfig config = read(original);
            Path out = dir.resolve("out-" + config.architecture() + ".json");
            Files.deleteIfExists(out);
            HfConfig.write(config, out);
            assertThat(HfConfig.read(out)).as(original).isEqualTo(config);
        }
    }

    @Test
    void theWrittenFileHasWhatTransformersNeeds() throws IOException {
        Path out = dir.resolve("written.json");
        HfConfig.write(read(LLAMA_31_8B), DType.F32, out);
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertThat(json.get("architectures").get(0).asText()).isEqualTo("LlamaForCausalLM");
        assertThat(json.get("model_type").asText()).isEqualTo("llama");
        assertThat(json.get("hidden_act").asText()).isEqualTo("silu");
        assertThat(json.get("initializer_range").asDouble()).isEqualTo(0.02);
        assertThat(json.get("use_cache").asBoolean()).isTrue();
        assertThat(json.get("torch_dtype").asText()).isEqualTo("float32");
        assertThat(json.get("rope_scaling").get("rope_type").asText()).isEqualTo("llama3");
        assertThat(json.get("rope_theta").asDouble()).isEqualTo(500000.0);
        assertThat(json.get("num_key_value_heads").asInt()).isEqualTo(8);
        assertThat(json.get("tie_word_embeddings").asBoolean()).isFalse();
        assertThat(json.get("attention_bias").asBoolean()).isFalse();
        List<String> keys = new java.util.ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).as("sorted, as transformers writes them").isSorted();
        assertThat(read(QWEN2_05B)).satisfies(q -> {
            HfConfig.write(q, dir.resolve("qwen2.json"));
            JsonNode qwen = new ObjectMapper().readTree(dir.resolve("qwen2.json").toFile());
            assertThat(qwen.get("model_type").asText()).isEqualTo("qwen2");
            assertThat(qwen.get("use_sliding_window").asBoolean()).isFalse();
        });
    }

    @Test
    void combinationsTransformersCannotLoadAreNotWritten() {
        ModelConfig qwen2WithoutBias = new ModelConfig(Architecture.QWEN2, 100, 64, 128, 2, 4, 2, 16, 1e-6, 1e6, null, 512,
                false, false, false, null, -1, -1);
        assertThatThrownBy(() -> HfConfig.write(qwen2WithoutBias, dir.resolve("x.json"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Qwen2ForCausalLM always has q/k/v biases");
        ModelConfig llamaWithNorms = new ModelConfig(Architecture.LLAMA, 100, 64, 128, 2, 4, 2, 16, 1e-6, 1e6, null, 512,
                false, false, true, null, -1, -1);
        assertThatThrownBy(() -> HfConfig.write(llamaWithNorms, dir.resolve("y.json"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void missingTokenIdsRoundTripAsNull() throws IOException {
        ModelConfig noTokens = new ModelConfig(Architecture.MISTRAL, 100, 64, 128, 2, 4, 2, 16, 1e-6, 1e6, null, 512,
                false, false, false, null, -1, -1);
        HfConfig.write(noTokens, dir.resolve("config.json"));
        JsonNode json = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        assertThat(json.get("bos_token_id").isNull()).isTrue();
        assertThat(HfConfig.read(dir)).isEqualTo(noTokens);
    }
}
