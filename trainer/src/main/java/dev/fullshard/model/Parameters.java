package dev.fullshard.model;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of a model by their Hugging Face names ({@code model.layers.3.self_attn.q_proj.weight}),
 * checked against a {@link ModelConfig}: every expected name present, no other, each with its shape.
 * The same class holds gradients: one buffer per parameter, same names and shapes.
 *
 * <p>Ownership: a {@code Parameters} only refers to tensors; it never closes them. Whoever made them
 * owns them (the {@code TensorScope} open when {@link #random}/{@link #zeros} ran, a checkpoint
 * loader, later the sharding layer). Tensors may have any floating dtype; the model converts to its
 * compute dtype where it uses them.
 */
public final class Parameters {
    private final ModelConfig config;
    private final Map<String, Tensor> tensors;

    private Parameters(ModelConfig config, Map<String, Tensor> tensors) {
        this.config = config;
        this.tensors = tensors;
    }

    /**
     * Wraps {@code tensors} after checking them against the names and shapes {@link #shapes} expects;
     * the error lists every missing, unexpected and misshapen tensor.
     */
    public static Parameters of(ModelConfig config, Map<String, Tensor> tensors) {
        Map<String, long[]> expected = shapes(config);
        List<String> problems = new ArrayList<>();
        for (var e : expected.entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null) problems.add("missing " + e.getKey() + " " + Arrays.toString(e.getValue()));
            else if (!Arrays.equals(t.shape(), e.getValue())) {
                problems.add(e.getKey() + " is " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            } else if (!t.dtype().isFloatingPoint()) problems.add(e.getKey() + " is " + t.dtype() + ", expected a floating dtype");
        }
        for (String name : new TreeSet<>(tensors.keySet())) if (!expected.containsKey(name)) problems.add("unexpected " + name);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("tensors do not match the " + config.architecture().className() + " config ("
                    + problems.size() + " problems): " + String.join("; ", problems));
        }
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        for (String name : expected.keySet()) ordered.put(name, tensors.get(name));
        return new Parameters(config, Collections.unmodifiableMap(ordered));
    }

    /**
     * Every parameter of the model in Hugging Face order, with its shape (D hidden, F intermediate,
     * H query heads, KV key/value heads, hd head dim, V vocabulary).
     */
    public static Map<String, long[]> shapes(ModelConfig c) {
        long d = c.hiddenSize(), f = c.intermediateSize(), hd = c.headDim(), q = (long) c.numHeads() * hd,
                kv = (long) c.numKeyValueHeads() * hd, v = c.vocabSize();
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put(Names.EMBED, new long[]{v, d});
        for (int i = 0; i < c.numLayers(); i++) {
            Names n = new Names(i);
            s.put(n.inputNorm(), new long[]{d});
            s.put(n.q(), new long[]{q, d});
            if (c.attentionBias()) s.put(n.qBias(), new long[]{q});
            s.put(n.k(), new long[]{kv, d});
            if (c.attentionBias()) s.put(n.kBias(), new long[]{kv});
            s.put(n.v(), new long[]{kv, d});
            if (c.attentionBias()) s.put(n.vBias(), new long[]{kv});
            s.put(n.o(), new long[]{d, q});
            if (hasOutputBias(c)) s.put(n.oBias(), new long[]{d});
            if (c.queryKeyNorm()) {
                s.put(n.qNorm(), new long[]{hd});
                s.put(n.kNorm(), new long[]{hd});
            }
            s.put(n.postNorm(), new long[]{d});
            s.put(n.gate(), new long[]{f, d});
            s.put(n.up(), new long[]{f, d});
            s.put(n.down(), new long[]{d, f});
        }
        s.put(Names.FINAL_NORM, new long[]{d});
        if (!c.tieWordEmbeddings()) s.put(Names.LM_HEAD, new long[]{v, d});
        return s;
    }

    /**
     * Whether o_proj has a bias. Hugging Face's Llama and Qwen3 give o_proj a bias exactly when
     * {@code attention_bias} is set (like q/k/v); Qwen2 has q/k/v biases but never one on o_proj;
     * Mistral has no attention biases.
     */
    static boolean hasOutputBias(ModelConfig c) {
        return c.attentionBias() && (c.architecture() == ModelConfig.Architecture.LLAMA || c.architecture() == ModelConfig.Architecture.QWEN3);
    }

    /**
     * Fresh parameters as Hugging Face initialises these models: weights normal(0, 0.02), norm
     * weights 1, biases 0, drawn from {@code seed} (each tensor from its own seed derived from it).
     */
    public static Parameters random(ModelConfig config, long seed, DType dtype) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        int index = 0;
        for (var e : shapes(config).entrySet()) t.put(e.getKey(), initial(e.getKey(), e.getValue(), seed, index++, dtype));
        return of(config, t);
    }

    /**
     * The {@code index}-th parameter ({@code name}, {@code shape}) as {@link #random} makes it, on its
     * own: each parameter has its own seed derived from {@code seed} and its index, so a writer can
     * produce them one at a time, in any order, with the same result.
     */
    public static Tensor initial(String name, long[] shape, long seed, int index, DType dtype) {
        if (name.endsWith("norm.weight")) return Tensor.full(1.0, dtype, Device.CPU, shape);
        if (name.endsWith(".bias")) return Tensor.zeros(dtype, Device.CPU, shape);
        try (Tensor unit = Tensor.randn(seed * 1_000_003L + index, DType.F64, Device.CPU, shape); Tensor scaled = Elementwise.mul(unit, 0.02)) {
            return scaled.to(dtype);
        }
    }

    /** Zero tensors of every parameter's shape: gradient buffers, for example. */
    public static Parameters zeros(ModelConfig config, DType dtype) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : shapes(config).entrySet()) t.put(e.getKey(), Tensor.zeros(dtype, Device.CPU, e.getValue()));
        return of(config, t);
    }

    public ModelConfig config() {
        return config;
    }

    /** The tensor called {@code name}; throws when this model has no such parameter. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no parameter " + name + " in this " + config.architecture().className());
        return t;
    }

    /** The tensor called {@code name}, or null when this config has none (an optional bias or norm). */
    Tensor getOrNull(String name) {
        return tensors.get(name);
    }

    /** Names in Hugging Face order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** Name to tensor, in Hugging Face order (unmodifiable). */
    public Map<String, Tensor> asMap() {
        return tensors;
    }

    /** Sets every tensor to zero (e.g. gradient buffers before a step). */
    public void zero() {
        for (Tensor t : tensors.values()) Copies.zero(t);
    }

    /** Total number of elements. */
    public long numel() {
        long n = 0;
        for (Tensor t : tensors.values()) n += t.numel();
        return n;
    }

    /** The Hugging Face names of the tensors of one decoder layer. */
    record Names(int layer) {
        static final String EMBED = "model.embed_tokens.weight";
        static final String FINAL_NORM = "model.norm.weight";
        static final String LM_HEAD = "lm_head.weight";

        private String p(String rest) {
            return "model.layers." + layer + "." + rest;
        }

        String inputNorm() { return p("input_layernorm.weight"); }
        String q() { return p("self_attn.q_proj.weight"); }
        String qBias() { return p("self_attn.q_proj.bias"); }
        String k() { return p("self_attn.k_proj.weight"); }
        String kBias() { return p("self_attn.k_proj.bias"); }
        String v() { return p("self_attn.v_proj.weight"); }
        String vBias() { return p("self_attn.v_proj.bias"); }
        String o() { return p("self_attn.o_proj.weight"); }
        String oBias() { return p("self_attn.o_proj.bias"); }
        String qNorm() { return p("self_attn.q_norm.weight"); }
        String kNorm() { return p("self_attn.k_norm.weight"); }
        String postNorm() { return p("post_attention_layernorm.weight"); }
        String gate() { return p("mlp.gate_proj.weight"); }
        String up() { return p("mlp.up_proj.weight"); }
        String down() { return p("mlp.down_proj.weight"); }
    }
}
