package dev.fullshard.io;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fullshard.config.Key;
import dev.fullshard.config.ValueType;
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

    private static final double INITIALIZER_RANGE = 0.02;

    // The keys read, with transformers' defaults (the same for all four classes) where a key may be absent.
    private static final Key<String> HIDDEN_ACT = Key.of("hidden_act", ValueType.STRING, null, "the MLP's activation");
    private static final Key<Boolean> MLP_BIAS = Key.of("mlp_bias", ValueType.BOOLEAN, false, "Llama MLP biases");
    private static final Key<Integer> HIDDEN_SIZE = positiveInt("hidden_size", "width of the residual stream");
    private static final Key<Integer> NUM_HEADS = positiveInt("num_attention_heads", "query heads");
    private static final Key<Integer> NUM_KV_HEADS = optionalPositiveInt("num_key_value_heads", "key/value heads; default: num_attention_heads");
    private static final Key<Integer> HEAD_DIM = optionalPositiveInt("head_dim", "default: hidden_size / num_attention_heads");
    private static final Key<Double> ROPE_THETA = Key.of("rope_theta", ValueType.NUMBER, 10000.0, "RoPE base");
    private static final Key<Boolean> ATTENTION_BIAS = Key.of("attention_bias", ValueType.BOOLEAN, false, "q/k/v/o biases");
    private static final Key<Integer> SLIDING_WINDOW = optionalPositiveInt("sliding_window", "Mistral's attention window");
    private static final Key<Boolean> USE_SLIDING_WINDOW = Key.of("use_sliding_window", ValueType.BOOLEAN, false,
            "Qwen's per-layer sliding window");
    private static final Key<Integer> VOCAB_SIZE = positiveInt("vocab_size", "tokens in the vocabulary");
    private static final Key<Integer> INTERMEDIATE_SIZE = positiveInt("intermediate_size", "width of the MLP");
    private static final Key<Integer> NUM_LAYERS = positiveInt("num_hidden_layers", "decoder blocks");
    private static final Key<Double> RMS_NORM_EPS = Key.required("rms_norm_eps", ValueType.NUMBER, "RMSNorm epsilon")
            .allowing(v -> v > 0, "a positive number");
    private static final Key<Integer> MAX_POSITIONS = positiveInt("max_position_embeddings", "longest sequence");
    private static final Key<Boolean> TIE_WORD_EMBEDDINGS = Key.of("tie_word_embeddings", ValueType.BOOLEAN, false,
            "the LM head shares the embedding's weights");
    // Inside rope_scaling or rope_parameters.
    private static final Key<Double> ROPE_THETA_IN_PARAMETERS = Key.required("rope_theta", ValueType.NUMBER, "RoPE base");
    private static final Key<Double> FACTOR = Key.required("factor", ValueType.NUMBER, "llama3 RoPE scaling factor");
    private static final Key<Double> LOW_FREQ_FACTOR = Key.required("low_freq_factor", ValueType.NUMBER, "llama3 RoPE scaling");
    private static final Key<Double> HIGH_FREQ_FACTOR = Key.required("high_freq_factor", ValueType.NUMBER, "llama3 RoPE scaling");
    private static final Key<Integer> ORIGINAL_MAX_POSITIONS = Key.required("original_max_position_embeddings", ValueType.INT,
            "llama3 RoPE scaling");

    private HfConfig() {
    }

    private static Key<Integer> positiveInt(String name, String doc) {
        return Key.required(name, ValueType.INT, doc).allowing(v -> v > 0, "a positive integer");
    }

    private static Key<Integer> optionalPositiveInt(String name, String doc) {
        return Key.of(name, ValueType.INT, null, doc).allowing(v -> v > 0, "a positive integer");
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
        String hiddenAct = keys.get(HIDDEN_ACT);
        if (hiddenAct != null && !hiddenAct.equals("silu")) {
            throw keys.error("hidden_act is \"" + hiddenAct + "\"; fullshard's " + architecture.className() + " supports only \"silu\"");
        }
        if (architecture == Architecture.LLAMA && keys.get(MLP_BIAS)) {
            throw keys.error("mlp_bias is true; fullshard supports only MLPs without biases");
        }

        int hiddenSize = keys.get(HIDDEN_SIZE);
        int numHeads = keys.get(NUM_HEADS);
        Integer kvHeads = keys.get(NUM_KV_HEADS);
        Integer headDim = keys.get(HEAD_DIM);
        if (headDim == null) {
            if (hiddenSize % numHeads != 0) {
                throw keys.error("hidden_size (" + hiddenSize + ") is not a multiple of num_attention_heads (" + numHeads
                        + ") and there is no head_dim");
            }
            headDim = hiddenSize / numHeads;
        }

        JsonNode ropeParameters = keys.node("rope_parameters");
        double ropeTheta = ropeParameters != null && ropeParameters.has("rope_theta")
                ? keys.get(ropeParameters, "rope_parameters", ROPE_THETA_IN_PARAMETERS)
                : keys.get(ROPE_THETA);
        RopeScaling ropeScaling = ropeScaling(keys, ropeParameters != null ? "rope_parameters" : "rope_scaling");

        boolean attentionBias = switch (architecture) {
            case QWEN2 -> true;
            case MISTRAL -> false;
            case LLAMA, QWEN3 -> keys.get(ATTENTION_BIAS);
        };
        Integer slidingWindow = switch (architecture) {
            case MISTRAL -> keys.get(SLIDING_WINDOW);
            case QWEN2, QWEN3 -> {
                if (keys.get(USE_SLIDING_WINDOW)) {
                    throw keys.error("use_sliding_window is true; fullshard does not support Qwen's per-layer sliding window"
                            + " (max_window_layers), only full causal attention");
                }
                yield null;
            }
            case LLAMA -> null;
        };

        try {
            return new ModelConfig(architecture,
                    keys.get(VOCAB_SIZE), hiddenSize, keys.get(INTERMEDIATE_SIZE),
                    keys.get(NUM_LAYERS), numHeads, kvHeads == null ? numHeads : kvHeads, headDim,
                    keys.get(RMS_NORM_EPS), ropeTheta, ropeScaling, keys.get(MAX_POSITIONS),
                    keys.get(TIE_WORD_EMBEDDINGS), attentionBias, architecture == Architecture.QWEN3,
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
        return new RopeScaling(keys.get(node, key, FACTOR), keys.get(node, key, LOW_FREQ_FACTOR),
                keys.get(node, key, HIGH_FREQ_FACTOR), keys.get(node, key, ORIGINAL_MAX_POSITIONS));
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

    /**
     * Copies {@code transformers_version} from the config.json in {@code source} into the one in {@code dir},
     * when the source has one. transformers 5 checks a tokenizer whose model config lacks it (or is older than
     * 5.0) for an old Mistral pre-tokenizer bug, and warns falsely on every large-vocabulary export (Llama 3,
     * Qwen). The export's tokenizer files are the source's, unchanged, so the source's version is the true one.
     */
    public static void keepTransformersVersion(Path source, Path dir) throws IOException {
        JsonNode version = Json.MAPPER.readTree(source.resolve(FILE_NAME).toFile()).get("transformers_version");
        if (version == null || !version.isTextual()) return;
        Path file = dir.resolve(FILE_NAME);
        Map<String, Object> json = new TreeMap<>(Json.MAPPER.readValue(file.toFile(), new TypeReference<Map<String, Object>>() {
        }));
        json.put("transformers_version", version.asText());
        AtomicFile.write(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(json));
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

        /** A top-level key's value, as its declaration types and checks it. */
        <T> T get(Key<T> key) throws CheckpointFormatException {
            return get(root, "", key);
        }

        /** The value of {@code key} inside {@code object}, which is the value of {@code parent} ("" for the top level). */
        <T> T get(JsonNode object, String parent, Key<T> key) throws CheckpointFormatException {
            String name = parent.isEmpty() ? key.name() : parent + "." + key.name();
            JsonNode v = object.get(key.name());
            if (v == null || v.isNull()) {
                if (key.required()) throw missing(name);
                return key.defaultValue();
            }
            T value = key.parse(v.asToken(), v.asText());
            if (value == null) throw wrongType(name, key.expected(), v);
            return value;
        }
    }
}
