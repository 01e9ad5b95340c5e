package dev.fullshard.model;

import dev.fullshard.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * An independent forward pass of the Llama family in plain Java loops and double precision, written
 * from the Hugging Face / Meta reference definitions and sharing no code with the model: its own
 * RMSNorm, rotary embeddings (with Meta's Llama 3.1 {@code apply_scaling}), grouped-query causal
 * softmax attention, SwiGLU and LM head.
 */
final class NaiveLlama {
    private final ModelConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    NaiveLlama(ModelConfig c, Parameters p) {
        this.c = c;
        for (var e : p.asMap().entrySet()) w.put(e.getKey(), e.getValue().toDoubleArray());
    }

    /** logits[b][t][v] for tokens[b][t]. */
    double[][][] logits(long[][] tokens) {
        double[][][] out = new double[tokens.length][][];
        for (int b = 0; b < tokens.length; b++) out[b] = sequence(tokens[b]);
        return out;
    }

    private double[][] sequence(long[] tokens) {
        int t = tokens.length, d = c.hiddenSize(), v = c.vocabSize();
        double[][] x = new double[t][d];
        double[] embed = w.get("model.embed_tokens.weight");
        for (int i = 0; i < t; i++) System.arraycopy(embed, (int) tokens[i] * d, x[i], 0, d);
        for (int l = 0; l < c.numLayers(); l++) x = layer(l, x);
        double[] head = w.get(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        double[][] logits = new double[t][];
        for (int i = 0; i < t; i++) logits[i] = matVec(head, v, d, rmsNorm(x[i], w.get("model.norm.weight")), null);
        return logits;
    }

    private double[][] layer(int l, double[][] x) {
        String p = "model.layers." + l + ".";
        int t = x.length, d = c.hiddenSize(), h = c.numHeads(), kvHeads = c.numKeyValueHeads(), hd = c.headDim(), f = c.intermediateSize();
        double[][] q = new double[t][], k = new double[t][], v = new double[t][];
        for (int i = 0; i < t; i++) {
            double[] n = rmsNorm(x[i], w.get(p + "input_layernorm.weight"));
            q[i] = matVec(w.get(p + "self_attn.q_proj.weight"), h * hd, d, n, w.get(p + "self_attn.q_proj.bias"));
            k[i] = matVec(w.get(p + "self_attn.k_proj.weight"), kvHeads * hd, d, n, w.get(p + "self_attn.k_proj.bias"));
            v[i] = matVec(w.get(p + "self_attn.v_proj.weight"), kvHeads * hd, d, n, w.get(p + "self_attn.v_proj.bias"));
            if (c.queryKeyNorm()) {
                perHeadNorm(q[i], h, w.get(p + "self_attn.q_norm.weight"));
                perHeadNorm(k[i], kvHeads, w.get(p + "self_attn.k_norm.weight"));
            }
            rope(q[i], h, i);
            rope(k[i], kvHeads, i);
        }
        double[][] out = new double[t][];
        int group = h / kvHeads;
        for (int i = 0; i < t; i++) {
            double[] attn = new double[h * hd];
            for (int head = 0; head < h; head++) {
                int kvh = head / group;                           // query head h reads KV head h / G
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {                    // causal: positions up to i
                    double dot = 0;
                    for (int e = 0; e < hd; e++) dot += q[i][head * hd + e] * k[j][kvh * hd + e];
                    s[j] = dot / Math.sqrt(hd);
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= i; j++) z += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j <= i; j++) for (int e = 0; e < hd; e++) attn[head * hd + e] += s[j] / z * v[j][kvh * hd + e];
            }
            double[] o = matVec(w.get(p + "self_attn.o_proj.weight"), d, h * hd, attn, w.get(p + "self_attn.o_proj.bias"));
            double[] hres = new double[d];
            for (int e = 0; e < d; e++) hres[e] = x[i][e] + o[e];
            double[] n2 = rmsNorm(hres, w.get(p + "post_attention_layernorm.weight"));
            double[] gate = matVec(w.get(p + "mlp.gate_proj.weight"), f, d, n2, null);
            double[] up = matVec(w.get(p + "mlp.up_proj.weight"), f, d, n2, null);
            double[] mid = new double[f];
            for (int e = 0; e < f; e++) mid[e] = gate[e] / (1 + Math.exp(-gate[e])) * up[e];
            double[] down = matVec(w.get(p + "mlp.down_proj.weight"), d, f, mid, null);
            out[i] = new double[d];
            for (int e = 0; e < d; e++) out[i][e] = hres[e] + down[e];
        }
        return out;
    }

    /** W (rows × cols, row-major) · x + b. */
    private static double[] matVec(double[] wt, int rows, int cols, double[] x, double[] bias) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = bias == null ? 0 : bias[r];
            for (int j = 0; j < cols; j++) s += wt[r * cols + j] * x[j];
            y[r] = s;
        }
        return y;
    }

    private double[] rmsNorm(double[] x, double[] weight) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = weight[i] * x[i] * r;
        return y;
    }

    private void perHeadNorm(double[] x, int heads, double[] weight) {
        int hd = c.headDim();
        for (int head = 0; head < heads; head++) {
            double[] part = new double[hd];
            System.arraycopy(x, head * hd, part, 0, hd);
            System.arraycopy(rmsNorm(part, weight), 0, x, head * hd, hd);
        }
    }

    /** Rotates pairs (e, e + hd/2) of every head by position·frequency(e). */
    private void rope(double[] x, int heads, int position) {
        int hd = c.headDim(), half = hd / 2;
        for (int head = 0; head < heads; head++) {
            for (int e = 0; e < half; e++) {
                double angle = position * frequency(c, e), cos = Math.cos(angle), sin = Math.sin(angle);
                double a = x[head * hd + e], b = x[head * hd + e + half];
                x[head * hd + e] = a * cos - b * sin;
                x[head * hd + e + half] = b * cos + a * sin;
            }
        }
    }

    /** θ^(−2e/hd), then Meta's Llama 3.1 apply_scaling when rope_scaling is set. */
    static double frequency(ModelConfig c, int e) {
        double freq = Math.pow(c.ropeTheta(), -2.0 * e / c.headDim());
        ModelConfig.RopeScaling s = c.ropeScaling();
        if (s == null) return freq;
        double oldContextLen = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContextLen / s.lowFreqFactor(), highFreqWavelen = oldContextLen / s.highFreqFactor();
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) return freq;
        if (wavelen > lowFreqWavelen) return freq / s.factor();
        double smooth = (oldContextLen / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }

    static long[][] rows(Tensor tokens) {
        long[] flat = tokens.toLongArray();
        int b = (int) tokens.size(0), t = (int) tokens.size(1);
        long[][] out = new long[b][t];
        for (int i = 0; i < b; i++) System.arraycopy(flat, i * t, out[i], 0, t);
        return out;
    }
}
