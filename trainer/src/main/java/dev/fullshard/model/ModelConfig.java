package dev.fullshard.model;

/**
 * The shape of a decoder-only transformer of the Llama family, as Hugging Face's {@code config.json}
 * describes it (field names follow the JSON keys).
 *
 * @param architecture        which Hugging Face class the checkpoint is ({@code architectures[0]})
 * @param vocabSize           {@code vocab_size}
 * @param hiddenSize          {@code hidden_size}: the model width D
 * @param intermediateSize    {@code intermediate_size}: the MLP width F
 * @param numLayers           {@code num_hidden_layers}
 * @param numHeads            {@code num_attention_heads}: query heads H
 * @param numKeyValueHeads    {@code num_key_value_heads}: key/value heads (grouped-query attention when fewer than H)
 * @param headDim             {@code head_dim}, default D / H
 * @param rmsNormEps          {@code rms_norm_eps}
 * @param ropeTheta           {@code rope_theta}
 * @param ropeScaling         {@code rope_scaling} of type "llama3", or null
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 * @param tieWordEmbeddings   {@code tie_word_embeddings}: the LM head reuses the embedding matrix
 * @param attentionBias       q/k/v projections have biases (Qwen2; {@code attention_bias} for Llama)
 * @param queryKeyNorm        per-head RMSNorm of queries and keys before rotary embeddings (Qwen3)
 * @param slidingWindow       {@code sliding_window} (Mistral), or null for full causal attention
 * @param bosTokenId          {@code bos_token_id}, or -1
 * @param eosTokenId          {@code eos_token_id} (the first one when a list), or -1
 */
public record ModelConfig(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean queryKeyNorm,
        Integer slidingWindow,
        int bosTokenId,
        int eosTokenId) {

    /** The Hugging Face model classes fullshard supports. */
    public enum Architecture {
        LLAMA("LlamaForCausalLM", "llama"),
        QWEN2("Qwen2ForCausalLM", "qwen2"),
        QWEN3("Qwen3ForCausalLM", "qwen3"),
        MISTRAL("MistralForCausalLM", "mistral");

        private final String className;
        private final String modelType;

        Architecture(String className, String modelType) {
            this.className = className;
            this.modelType = modelType;
        }

        /** As in {@code architectures}, e.g. "LlamaForCausalLM". */
        public String className() {
            return className;
        }

        /** As in {@code model_type}, e.g. "llama". */
        public String modelType() {
            return modelType;
        }
    }

    /**
     * Llama 3.1's frequency-dependent RoPE scaling ({@code rope_scaling.rope_type == "llama3"}).
     *
     * @param factor                        {@code factor}
     * @param lowFreqFactor                 {@code low_freq_factor}
     * @param highFreqFactor                {@code high_freq_factor}
     * @param originalMaxPositionEmbeddings {@code original_max_position_embeddings}
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
    }

    public ModelConfig {
        if (numHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads ("
                    + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for rotary embeddings, got " + headDim);
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return numHeads / numKeyValueHeads;
    }
}
