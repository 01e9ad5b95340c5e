package dev.fullshard.model;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

/**
 * The LM head and token-level cross-entropy, fused and computed over chunks of tokens so that the full
 * (tokens × vocabulary) logits never exist at once. For each chunk of c rows: logits = h·Wᵀ, log-softmax,
 * the loss, and at once the gradient with respect to h and W; nothing vocabulary-sized outlives the chunk.
 *
 * <p>Loss (PyTorch's {@code cross_entropy(ignore_index=-100, label_smoothing=ε)}): over the tokens whose
 * target is not −100, ℓ = (1−ε)·(−log p[target]) + ε·mean_v(−log p[v]). {@link #forwardBackward} returns
 * Σℓ and the token count and differentiates Σℓ / divisor: divisor = count gives PyTorch's mean, 1 the sum,
 * and the token count of a whole accumulated batch makes micro-batches add up to that batch's mean.
 * With p = softmax(logits) and m = 1 for counted tokens, 0 for ignored ones:
 * ∂/∂logits[i,v] = m_i/divisor · (p[i,v] − (1−ε)·[v = target_i] − ε/V). Since an ignored row (m = 0) adds
 * nothing, only the counted rows are gathered and go through the head; the others get a zero gradient.
 *
 * <p>Logits are computed in the compute dtype (as Hugging Face's lm_head) and the loss in float32
 * (float64 when computing in float64), as Hugging Face upcasts logits before its loss.
 *
 * <p><b>Memory.</b> For vocabulary V = 128,256 and 2,048 tokens, whole logits take 2048·128256·4 B =
 * 1.05 GB in float32 and 0.53 GB in bfloat16; with their gradient (same size) 2.10 GB in float32 and
 * 1.05 GB in bfloat16 (Hugging Face's loss also upcasts bfloat16 logits to float32 on top). Here at most
 * two float32 (c, V) buffers are alive at once (the logits and their log-softmax; the gradient is then
 * built in place of the log-softmax), 8·c·V bytes whatever the sequence length: 263 MB for the default
 * c = 256, so chunking saves 1.84 GB against float32 and 0.79 GB against bfloat16 logits + gradient at
 * 2,048 tokens (and grows with the tokens per micro-batch). Not saved: the weight gradient of each chunk
 * is one (V, D) product added into the caller's buffer, a weight-sized temporary (see {@link Linear}).
 */
public final class CrossEntropy {
    private CrossEntropy() {
    }

    /** Targets with this value count for nothing (PyTorch's default ignore_index). */
    public static final long IGNORE_INDEX = -100;
    /** Tokens per chunk unless told otherwise; see the memory note above. */
    public static final int DEFAULT_CHUNK_TOKENS = 256;

    /** Σ of the per-token losses over the counted tokens, and how many tokens counted. */
    public record Sum(double sum, long tokens) {
    }

    /** The loss and dL/dh (N, D) for L = Σℓ / divisor. */
    public record Result(Sum loss, Tensor dHidden) {
    }

    /** Loss only: hidden (N, D), head (V, D), targets (N) int64. */
    public static Sum forward(Tensor hidden, Tensor head, Tensor targets, double smoothing, int chunkTokens) {
        return run(hidden, head, targets, smoothing, chunkTokens, Double.NaN, null, false).loss();
    }

    /**
     * Loss and gradients of Σℓ / divisor: returns dL/dh (N, D) in hidden's dtype and adds dL/dW (V, D) into
     * {@code dHead} (any float dtype).
     */
    public static Result forwardBackward(Tensor hidden, Tensor head, Tensor targets, double smoothing, int chunkTokens,
                                         double divisor, Tensor dHead) {
        if (!(divisor > 0) || Double.isInfinite(divisor)) throw new IllegalArgumentException("loss divisor must be positive and finite, got " + divisor);
        return run(hidden, head, targets, smoothing, chunkTokens, divisor, dHead, true);
    }

    /** Number of targets that are not {@link #IGNORE_INDEX}; throws on a target outside [0, vocab). */
    public static long countTargets(long[] targets, long vocab) {
        long n = 0;
        for (int i = 0; i < targets.length; i++) {
            long t = targets[i];
            if (t == IGNORE_INDEX) continue;
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("target " + t + " at position " + i + " is outside the vocabulary [0, " + vocab
                        + ") and is not the ignore index " + IGNORE_INDEX);
            }
            n++;
        }
        return n;
    }

    private static Result run(Tensor hidden, Tensor head, Tensor targets, double smoothing, int chunkTokens, double divisor,
                              Tensor dHead, boolean backward) {
        long n = hidden.size(0), vocab = head.size(0);
        if (hidden.dim() != 2 || head.dim() != 2 || hidden.size(1) != head.size(1) || targets.dim() != 1 || targets.size(0) != n) {
            throw new IllegalArgumentException("cross-entropy needs hidden (N, D), head (V, D) and targets (N), got "
                    + hidden.describe() + ", " + head.describe() + ", " + targets.describe());
        }
        if (!(smoothing >= 0 && smoothing <= 1)) throw new IllegalArgumentException("label smoothing must be in [0, 1], got " + smoothing);
        if (chunkTokens < 1) throw new IllegalArgumentException("chunk size must be at least 1 token, got " + chunkTokens);
        long[] all = targets.toLongArray();
        int counted = (int) countTargets(all, vocab);
        // An ignored row adds nothing to the loss and gets a zero gradient, so only the counted rows go
        // through the head: in fine-tuning data most tokens are prompt, and the (rows × V) work is most
        // of a small model's step.
        long[] rows = new long[counted], kept = new long[counted];
        for (int i = 0, k = 0; i < n; i++) {
            if (all[i] == IGNORE_INDEX) continue;
            rows[k] = i;
            kept[k++] = all[i];
        }
        DType lossDtype = hidden.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Device device = hidden.device();
        try (TensorScope scope = TensorScope.open()) {
            Tensor dHidden = backward ? Tensor.zeros(hidden.dtype(), device, n, hidden.size(1)) : null;
            if (counted == 0) return new Result(new Sum(0, 0), dHidden == null ? null : scope.keep(dHidden));
            // Per-row constants go to the device once per call and the sums stay there until the end:
            // on a GPU each host read or copy waits for all queued work, so none happens per chunk.
            Tensor rowsOnDevice = onDevice(Tensor.of(rows, counted), device);
            Tensor compact = counted == n ? hidden : Layers.indexSelect(hidden, 0, rowsOnDevice);        // (K, D)
            Tensor keptTargets = onDevice(Tensor.of(kept, counted), device);                       // (K)
            long[] chunkRows = new long[Math.min(chunkTokens, counted)];
            for (int i = 0; i < chunkRows.length; i++) chunkRows[i] = i;
            Tensor chunkIndex = backward ? onDevice(Tensor.of(chunkRows, chunkRows.length), device) : null;
            Tensor hit = backward ? Tensor.full(-(1 - smoothing) / divisor, lossDtype, device, chunkRows.length) : null;
            Tensor scale = backward ? Tensor.scalar(1 / divisor) : null;
            Tensor nllSum = Tensor.zeros(lossDtype, device), smoothSum = Tensor.zeros(lossDtype, device);
            Tensor dCompact = backward ? Tensor.empty(hidden.dtype(), device, counted, hidden.size(1)) : null;
            for (int start = 0; start < counted; start += chunkTokens) {
                int c = Math.min(chunkTokens, counted - start);
                try (TensorScope chunk = TensorScope.open()) {
                    Tensor h = compact.narrow(0, start, c);                                   // (c, D)
                    Tensor t = keptTargets.narrow(0, start, c);                               // (c)
                    Tensor logits = Linear.forward(h, head, null);                           // (c, V) compute dtype
                    if (logits.dtype() != lossDtype) {
                        Tensor upcast = logits.to(lossDtype);
                        logits.close();                                                       // two (c, V) buffers at most
                        logits = upcast;
                    }
                    Tensor logp = Layers.logSoftmax(logits, 1);                                  // (c, V) loss dtype
                    logits.close();
                    InPlace.accumulate(nllSum, Layers.nllLoss(logp, t, Layers.Reduction.SUM, IGNORE_INDEX).loss());
                    if (smoothing > 0) InPlace.accumulate(smoothSum, Reductions.sum(logp), -1);          // −Σ_i Σ_v log p
                    if (!backward) continue;
                    // dlogits = (softmax − ε/V − (1−ε)·onehot) / divisor, built in place of logp.
                    Tensor d = logp;
                    InPlace.expInPlace(d);                                                        // softmax
                    if (smoothing > 0) InPlace.accumulate(d, Tensor.scalar(-smoothing / vocab));
                    InPlace.mulInPlace(d, scale);
                    InPlace.indexPut(d, new Tensor[]{chunkIndex.narrow(0, 0, c), t}, hit.narrow(0, 0, c), true);
                    Tensor dLogits = d.dtype() == hidden.dtype() ? d : d.to(hidden.dtype());  // (c, V) compute dtype
                    if (dLogits != d) d.close();
                    Tensor dh = Linear.backward(dLogits, h, head, dHead, null);               // (c, D); dW += dLogitsᵀ·h
                    Copies.copyInto(dCompact.narrow(0, start, c), dh);
                }
            }
            if (backward) InPlace.indexPut(dHidden, new Tensor[]{rowsOnDevice}, dCompact, false);
            double sum = (1 - smoothing) * nllSum.item() + (smoothing > 0 ? smoothing / vocab * smoothSum.item() : 0);
            return new Result(new Sum(sum, counted), dHidden == null ? null : scope.keep(dHidden));
        }
    }

    /** {@code t} itself when it is on {@code device}, else a copy there (in the open scope). */
    private static Tensor onDevice(Tensor t, Device device) {
        return t.device().equals(device) ? t : t.to(device);
    }
}
