package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelConfig.RopeScaling;
import dev.fullshard.tensor.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Reads a Hugging Face {@code config.json} into a {@link ModelConfig} and writes one back.
 *
 * <p>Reading follows what transformers does for the four supported classes: the same defaults for
 * keys that may be absent, and the same per-architecture rules (Qwen2 always has q/k/v biases,
 * Qwen3 has q/k norms, only Mistral has a sliding window). Anything fullshard's model would compute
 * differently from transformers (another activation, MLP biases, RoPE scaling other than "llama3",
 * Qwen's per-layer sliding window) is refused rather than ignored.
 */
public final class HfConfig {
    public static final String FILE_NAME = "config.json";

    /** transformers' defaults, the same for all four classes. */
    private static final double DEFAULT_ROPE_THETA = 10000.0;
    private static final double INITIALIZER_RANGE = 0.02;

    private HfConfig() {
    }

    /** Reads {@code path}, a {@code config.json} or a directory holding one. */
    public static ModelConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) throw new CheckpointFormatException(file, "no such file; expected a Hugging Face " + FILE_NAME);
        Keys keys = new Keys(file, Json.parseObject(file, Files.readString(file, StandardCharsets.UTF_8), FILE_NAME));
        return parse(keys);
    }

    private static ModelConfig parse(Keys keys) throws CheckpointFormatException {
        Architecture architecture = architecture(keys);
        String hiddenAct = keys.optionalString("hidden_act");
        if (hiddenAct != null && !hiddenAct.equals("silu")) {
            throw keys.error("hidden_act is \"" + hiddenAct + "\"; fullshard's " + architecture.className() + " supports only \"silu\"");
        }
        if (architecture == Architecture.LLAMA && Boolean.TRUE.equals(keys.optionalBoolean("mlp_bias"))) {
            throw keys.error("mlp_bias is true; fullshard supports only MLPs without biases");
        }

        int hiddenSize = keys.positiveInt("hidden_size");
        int numHeads = keys.positiveInt("num_attention_heads");
        Integer kvHeads = keys.optionalPositiveInt("num_key_value_heads");
        Integer headDim = keys.optionalPositiveInt("head_dim");
        if (headDim == null) {
            if (hiddenSize % numHeads != 0) {
                throw keys.error("hidden_size (" + hiddenSize + ") is not a multiple of num_attention_heads (" + numHeads
                        + ") and there is no head_dim");
            }
            headDim = hiddenSize / numHeads;
        }

        JsonNode ropeParameters = keys.node("rope_parameters");
        double ropeTheta = ropeParameters != null && ropeParameters.has("rope_theta")
                ? keys.doubleIn(ropeParameters, "rope_parameters.rope_theta")
                : keys.optionalDouble("rope_theta", DEFAULT_ROPE_THETA);
        RopeScaling ropeScaling = ropeScaling(keys, ropeParameters != null ? "rope_parameters" : "rope_scaling");

        boolean attentionBias = switch (architecture) {
            case QWEN2 -> true;
            case MISTRAL -> false;
            case LLAMA, QWEN3 -> keys.optionalBoolean("attention_bias", false);
        };
        Integer slidingWindow = switch (architecture) {
            case MISTRAL -> keys.optionalPositiveInt("sliding_window");
            case QWEN2, QWEN3 -> {
                if (keys.optionalBoolean("use_sliding_window", false)) {
                    throw keys.error("use_sliding_window is true; fullshard does not support Qwen's per-layer sliding window"
                            + " (max_window_layers), only full causal attention");
                }
                yield null;
            }
            case LLAMA -> null;
        };

        try {
            return new ModelConfig(architecture,
                    keys.positiveInt("vocab_size"), hiddenSize, keys.positiveInt("intermediate_size"),
                    keys.positiveInt("num_hidden_layers"), numHeads, kvHeads == null ? numHeads : kvHeads, headDim,
                    keys.positiveDouble("rms_norm_eps"), ropeTheta, ropeScaling, keys.positiveInt("max_position_embeddings"),
                    keys.optionalBoolean("tie_word_embeddings", false), attentionBias, architecture == Architecture.QWEN3,
                    slidingWindow, tokenId(keys, "bos_token_id"), tokenId(keys, "eos_token_id"));
        } catch (IllegalArgumentException e) {
            throw keys.error(e.getMessage());
        }
    }

    private static Architecture architecture(Keys keys) throws CheckpointFormatException {
        JsonNode list = keys.node("architectures");
        if (list == null) throw keys.missing("architectures");
        if (!list.isArray() || list.isEmpty() || !list.get(0).isTextual()) {
            throw keys.wrongType("architectures", "a non-empty list of class names such as [\"LlamaForCausalLM\"]", list);
        }
        String name = list.get(0).textValue();
        for (Architecture a : Architecture.values()) if (a.className().equals(name)) return a;
        throw keys.error("architecture \"" + name + "\" is not supported; fullshard supports "
                + Arrays.stream(Architecture.values()).map(Architecture::className).collect(Collectors.joining(", ")));
    }

    /**
     * {@code rope_scaling} (transformers 4) or {@code rope_parameters} (transformers 5, which also
     * holds rope_theta). The type is in {@code rope_type}, or {@code type} in older files.
     */
    private static RopeScaling ropeScaling(Keys keys, String key) throws CheckpointFormatException {
        JsonNode node = keys.node(key);
        if (node == null || node.isNull()) return null;
        if (!node.isObject()) throw keys.wrongType(key, "an object or null", node);
        JsonNode typeNode = node.has("rope_type") ? node.get("rope_type") : node.get("type");
        String typeKey = key + (node.has("rope_type") ? ".rope_type" : ".type");
        if (typeNode == null) {
            if (key.equals("rope_parameters")) return null;
            throw keys.missing(key + ".rope_type");
        }
        if (!typeNode.isTextual()) throw keys.wrongType(typeKey, "a string", typeNode);
        String type = typeNode.textValue();
        if (type.equals("default")) return null;
        if (!type.equals("llama3")) {
            throw keys.error(typeKey + " is \"" + type + "\"; fullshard supports only \"llama3\" RoPE scaling (or none)");
        }
        return new RopeScaling(keys.doubleIn(node, key + ".factor"), keys.doubleIn(node, key + ".low_freq_factor"),
                keys.doubleIn(node, key + ".high_freq_factor"), keys.intIn(node, key + ".original_max_position_embeddings"));
    }

    /** A token id, the first of a list (eos_token_id often lists several), or -1 when absent or null. */
    private static int tokenId(Keys keys, String key) throws CheckpointFormatException {
        JsonNode node = keys.node(key);
        if (node == null || node.isNull()) return -1;
        JsonNode first = node.isArray() && !node.isEmpty() ? node.get(0) : node;
        if (!first.isIntegralNumber() || !first.canConvertToInt() || first.intValue() < 0) {
            throw keys.wrongType(key, "a non-negative integer, a list of them, or null", node);
        }
        return first.intValue();
    }

    // ------------------------------------------------------------------------------------ writing

    /** Writes {@code config} as {@code config.json} with {@code torch_dtype} "bfloat16". */
    public static void write(ModelConfig config, Path file) throws IOException {
        write(config, DType.BF16, file);
    }

    /**
     * Writes {@code config} as a {@code config.json} that transformers loads as the same model, keys
     * sorted as transformers writes them. {@code path} may be a directory.
     *
     * @throws IllegalArgumentException for a combination transformers cannot express (e.g. Qwen2 without biases)
     */
    public static void write(ModelConfig config, DType torchDtype, Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        AtomicFile.write(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson(config, torchDtype)));
    }

    static Map<String, Object> toJson(ModelConfig c, DType torchDtype) {
        Architecture a = c.architecture();
        require(a != Architecture.QWEN2 || c.attentionBias(), "Qwen2ForCausalLM always has q/k/v biases; attentionBias must be true");
        require(a != Architecture.MISTRAL || !c.attentionBias(), "MistralForCausalLM has no attention biases; attentionBias must be false");
        require(c.queryKeyNorm() == (a == Architecture.QWEN3), "q/k norms exist exactly in Qwen3ForCausalLM, not in " + a.className());
        require(c.slidingWindow() == null || a == Architecture.MISTRAL, "only MistralForCausalLM has a sliding_window here, not " + a.className());
        // Older transformers releases ignore head_dim for Qwen2 and always divide.
        require(a != Architecture.QWEN2 || c.headDim() * c.numHeads() == c.hiddenSize(),
                "Qwen2ForCausalLM derives head_dim as hidden_size / num_attention_heads, so headDim must be " + c.hiddenSize() / c.numHeads());

        Map<String, Object> json = new TreeMap<>();
        json.put("architectures", List.of(a.className()));
        json.put("model_type", a.modelType());
        json.put("vocab_size", c.vocabSize());
        json.put("hidden_size", c.hiddenSize());
        json.put("intermediate_size", c.intermediateSize());
        json.put("num_hidden_layers", c.numLayers());
        json.put("num_attention_heads", c.numHeads());
        json.put("num_key_value_heads", c.numKeyValueHeads());
        json.put("head_dim", c.headDim());
        json.put("rms_norm_eps", c.rmsNormEps());
        json.put("rope_theta", c.ropeTheta());
        json.put("rope_scaling", c.ropeScaling() == null ? null : ropeScalingJson(c.ropeScaling()));
        json.put("max_position_embeddings", c.maxPositionEmbeddings());
        json.put("tie_word_embeddings", c.tieWordEmbeddings());
        switch (a) {
            case LLAMA -> {
                json.put("attention_bias", c.attentionBias());
                json.put("mlp_bias", false);
            }
            case QWEN3 -> {
                json.put("attention_bias", c.attentionBias());
                json.put("use_sliding_window", false);
                json.put("sliding_window", null);
            }
            case QWEN2 -> {
                json.put("use_sliding_window", false);
                json.put("sliding_window", null);
            }
            case MISTRAL -> json.put("sliding_window", c.slidingWindow());
        }
        json.put("bos_token_id", c.bosTokenId() < 0 ? null : c.bosTokenId());
        json.put("eos_token_id", c.eosTokenId() < 0 ? null : c.eosTokenId());
        json.put("hidden_act", "silu");
        json.put("initializer_range", INITIALIZER_RANGE);
        json.put("use_cache", true);
        json.put("attention_dropout", 0.0);
        json.put("torch_dtype", torchDtype.torchName());
        return json;
    }

    private static Map<String, Object> ropeScalingJson(RopeScaling s) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("factor", s.factor());
        json.put("high_freq_factor", s.highFreqFactor());
        json.put("low_freq_factor", s.lowFreqFactor());
        json.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
        json.put("rope_type", "llama3");
        return json;
    }

    private static void require(boolean condition, String message) {
        if (!condition) throw new IllegalArgumentException(message);
    }

    // ------------------------------------------------------------------------------------ typed keys

    /** Typed access to config.json's keys; every error names the file and the key. */
    private record Keys(Path file, JsonNode root) {
        JsonNode node(String key) {
            return root.get(key);
        }

        CheckpointFormatException error(String problem) {
            return new CheckpointFormatException(file, problem);
        }

        CheckpointFormatException missing(String key) {
            return error("required key '" + key + "' is missing");
        }

        CheckpointFormatException wrongType(String key, String expected, JsonNode got) {
            return error("key '" + key + "' must be " + expected + ", got " + Json.describe(got));
        }

        int positiveInt(String key) throws CheckpointFormatException {
            Integer v = optionalPositiveInt(key);
            if (v == null) throw missing(key);
            return v;
        }

        /** null when absent or JSON null. */
        Integer optionalPositiveInt(String key) throws CheckpointFormatException {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) throw wrongType(key, "a positive integer", v);
            return v.intValue();
        }

        double positiveDouble(String key) throws CheckpointFormatException {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) throw missing(key);
            if (!v.isNumber() || !(v.doubleValue() > 0) || Double.isInfinite(v.doubleValue())) throw wrongType(key, "a positive number", v);
            return v.doubleValue();
        }

        double optionalDouble(String key, double otherwise) throws CheckpointFormatException {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) return otherwise;
            if (!v.isNumber()) throw wrongType(key, "a number", v);
            return v.doubleValue();
        }

        /** {@code object.name} where {@code path} is "parent.name", required, a number. */
        double doubleIn(JsonNode object, String path) throws CheckpointFormatException {
            JsonNode v = object.get(path.substring(path.lastIndexOf('.') + 1));
            if (v == null || v.isNull()) throw missing(path);
            if (!v.isNumber()) throw wrongType(path, "a number", v);
            return v.doubleValue();
        }

        int intIn(JsonNode object, String path) throws CheckpointFormatException {
            JsonNode v = object.get(path.substring(path.lastIndexOf('.') + 1));
            if (v == null || v.isNull()) throw missing(path);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw wrongType(path, "an integer", v);
            return v.intValue();
        }

        boolean optionalBoolean(String key, boolean otherwise) throws CheckpointFormatException {
            Boolean v = optionalBoolean(key);
            return v == null ? otherwise : v;
        }

        Boolean optionalBoolean(String key) throws CheckpointFormatException {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isBoolean()) throw wrongType(key, "true or false", v);
            return v.booleanValue();
        }

        String optionalString(String key) throws CheckpointFormatException {
            JsonNode v = root.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) throw wrongType(key, "a string", v);
            return v.textValue();
        }
    }
}
