package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The Hugging Face names and shapes of a model's weights, and the check that a checkpoint holds
 * exactly those. Shapes follow {@code torch.nn.Linear}: {@code [out_features, in_features]}.
 */
public final class WeightNames {
    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private WeightNames() {
    }

    /** "model.layers.{layer}.{suffix}", e.g. {@code layer(3, "mlp.up_proj.weight")}. */
    public static String layer(int layer, String suffix) {
        return "model.layers." + layer + "." + suffix;
    }

    /** One weight the model has. */
    public record Expected(String name, long[] shape) {
        public Expected {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /** Every weight of {@code config}'s model, in model order (embedding, layers, final norm, head). */
    public static List<Expected> expected(ModelConfig c) {
        long d = c.hiddenSize(), f = c.intermediateSize(), q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKeyValueHeads() * c.headDim();
        // transformers gives o_proj a bias along with q/k/v when attention_bias is set (Llama, Qwen3);
        // Qwen2's fixed biases are on q/k/v only.
        boolean outputBias = c.attentionBias() && c.architecture() != Architecture.QWEN2;
        List<Expected> out = new ArrayList<>();
        out.add(new Expected(EMBED_TOKENS, new long[] {c.vocabSize(), d}));
        for (int i = 0; i < c.numLayers(); i++) {
            out.add(new Expected(layer(i, "input_layernorm.weight"), new long[] {d}));
            out.add(new Expected(layer(i, "self_attn.q_proj.weight"), new long[] {q, d}));
            out.add(new Expected(layer(i, "self_attn.k_proj.weight"), new long[] {kv, d}));
            out.add(new Expected(layer(i, "self_attn.v_proj.weight"), new long[] {kv, d}));
            out.add(new Expected(layer(i, "self_attn.o_proj.weight"), new long[] {d, q}));
            if (c.attentionBias()) {
                out.add(new Expected(layer(i, "self_attn.q_proj.bias"), new long[] {q}));
                out.add(new Expected(layer(i, "self_attn.k_proj.bias"), new long[] {kv}));
                out.add(new Expected(layer(i, "self_attn.v_proj.bias"), new long[] {kv}));
            }
            if (outputBias) out.add(new Expected(layer(i, "self_attn.o_proj.bias"), new long[] {d}));
            if (c.queryKeyNorm()) {
                out.add(new Expected(layer(i, "self_attn.q_norm.weight"), new long[] {c.headDim()}));
                out.add(new Expected(layer(i, "self_attn.k_norm.weight"), new long[] {c.headDim()}));
            }
            out.add(new Expected(layer(i, "post_attention_layernorm.weight"), new long[] {d}));
            out.add(new Expected(layer(i, "mlp.gate_proj.weight"), new long[] {f, d}));
            out.add(new Expected(layer(i, "mlp.up_proj.weight"), new long[] {f, d}));
            out.add(new Expected(layer(i, "mlp.down_proj.weight"), new long[] {d, f}));
        }
        out.add(new Expected(FINAL_NORM, new long[] {d}));
        if (!c.tieWordEmbeddings()) out.add(new Expected(LM_HEAD, new long[] {c.vocabSize(), d}));
        return out;
    }

    /**
     * How a checkpoint's tensors differ from what the config expects; empty lists when they match.
     *
     * @param missing    expected names the checkpoint lacks
     * @param unexpected names the checkpoint has and the model does not
     * @param misshaped  "name: expected [..], found [..]" for names present with another shape
     */
    public record Comparison(List<String> missing, List<String> unexpected, List<String> misshaped) {
        public boolean matches() {
            return missing.isEmpty() && unexpected.isEmpty() && misshaped.isEmpty();
        }

        /** Every difference, one per line. */
        public String describe() {
            StringJoiner j = new StringJoiner("\n");
            if (!missing.isEmpty()) j.add(missing.size() + " missing:").add("  " + String.join("\n  ", missing));
            if (!unexpected.isEmpty()) j.add(unexpected.size() + " unexpected:").add("  " + String.join("\n  ", unexpected));
            if (!misshaped.isEmpty()) j.add(misshaped.size() + " with the wrong shape:").add("  " + String.join("\n  ", misshaped));
            return j.toString();
        }
    }

    /**
     * Compares {@code shapes} (name to shape, e.g. {@link CheckpointReader#shapes()}) with the model.
     * Two names are tolerated: {@code *.rotary_emb.inv_freq}, a buffer some older exports saved that is
     * recomputed from the config, and {@code lm_head.weight} with the right shape when the embedding is
     * tied (the model ignores it).
     */
    public static Comparison compare(ModelConfig config, Map<String, long[]> shapes) {
        Map<String, long[]> remaining = new LinkedHashMap<>(shapes);
        List<String> missing = new ArrayList<>(), misshaped = new ArrayList<>();
        for (Expected e : expected(config)) {
            long[] found = remaining.remove(e.name());
            if (found == null) missing.add(e.name());
            else if (!Arrays.equals(found, e.shape)) {
                misshaped.add(e.name() + ": expected " + Arrays.toString(e.shape) + ", found " + Arrays.toString(found));
            }
        }
        long[] head = remaining.get(LM_HEAD);
        if (config.tieWordEmbeddings() && head != null && Arrays.equals(head, new long[] {config.vocabSize(), config.hiddenSize()})) {
            remaining.remove(LM_HEAD);
        }
        remaining.keySet().removeIf(name -> name.endsWith(".rotary_emb.inv_freq"));
        return new Comparison(List.copyOf(missing), List.copyOf(remaining.keySet()), List.copyOf(misshaped));
    }

    /** Throws, listing every difference, unless {@code shapes} holds exactly the model's weights. */
    public static void check(ModelConfig config, Map<String, long[]> shapes, Path checkpoint) throws CheckpointFormatException {
        Comparison c = compare(config, shapes);
        if (!c.matches()) {
            throw new CheckpointFormatException(checkpoint, "the weights do not match the " + config.architecture().className() + " config ("
                    + config.numLayers() + " layers):\n" + c.describe());
        }
    }
}
