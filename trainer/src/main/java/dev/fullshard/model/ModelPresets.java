package dev.fullshard.model;

import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelConfig.RopeScaling;

import java.util.Arrays;
import java.util.Locale;

/**
 * Model shapes for {@code fullshard init-model}, with the bundled 32,000-token vocabulary or another's:
 * {@code tiny} for tests and laptops, {@code 125m} (GPT-2-small-sized), {@code 1b} (Llama-3.2-1B's
 * shape) and {@code 8b} (Llama-3-8B's shape). Architecture-specific parts (biases, q/k norms,
 * sliding window) follow the architecture chosen.
 */
public enum ModelPresets {
    TINY(64, 176, 2, 4, 2, 10_000, null, 2048, false),
    M125("125m", 768, 2048, 12, 12, 4, 10_000, null, 2048, false),
    B1("1b", 2048, 8192, 16, 32, 8, 500_000, new RopeScaling(32, 1, 4, 8192), 131_072, true),
    B8("8b", 4096, 14_336, 32, 32, 8, 500_000, new RopeScaling(8, 1, 4, 8192), 131_072, false);

    /** The bundled tokenizer's vocabulary: {@code <unk>}=0, {@code <s>}=1, {@code </s>}=2. */
    public static final int VOCAB_SIZE = 32_000;

    private final String label;
    private final int hiddenSize, intermediateSize, numLayers, numHeads, numKeyValueHeads;
    private final double ropeTheta;
    private final RopeScaling ropeScaling;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;

    ModelPresets(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKeyValueHeads,
                 double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings, boolean tie) {
        this(null, hiddenSize, intermediateSize, numLayers, numHeads, numKeyValueHeads, ropeTheta, ropeScaling, maxPositionEmbeddings, tie);
    }

    ModelPresets(String label, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKeyValueHeads,
                 double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings, boolean tie) {
        this.label = label == null ? name().toLowerCase(Locale.ROOT) : label;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.numLayers = numLayers;
        this.numHeads = numHeads;
        this.numKeyValueHeads = numKeyValueHeads;
        this.ropeTheta = ropeTheta;
        this.ropeScaling = ropeScaling;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.tieWordEmbeddings = tie;
    }

    /** As typed on the command line: tiny, 125m, 1b, 8b. */
    public String label() {
        return label;
    }

    public static ModelPresets parse(String text) {
        for (ModelPresets p : values()) if (p.label.equalsIgnoreCase(text.strip())) return p;
        throw new IllegalArgumentException("unknown preset '" + text + "': expected one of "
                + Arrays.stream(values()).map(ModelPresets::label).toList());
    }

    public ModelConfig config(Architecture architecture) {
        return config(architecture, VOCAB_SIZE, 1, 2);
    }

    /** For a tokenizer of {@code vocabSize} ids, with these BOS (-1: none) and EOS ids. */
    public ModelConfig config(Architecture architecture, int vocabSize, int bosTokenId, int eosTokenId) {
        // Qwen2 always has q/k/v biases; Qwen3 normalises queries and keys per head; Mistral uses a
        // sliding window (as wide as the context here, so attention is plain causal).
        boolean bias = architecture == Architecture.QWEN2;
        boolean qkNorm = architecture == Architecture.QWEN3;
        Integer window = architecture == Architecture.MISTRAL ? maxPositionEmbeddings : null;
        RopeScaling scaling = architecture == Architecture.LLAMA ? ropeScaling : null;
        return new ModelConfig(architecture, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKeyValueHeads,
                hiddenSize / numHeads, 1e-5, ropeTheta, scaling, maxPositionEmbeddings, tieWordEmbeddings, bias, qkNorm,
                window, bosTokenId, eosTokenId);
    }
}
