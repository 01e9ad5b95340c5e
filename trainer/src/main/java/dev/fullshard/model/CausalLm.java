package dev.fullshard.model;

import dev.fullshard.model.Parameters.Names;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.GradMode;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * A decoder-only language model of the Llama family (Llama, Qwen2, Qwen3, Mistral), with an explicit
 * backward pass:
 *
 * <pre>
 * tokens (B,T) ─ Embedding ─ x (N,D) ─ Block 0 … Block L−1 ─ RmsNorm ─ h (N,D) ─ CrossEntropy(h·Wᵀ) ─ loss
 * </pre>
 *
 * (N = B·T rows in (b, t) order). The model owns no memory between calls: parameters and gradient
 * buffers come from outside (a loader, a random init, later the sharding layer) as {@link Parameters},
 * and each call frees everything it made except what it returns.
 *
 * <p><b>Dtypes.</b> Parameters may be stored in any float dtype (float32 master weights, say); the model
 * computes in {@link Options#computeDtype()}, converting each block's weights when it runs that block
 * (and again in its backward), so only one block's converted copy exists at a time. Gradients are added
 * into the caller's buffers in the buffers' dtype.
 *
 * <p><b>Activation checkpointing</b> per block: a checkpointed block keeps only its input in forward and
 * recomputes its forward at the start of its backward; the result is bitwise the same.
 *
 * <p><b>Targets</b> are already shifted: {@code targets[b,t]} is the token that position t should
 * predict, or −100 to ignore it. Hugging Face's {@code labels} (= input ids, shifted inside the model) turn
 * into targets with {@link #shiftLabels}.
 *
 * <p>libtorch's autograd is switched off on the calling thread for the duration of each call.
 */
public final class CausalLm {
    /**
     * How the model computes.
     *
     * @param computeDtype    dtype of weights and activations in the passes: F32, BF16, F16 (or F64 for tests)
     * @param checkpointed    which blocks (by layer index) recompute their forward in backward
     * @param lossChunkTokens tokens per chunk of the fused LM head + loss (see {@link CrossEntropy})
     * @param labelSmoothing  ε of the loss, in [0, 1]
     */
    public record Options(DType computeDtype, IntPredicate checkpointed, int lossChunkTokens, double labelSmoothing) {
        public Options {
            if (!computeDtype.isFloatingPoint()) throw new IllegalArgumentException("compute dtype must be floating point, got " + computeDtype);
            if (lossChunkTokens < 1) throw new IllegalArgumentException("lossChunkTokens must be at least 1, got " + lossChunkTokens);
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new IllegalArgumentException("labelSmoothing must be in [0, 1], got " + labelSmoothing);
        }

        /** float32, no checkpointing, {@link CrossEntropy#DEFAULT_CHUNK_TOKENS}, no label smoothing. */
        public static Options defaults() {
            return new Options(DType.F32, layer -> false, CrossEntropy.DEFAULT_CHUNK_TOKENS, 0.0);
        }

        public Options withComputeDtype(DType dtype) {
            return new Options(dtype, checkpointed, lossChunkTokens, labelSmoothing);
        }

        /** Checkpoint every block, or none. */
        public Options withCheckpointing(boolean all) {
            return withCheckpointing(layer -> all);
        }

        public Options withCheckpointing(IntPredicate which) {
            return new Options(computeDtype, which, lossChunkTokens, labelSmoothing);
        }

        public Options withLossChunkTokens(int tokens) {
            return new Options(computeDtype, checkpointed, tokens, labelSmoothing);
        }

        public Options withLabelSmoothing(double epsilon) {
            return new Options(computeDtype, checkpointed, lossChunkTokens, epsilon);
        }
    }

    /**
     * A loss value.
     *
     * @param value  sum / divisor: what was differentiated
     * @param sum    Σ of per-token losses over the counted tokens
     * @param tokens number of targets that were not −100
     */
    public record Loss(double value, double sum, long tokens) {
    }

    private final ModelConfig config;
    private final Parameters params;
    private final Options options;

    public CausalLm(Parameters params, Options options) {
        this.config = params.config();
        this.params = params;
        this.options = options;
    }

    public ModelConfig config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    public Options options() {
        return options;
    }

    // ================================================================ training

    /** Forward and backward of the mean loss over the counted targets; gradients are added into {@code grads}. */
    public Loss forwardBackward(Tensor tokens, Tensor targets, Parameters grads) {
        return forwardBackward(tokens, targets, grads, Double.NaN);
    }

    /**
     * Forward and backward of Σℓ / divisor (divisor NaN: the number of counted targets, i.e. the mean;
     * 1: the sum; the token count of an accumulated batch: this micro-batch's share of that batch's mean).
     * Gradients are ADDED into {@code grads} (zero them first for a fresh step).
     */
    public Loss forwardBackward(Tensor tokens, Tensor targets, Parameters grads, double divisor) {
        checkGradients(grads);
        long[] shape = checkInputs(tokens, targets);
        long batch = shape[0], seqLen = shape[1];
        long counted = CrossEntropy.countTargets(targets.toLongArray(), config.vocabSize());
        double div = Double.isNaN(divisor) ? counted : divisor;
        if (Double.isNaN(divisor) && counted == 0) {
            throw new IllegalArgumentException("every target is " + CrossEntropy.IGNORE_INDEX
                    + ": the mean loss is undefined; pass an explicit divisor to forwardBackward");
        }
        DType cd = options.computeDtype();
        int layers = config.numLayers();
        try (GradMode.Restore ignored = GradMode.set(false); TensorScope scope = TensorScope.open()) {
            Rotary.Tables rope = Rotary.tables(config, seqLen, cd);
            Tensor[] inputs = new Tensor[layers + 1];               // input of block i; inputs[L] feeds the final norm
            Block.Saved[] saved = new Block.Saved[layers];           // null for checkpointed blocks
            inputs[0] = Embedding.forward(tokens, params.get(Names.EMBED), cd);          // (N, D)
            for (int i = 0; i < layers; i++) {
                try (TensorScope block = TensorScope.open()) {
                    Block.Result r = Block.forward(inputs[i], batch, blockWeights(i, cd), rope, config);
                    if (!options.checkpointed().test(i)) {
                        r.saved().keep(block);
                        saved[i] = r.saved();
                    }
                    inputs[i + 1] = block.keep(r.output());
                }
            }
            // Final norm, then LM head and loss in chunks.
            Tensor normWeight = cast(params.get(Names.FINAL_NORM), cd);
            RmsNorm.Result fin = RmsNorm.forward(inputs[layers], normWeight, config.rmsNormEps()); // (N, D)
            Tensor head = cast(headWeight(), cd);                                                   // (V, D)
            CrossEntropy.Result ce = CrossEntropy.forwardBackward(fin.output(), head, targets.reshape(-1),
                    options.labelSmoothing(), options.lossChunkTokens(), div, headGradient(grads));
            if (head != headWeight()) head.close();                  // a converted copy, not the parameter
            fin.output().close();
            Tensor dx = RmsNorm.backward(ce.dHidden(), fin.saved(), normWeight, grads.get(Names.FINAL_NORM));
            ce.dHidden().close();
            fin.saved().close();
            inputs[layers].close();
            for (int i = layers - 1; i >= 0; i--) {
                try (TensorScope block = TensorScope.open()) {
                    Block.Params w = blockWeights(i, cd);
                    Block.Saved s = saved[i] != null ? saved[i] : Block.forward(inputs[i], batch, w, rope, config).saved();
                    Tensor dIn = Block.backward(dx, s, w, blockParams(grads, i), rope, config);
                    dx.close();
                    dx = block.keep(dIn);
                    if (saved[i] != null) saved[i].close();           // free each block's activations once used
                }
                if (i > 0) inputs[i].close();
            }
            Embedding.backward(dx, tokens, grads.get(Names.EMBED));
            return new Loss(ce.loss().sum() / div, ce.loss().sum(), counted);
        }
    }

    // ================================================================ inference

    /** The mean loss over the counted targets, forward only. */
    public Loss loss(Tensor tokens, Tensor targets) {
        long[] shape = checkInputs(tokens, targets);
        long counted = CrossEntropy.countTargets(targets.toLongArray(), config.vocabSize());
        try (GradMode.Restore ignored = GradMode.set(false); TensorScope scope = TensorScope.open()) {
            Tensor h = hidden(tokens, shape[0], shape[1]);
            CrossEntropy.Sum s = CrossEntropy.forward(h, cast(headWeight(), options.computeDtype()), targets.reshape(-1),
                    options.labelSmoothing(), options.lossChunkTokens());
            return new Loss(s.sum() / counted, s.sum(), counted);
        }
    }

    /**
     * Logits (B, T, V) for tokens (B, T), in float32 (float64 when computing in float64), as Hugging Face
     * returns them before its loss: computed in the compute dtype, then converted.
     */
    public Tensor logits(Tensor tokens) {
        if (tokens.dim() != 2 || tokens.dtype() != DType.I64) throw new IllegalArgumentException("tokens must be (B, T) int64, got " + tokens.describe());
        checkTokens(tokens);
        long batch = tokens.size(0), seqLen = tokens.size(1);
        DType out = options.computeDtype() == DType.F64 ? DType.F64 : DType.F32;
        try (GradMode.Restore ignored = GradMode.set(false); TensorScope scope = TensorScope.open()) {
            Tensor h = hidden(tokens, batch, seqLen);
            Tensor logits = Linear.forward(h, cast(headWeight(), options.computeDtype()), null);   // (N, V)
            if (logits.dtype() != out) logits = logits.to(out);
            return scope.keep(logits.view(batch, seqLen, config.vocabSize()));
        }
    }

    /** Final-norm hidden states (N, D) in the compute dtype, without keeping activations. */
    private Tensor hidden(Tensor tokens, long batch, long seqLen) {
        DType cd = options.computeDtype();
        try (TensorScope scope = TensorScope.open()) {
            Rotary.Tables rope = Rotary.tables(config, seqLen, cd);
            Tensor x = Embedding.forward(tokens, params.get(Names.EMBED), cd);
            for (int i = 0; i < config.numLayers(); i++) {
                try (TensorScope block = TensorScope.open()) {
                    Tensor out = Block.forward(x, batch, blockWeights(i, cd), rope, config).output();
                    x.close();
                    x = block.keep(out);
                }
            }
            return scope.keep(RmsNorm.forward(x, cast(params.get(Names.FINAL_NORM), cd), config.rmsNormEps()).output());
        }
    }

    /**
     * Hugging Face {@code labels} (B, T) to targets: targets[b,t] = labels[b,t+1], and −100 at the last
     * position, which has nothing to predict.
     */
    public static Tensor shiftLabels(Tensor labels) {
        if (labels.dim() != 2 || labels.dtype() != DType.I64) throw new IllegalArgumentException("labels must be (B, T) int64, got " + labels.describe());
        long b = labels.size(0), t = labels.size(1);
        long[] in = labels.toLongArray(), out = new long[in.length];
        for (int r = 0; r < b; r++) {
            for (int c = 0; c < t; c++) out[(int) (r * t + c)] = c + 1 < t ? in[(int) (r * t + c + 1)] : CrossEntropy.IGNORE_INDEX;
        }
        return Tensor.of(out, b, t);
    }

    // ================================================================ parameters by layer

    /** Block i's parameters in the compute dtype (converted copies where the stored dtype differs). */
    private Block.Params blockWeights(int i, DType dtype) {
        Block.Params p = blockParams(params, i);
        Attention.Params a = p.attention();
        return new Block.Params(cast(p.inputNorm(), dtype),
                new Attention.Params(cast(a.qProj(), dtype), cast(a.qBias(), dtype), cast(a.kProj(), dtype), cast(a.kBias(), dtype),
                        cast(a.vProj(), dtype), cast(a.vBias(), dtype), cast(a.oProj(), dtype), cast(a.oBias(), dtype),
                        cast(a.qNorm(), dtype), cast(a.kNorm(), dtype)),
                cast(p.postNorm(), dtype),
                new Mlp.Params(cast(p.mlp().gateProj(), dtype), cast(p.mlp().upProj(), dtype), cast(p.mlp().downProj(), dtype)));
    }

    /** Block i's tensors from {@code from} (parameters or gradient buffers), absent ones null. */
    static Block.Params blockParams(Parameters from, int i) {
        Names n = new Names(i);
        return new Block.Params(from.get(n.inputNorm()),
                new Attention.Params(from.get(n.q()), from.getOrNull(n.qBias()), from.get(n.k()), from.getOrNull(n.kBias()),
                        from.get(n.v()), from.getOrNull(n.vBias()), from.get(n.o()), from.getOrNull(n.oBias()),
                        from.getOrNull(n.qNorm()), from.getOrNull(n.kNorm())),
                from.get(n.postNorm()),
                new Mlp.Params(from.get(n.gate()), from.get(n.up()), from.get(n.down())));
    }

    /** The LM head: its own matrix, or the embedding matrix when the two are tied. */
    private Tensor headWeight() {
        return params.get(config.tieWordEmbeddings() ? Names.EMBED : Names.LM_HEAD);
    }

    /** Where the LM head's gradient goes: with tied embeddings, into the embedding's buffer as well. */
    private Tensor headGradient(Parameters grads) {
        return grads.get(config.tieWordEmbeddings() ? Names.EMBED : Names.LM_HEAD);
    }

    /** {@code t} itself when it already has {@code dtype}, else a converted copy (owned by the open scope). */
    private static Tensor cast(Tensor t, DType dtype) {
        if (t == null || t.dtype() == dtype) return t;
        return t.to(dtype);
    }

    // ================================================================ checks

    private long[] checkInputs(Tensor tokens, Tensor targets) {
        if (tokens.dim() != 2 || tokens.dtype() != DType.I64) throw new IllegalArgumentException("tokens must be (B, T) int64, got " + tokens.describe());
        if (targets.dtype() != DType.I64 || !Arrays.equals(targets.shape(), tokens.shape())) {
            throw new IllegalArgumentException("targets must be int64 of the tokens' shape " + Arrays.toString(tokens.shape()) + ", got " + targets.describe());
        }
        checkTokens(tokens);
        return tokens.shape();
    }

    private void checkTokens(Tensor tokens) {
        long[] ids = tokens.toLongArray();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + ids[i] + " at position " + i + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    private void checkGradients(Parameters grads) {
        if (grads == params) throw new IllegalArgumentException("gradient buffers must not be the parameters themselves");
        if (!grads.config().equals(config)) {
            // Parameters.of checked names and shapes against grads' own config; they must describe this model.
            Parameters.of(config, grads.asMap());
        }
    }
}
