package dev.fullshard.model;

import dev.fullshard.model.Parameters.Names;
import dev.fullshard.model.WeightAccess.Pass;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.GradMode;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
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
 * buffers come from outside, either whole as {@link Parameters} (a loader, a random init) or unit by unit
 * through a {@link WeightAccess} (the sharding layer, {@code dev.fullshard.shard.ShardedModel}), and each
 * call frees everything it made except what it returns.
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
     * @param device          where the weights are and the model computes; tokens and targets may be on the CPU
     */
    public record Options(DType computeDtype, IntPredicate checkpointed, int lossChunkTokens, double labelSmoothing, Device device) {
        public Options {
            if (!computeDtype.isFloatingPoint()) throw new IllegalArgumentException("compute dtype must be floating point, got " + computeDtype);
            if (lossChunkTokens < 1) throw new IllegalArgumentException("lossChunkTokens must be at least 1, got " + lossChunkTokens);
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new IllegalArgumentException("labelSmoothing must be in [0, 1], got " + labelSmoothing);
        }

        /** float32, no checkpointing, {@link CrossEntropy#DEFAULT_CHUNK_TOKENS}, no label smoothing, CPU. */
        public static Options defaults() {
            return new Options(DType.F32, layer -> false, CrossEntropy.DEFAULT_CHUNK_TOKENS, 0.0, Device.CPU);
        }

        public Options withComputeDtype(DType dtype) {
            return new Options(dtype, checkpointed, lossChunkTokens, labelSmoothing, device);
        }

        /** Checkpoint every block, or none. */
        public Options withCheckpointing(boolean all) {
            return withCheckpointing(layer -> all);
        }

        public Options withCheckpointing(IntPredicate which) {
            return new Options(computeDtype, which, lossChunkTokens, labelSmoothing, device);
        }

        public Options withLossChunkTokens(int tokens) {
            return new Options(computeDtype, checkpointed, tokens, labelSmoothing, device);
        }

        public Options withLabelSmoothing(double epsilon) {
            return new Options(computeDtype, checkpointed, lossChunkTokens, epsilon, device);
        }

        public Options withDevice(Device where) {
            return new Options(computeDtype, checkpointed, lossChunkTokens, labelSmoothing, where);
        }
    }

    /**
     * A loss value.
     *
     * @param value  sum / divisor: what was differentiated
     * @param sum    Σ of per-token losses over the counted tokens
     * @param tokens number of targets that were not −100
     * @param activationBytes bytes of activations a training forward held for its backward at their peak (0 forward only)
     */
    public record Loss(double value, double sum, long tokens, long activationBytes) {
    }

    private final ModelConfig config;
    private final Parameters params;
    private final WeightAccess weights;
    private final Options options;

    /** A model over whole-model tensors; gradients go into the buffers given to {@link #forwardBackward}. */
    public CausalLm(Parameters params, Options options) {
        this.config = params.config();
        this.params = params;
        this.weights = WeightAccess.of(params, null);
        this.options = options;
    }

    /** A model whose units come from {@code weights} (the sharding layer), gradients included. */
    public CausalLm(ModelConfig config, WeightAccess weights, Options options) {
        this.config = config;
        this.params = null;
        this.weights = weights;
        this.options = options;
    }

    public ModelConfig config() {
        return config;
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
     * Gradients are ADDED into {@code grads} (zero them first for a fresh step). Only for a model made
     * from {@link Parameters}.
     */
    public Loss forwardBackward(Tensor tokens, Tensor targets, Parameters grads, double divisor) {
        if (params == null) throw new IllegalStateException("this model's gradients go to its WeightAccess: use forwardBackward(tokens, targets, divisor)");
        checkGradients(grads);
        return forwardBackward(tokens, targets, WeightAccess.of(params, grads), divisor);
    }

    /** As {@link #forwardBackward(Tensor, Tensor, Parameters, double)}, adding the gradients into the {@link WeightAccess}'s buffers. */
    public Loss forwardBackward(Tensor tokens, Tensor targets, double divisor) {
        return forwardBackward(tokens, targets, weights, divisor);
    }

    private Loss forwardBackward(Tensor tokens, Tensor targets, WeightAccess w, double divisor) {
        long[] shape = checkInputs(tokens, targets);
        long batch = shape[0], seqLen = shape[1];
        long counted = CrossEntropy.countTargets(targets.toLongArray(), config.vocabSize());
        double div = Double.isNaN(divisor) ? counted : divisor;
        if (Double.isNaN(divisor) && counted == 0) {
            throw new IllegalArgumentException("every target is " + CrossEntropy.IGNORE_INDEX
                    + ": the mean loss is undefined; pass an explicit divisor to forwardBackward");
        }
        DType cd = options.computeDtype();
        int layers = config.numLayers(), head = ModelUnits.head(config);
        Pass fwd = Pass.FORWARD, bwd = Pass.BACKWARD;
        try (GradMode.Restore ignored = GradMode.set(false); TensorScope scope = TensorScope.open()) {
            tokens = onDevice(tokens);
            Rotary.Tables rope = Rotary.tables(config, seqLen, cd, options.device());
            Tensor[] inputs = new Tensor[layers + 1];               // input of block i; inputs[L] feeds the final norm
            Block.Saved[] saved = new Block.Saved[layers];           // null for checkpointed blocks
            inputs[0] = embed(tokens, w, fwd);                                            // (N, D)
            for (int i = 0; i < layers; i++) {
                int layer = i;
                try (TensorScope block = TensorScope.open()) {
                    Block.Result r = w.run(ModelUnits.block(i), fwd,
                            unit -> Block.forward(inputs[layer], batch, blockWeights(unit, layer, cd), rope, config));
                    if (!options.checkpointed().test(i)) {
                        r.saved().keep(block);
                        saved[i] = r.saved();
                    }
                    inputs[i + 1] = block.keep(r.output());
                }
            }
            long activationBytes = bytes(List.of(inputs));
            for (Block.Saved s : saved) if (s != null) activationBytes += bytes(s.made());
            // Final norm, then LM head and loss in chunks: the head's forward and backward in one go.
            HeadPass hp = w.run(head, bwd, headUnit -> withHeadWeight(w, headUnit, bwd, storedHead -> {
                Tensor headW = cast(storedHead, cd);                                             // (V, D)
                Tensor normWeight = cast(headUnit.get(Names.FINAL_NORM), cd);
                RmsNorm.Result fin = RmsNorm.forward(inputs[layers], normWeight, config.rmsNormEps()); // (N, D)
                Map<String, Tensor> headGrads = w.gradients(head);
                Tensor headGrad = config.tieWordEmbeddings() ? w.gradients(ModelUnits.EMBEDDING).get(Names.EMBED) : headGrads.get(Names.LM_HEAD);
                CrossEntropy.Result ce = CrossEntropy.forwardBackward(fin.output(), headW, targets.reshape(-1),
                        options.labelSmoothing(), options.lossChunkTokens(), div, headGrad);
                if (headW != storedHead) headW.close();              // a converted copy, not the parameter
                fin.output().close();
                Tensor dHidden = RmsNorm.backward(ce.dHidden(), fin.saved(), normWeight, headGrads.get(Names.FINAL_NORM));
                ce.dHidden().close();
                fin.saved().close();
                inputs[layers].close();
                return new HeadPass(dHidden, ce.loss().sum());
            }));
            w.gradientsDone(head);
            Tensor dx = hp.dHidden();
            for (int i = layers - 1; i >= 0; i--) {
                int layer = i;
                Tensor dOut = dx;
                try (TensorScope block = TensorScope.open()) {
                    Tensor dIn = w.run(ModelUnits.block(i), bwd, unit -> {
                        Block.Params p = blockWeights(unit, layer, cd);
                        Block.Saved s = saved[layer] != null ? saved[layer] : Block.forward(inputs[layer], batch, p, rope, config).saved();
                        return Block.backward(dOut, s, p, blockParams(w.gradients(ModelUnits.block(layer)), layer), rope, config);
                    });
                    w.gradientsDone(ModelUnits.block(i));
                    dx.close();
                    dx = block.keep(dIn);
                    if (saved[i] != null) saved[i].close();           // free each block's activations once used
                }
                if (i > 0) inputs[i].close();
            }
            Embedding.backward(dx, tokens, w.gradients(ModelUnits.EMBEDDING).get(Names.EMBED));
            w.gradientsDone(ModelUnits.EMBEDDING);
            return new Loss(hp.lossSum() / div, hp.lossSum(), counted, activationBytes);
        }
    }

    /** What the head's fused forward and backward hand on: the gradient of the final hidden states, and Σℓ. */
    private record HeadPass(Tensor dHidden, double lossSum) {
    }

    // ================================================================ inference

    /** The mean loss over the counted targets, forward only. */
    public Loss loss(Tensor tokens, Tensor targets) {
        long[] shape = checkInputs(tokens, targets);
        long counted = CrossEntropy.countTargets(targets.toLongArray(), config.vocabSize());
        try (GradMode.Restore ignored = GradMode.set(false); TensorScope scope = TensorScope.open()) {
            CrossEntropy.Sum s = finalHidden(tokens, shape[0], shape[1], (h, head) -> {
                CrossEntropy.Sum sum = CrossEntropy.forward(h, head, targets.reshape(-1), options.labelSmoothing(), options.lossChunkTokens());
                h.close();
                return sum;
            });
            return new Loss(s.sum() / counted, s.sum(), counted, 0);
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
            Tensor logits = finalHidden(tokens, batch, seqLen, (h, head) -> Linear.forward(h, head, null));   // (N, V)
            if (logits.dtype() != out) logits = logits.to(out);
            return scope.keep(logits.view(batch, seqLen, config.vocabSize()));
        }
    }

    /**
     * Runs the forward (no activations kept) up to the final norm and applies {@code head} to the hidden
     * states (N, D) and the LM head matrix (V, D), both in the compute dtype, while the head is acquired.
     */
    private <T> T finalHidden(Tensor tokens, long batch, long seqLen, BiFunction<Tensor, Tensor, T> headFunction) {
        // What this makes stays in the caller's scope, except the activations, freed block by block.
        DType cd = options.computeDtype();
        Pass inf = Pass.INFERENCE;
        int layers = config.numLayers(), head = ModelUnits.head(config);
        Rotary.Tables rope = Rotary.tables(config, seqLen, cd, options.device());
        Tensor x = embed(onDevice(tokens), weights, inf);
        for (int i = 0; i < layers; i++) {
            int layer = i;
            Tensor in = x;
            try (TensorScope block = TensorScope.open()) {
                Tensor out = weights.run(ModelUnits.block(i), inf,
                        unit -> Block.forward(in, batch, blockWeights(unit, layer, cd), rope, config).output());
                x.close();
                x = block.keep(out);
            }
        }
        Tensor last = x;
        return weights.run(head, inf, headUnit -> {
            Tensor h = RmsNorm.forward(last, cast(headUnit.get(Names.FINAL_NORM), cd), config.rmsNormEps()).output();
            last.close();
            return withHeadWeight(weights, headUnit, inf, stored -> headFunction.apply(h, cast(stored, cd)));
        });
    }

    /** Embedding lookup in the compute dtype, with the embedding unit acquired around it. */
    private Tensor embed(Tensor tokens, WeightAccess w, Pass pass) {
        return w.run(ModelUnits.EMBEDDING, pass, unit -> Embedding.forward(tokens, unit.get(Names.EMBED), options.computeDtype()));
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
    private static Block.Params blockWeights(Map<String, Tensor> unit, int i, DType dtype) {
        Block.Params p = blockParams(unit, i);
        Attention.Params a = p.attention();
        return new Block.Params(cast(p.inputNorm(), dtype),
                new Attention.Params(cast(a.qProj(), dtype), cast(a.qBias(), dtype), cast(a.kProj(), dtype), cast(a.kBias(), dtype),
                        cast(a.vProj(), dtype), cast(a.vBias(), dtype), cast(a.oProj(), dtype), cast(a.oBias(), dtype),
                        cast(a.qNorm(), dtype), cast(a.kNorm(), dtype)),
                cast(p.postNorm(), dtype),
                new Mlp.Params(cast(p.mlp().gateProj(), dtype), cast(p.mlp().upProj(), dtype), cast(p.mlp().downProj(), dtype)));
    }

    /** Block i's tensors from {@code from} (parameters or gradient buffers, by name), absent ones null. */
    static Block.Params blockParams(Map<String, Tensor> from, int i) {
        Names n = new Names(i);
        return new Block.Params(required(from, n.inputNorm()),
                new Attention.Params(required(from, n.q()), from.get(n.qBias()), required(from, n.k()), from.get(n.kBias()),
                        required(from, n.v()), from.get(n.vBias()), required(from, n.o()), from.get(n.oBias()),
                        from.get(n.qNorm()), from.get(n.kNorm())),
                required(from, n.postNorm()),
                new Mlp.Params(required(from, n.gate()), required(from, n.up()), required(from, n.down())));
    }

    private static Tensor required(Map<String, Tensor> from, String name) {
        Tensor t = from.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor " + name + " among " + from.keySet());
        return t;
    }

    /**
     * Runs {@code body} on the LM head matrix: its own matrix in the head unit, or the embedding matrix
     * (acquired around {@code body}) when the two are tied.
     */
    private <T> T withHeadWeight(WeightAccess w, Map<String, Tensor> headUnit, Pass pass, Function<Tensor, T> body) {
        if (!config.tieWordEmbeddings()) return body.apply(headUnit.get(Names.LM_HEAD));
        return w.run(ModelUnits.EMBEDDING, pass, embedding -> body.apply(embedding.get(Names.EMBED)));
    }

    /** {@code t} on the model's device: itself, or a copy in the open scope. */
    private Tensor onDevice(Tensor t) {
        return t.device().equals(options.device()) ? t : t.to(options.device());
    }

    private static long bytes(List<Tensor> tensors) {
        long n = 0;
        for (Tensor t : tensors) if (t != null && !t.isClosed()) n += t.numel() * t.dtype().byteSize();
        return n;
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
