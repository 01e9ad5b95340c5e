package dev.fullshard.model;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.Views;

import java.util.Map;

/**
 * The model's forward pass rebuilt from plain, differentiable ATen ops, following Hugging Face's
 * modeling code line by line (RMSNorm from pow/mean/rsqrt, attention as masked softmax of q·kᵀ with
 * repeat_kv by expand + reshape, cross-entropy from log_softmax and nll_loss), for libtorch's autograd
 * to differentiate. It shares no code with the model's layers except the rotary tables.
 */
final class AtenForward {
    private AtenForward() {
    }

    /** x·Wᵀ + b. */
    static Tensor linear(Tensor x, Tensor w, Tensor b) {
        Tensor y = Matmul.matmul(x, w.transpose(0, 1));
        return b == null ? y : Elementwise.add(y, b);
    }

    /** LlamaRMSNorm: w · x · rsqrt(mean(x²) + eps). */
    static Tensor rmsNorm(Tensor x, Tensor w, double eps) {
        Tensor variance = Reductions.mean(Elementwise.mul(x, x), true, -1);
        return Elementwise.mul(w, Elementwise.mul(x, Elementwise.rsqrt(Elementwise.add(variance, eps))));
    }

    /** apply_rotary_pos_emb for x (B, T, heads, hd) and tables (T, 1, hd). */
    static Tensor rotary(Tensor x, Rotary.Tables t) {
        long half = x.size(-1) / 2;
        Tensor rotated = Copies.cat(3, Elementwise.neg(x.narrow(3, half, half)), x.narrow(3, 0, half));
        return Elementwise.add(Elementwise.mul(x, t.cos()), Elementwise.mul(rotated, t.sin()));
    }

    /** Causal softmax attention, q (B,H,T,hd), k and v (B,KV,T,hd) -> (B,H,T,hd). */
    static Tensor attentionCore(Tensor q, Tensor k, Tensor v, int groups) {
        long b = k.size(0), kv = k.size(1), t = k.size(2), hd = k.size(3);
        // repeat_kv: (B,KV,T,hd) -> (B,KV,G,T,hd) -> (B,KV·G,T,hd)
        Tensor kr = Views.expand(Views.unsqueeze(k, 2), b, kv, groups, t, hd).reshape(b, kv * groups, t, hd);
        Tensor vr = Views.expand(Views.unsqueeze(v, 2), b, kv, groups, t, hd).reshape(b, kv * groups, t, hd);
        Tensor scores = Elementwise.mul(Matmul.matmul(q, kr.transpose(2, 3)), 1.0 / Math.sqrt(hd));
        boolean[] allowed = new boolean[(int) (t * t)];
        for (int i = 0; i < t; i++) for (int j = 0; j <= i; j++) allowed[(int) (i * t + j)] = true;
        Tensor masked = Elementwise.where(Tensor.of(allowed, t, t), scores, Tensor.scalar(Double.NEGATIVE_INFINITY));
        return Matmul.matmul(Layers.softmax(masked, -1), vr);
    }

    /** LlamaAttention / Qwen3Attention forward for x (B·T, D). */
    static Tensor attention(Tensor x, long batch, Attention.Params w, Rotary.Tables rope, ModelConfig c) {
        long n = x.size(0), t = n / batch;
        int h = c.numHeads(), kv = c.numKeyValueHeads(), hd = c.headDim();
        Tensor q = linear(x, w.qProj(), w.qBias()).view(batch, t, h, hd);
        Tensor k = linear(x, w.kProj(), w.kBias()).view(batch, t, kv, hd);
        Tensor v = linear(x, w.vProj(), w.vBias()).view(batch, t, kv, hd);
        if (c.queryKeyNorm()) {
            q = rmsNorm(q, w.qNorm(), c.rmsNormEps());
            k = rmsNorm(k, w.kNorm(), c.rmsNormEps());
        }
        q = rotary(q, rope).transpose(1, 2);
        k = rotary(k, rope).transpose(1, 2);
        Tensor o = attentionCore(q, k, v.transpose(1, 2), c.groupSize());      // (B,H,T,hd)
        return linear(o.transpose(1, 2).reshape(n, (long) h * hd), w.oProj(), w.oBias());
    }

    static Tensor mlp(Tensor x, Mlp.Params w) {
        return linear(Elementwise.mul(Elementwise.silu(linear(x, w.gateProj(), null)), linear(x, w.upProj(), null)), w.downProj(), null);
    }

    static Tensor block(Tensor x, long batch, Block.Params w, Rotary.Tables rope, ModelConfig c) {
        Tensor h = Elementwise.add(x, attention(rmsNorm(x, w.inputNorm(), c.rmsNormEps()), batch, w.attention(), rope, c));
        return Elementwise.add(h, mlp(rmsNorm(h, w.postNorm(), c.rmsNormEps()), w.mlp()));
    }

    /**
     * PyTorch's cross_entropy(logits, targets, ignore_index=-100, label_smoothing=ε, reduction='mean'):
     * (1−ε)·nll_mean + ε/V · Σ_counted(−Σ_v log p) / count.
     */
    static Tensor crossEntropy(Tensor logits, Tensor targets, double smoothing) {
        Tensor logp = Layers.logSoftmax(logits, 1);
        Tensor nll = Layers.nllLoss(logp, targets, Layers.Reduction.MEAN, -100).loss();
        if (smoothing == 0) return nll;
        long[] t = targets.toLongArray();
        double[] mask = new double[t.length];
        long count = 0;
        for (int i = 0; i < t.length; i++) if (t[i] != -100) {
            mask[i] = 1;
            count++;
        }
        Tensor smooth = Elementwise.neg(Reductions.sum(Elementwise.mul(Reductions.sum(logp, false, 1), Tensor.of(mask, t.length).to(logp.dtype()))));
        return Elementwise.add(Elementwise.mul(nll, 1 - smoothing), Elementwise.mul(smooth, smoothing / logits.size(1) / count));
    }

    /** The mean loss of the whole model; {@code p} maps Hugging Face names to (leaf) tensors. */
    static Tensor loss(ModelConfig c, Map<String, Tensor> p, Tensor tokens, Tensor targets, double smoothing) {
        DType dtype = p.get("model.embed_tokens.weight").dtype();
        long batch = tokens.size(0);
        Parameters named = Parameters.of(c, p);
        Rotary.Tables rope = Rotary.tables(c, tokens.size(1), dtype);
        Tensor x = Layers.embedding(p.get("model.embed_tokens.weight"), tokens.reshape(-1));
        for (int i = 0; i < c.numLayers(); i++) x = block(x, batch, CausalLm.blockParams(named.asMap(), i), rope, c);
        x = rmsNorm(x, p.get("model.norm.weight"), c.rmsNormEps());
        Tensor head = p.get(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        return crossEntropy(linear(x, head, null), targets.reshape(-1), smoothing);
    }
}
