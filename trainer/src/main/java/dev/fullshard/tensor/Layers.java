package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

/**
 * The fused kernels of neural-network layers: embedding, RMSNorm, softmax, NLL loss and flash attention,
 * with their backward kernels.
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Layers {
    private Layers() {
    }

    private static final Op EMBEDDING = Op.of("aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor");
    /** Rows of weight. */
    public static Tensor embedding(Tensor weight, Tensor indices) {
        Checks.indices("embedding", indices);
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding weight must be (vocab, dim), got " + weight.describe());
        return Dispatch.call(EMBEDDING, weight, indices).tensor(weight).tensor(indices).returnTensor();
    }

    private static final Op EMBEDDING_BACKWARD = Op.of("aten::embedding_dense_backward(Tensor grad_output, Tensor indices, SymInt num_weights, SymInt padding_idx, bool scale_grad_by_freq) -> Tensor");
    /** (numWeights, dim) gradient, repeated indices accumulated. */
    public static Tensor embeddingBackward(Tensor gradOutput, Tensor indices, long numWeights) {
        Checks.indices("embedding_dense_backward", indices);
        return Dispatch.call(EMBEDDING_BACKWARD, gradOutput, indices).tensor(gradOutput).tensor(indices)
                .i64(numWeights).i64(-1).bool(false).returnTensor();
    }

    private static final Op INDEX_SELECT = Op.of("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor");
    public static Tensor indexSelect(Tensor t, int dim, Tensor index) {
        Checks.dim("index_select", t, dim);
        Checks.indices("index_select", index);
        return Dispatch.call(INDEX_SELECT, t, index).tensor(t).i64(dim).tensor(index).returnTensor();
    }

    private static final Op GATHER = Op.of("aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor");
    public static Tensor gather(Tensor t, int dim, Tensor index) {
        Checks.dim("gather", t, dim);
        Checks.indices("gather", index);
        return Dispatch.call(GATHER, t, index).tensor(t).i64(dim).tensor(index).returnTensor();
    }

    /** Output of an RMSNorm and the reciprocal RMS per row (shape (..., 1)) that its backward needs. */
    public record RmsNormResult(Tensor output, Tensor rstd) {
    }

    private static final Op FUSED_RMS_NORM = Op.of("aten::_fused_rms_norm(Tensor input, int[] normalized_shape, Tensor? weight, float? eps) -> (Tensor, Tensor)");
    /**
     * RMSNorm over the last dimension, with the reciprocal RMS per row that the backward (composed in
     * {@code model.RmsNorm}) needs.
     */
    public static RmsNormResult rmsNorm(Tensor x, Tensor weight, double eps) {
        if (weight.dim() != 1 || weight.size(0) != x.size(-1)) {
            throw new IllegalArgumentException("rms_norm weight must be (" + x.size(-1) + "), got " + weight.describe());
        }
        Tensor[] r = Dispatch.call(FUSED_RMS_NORM, x, weight).tensor(x).ints(x.size(-1)).optTensor(weight).optF64(eps).returnTensors(2);
        return new RmsNormResult(r[0], r[1]);
    }

    private static final Op LOG_SOFTMAX = Op.of("aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor");
    public static Tensor logSoftmax(Tensor t, int dim) {
        Checks.dim("log_softmax", t, dim);
        return Dispatch.call(LOG_SOFTMAX, t).tensor(t).i64(dim).bool(false).returnTensor();
    }

    private static final Op LOG_SOFTMAX_BACKWARD = Op.of("aten::_log_softmax_backward_data(Tensor grad_output, Tensor output, int dim, ScalarType input_dtype) -> Tensor");
    public static Tensor logSoftmaxBackward(Tensor gradOutput, Tensor output, int dim) {
        Checks.sameShape("log_softmax backward", gradOutput, output);
        return Dispatch.call(LOG_SOFTMAX_BACKWARD, gradOutput, output).tensor(gradOutput).tensor(output).i64(dim)
                .dtype(output.dtype()).returnTensor();
    }

    private static final Op SOFTMAX = Op.of("aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor");
    public static Tensor softmax(Tensor t, int dim) {
        Checks.dim("softmax", t, dim);
        return Dispatch.call(SOFTMAX, t).tensor(t).i64(dim).bool(false).returnTensor();
    }

    /** How a loss over tokens is reduced (ATen's Reduction enum). */
    public enum Reduction { NONE, MEAN, SUM }

    /** A negative log-likelihood loss and the number (weight) of targets that counted. */
    public record NllResult(Tensor loss, Tensor totalWeight) {
    }

    private static final Op NLL_LOSS = Op.of("aten::nll_loss_forward(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index) -> (Tensor output, Tensor total_weight)");
    /** logProbs (N, C), targets (N) int64; targets equal to ignoreIndex count for nothing. */
    public static NllResult nllLoss(Tensor logProbs, Tensor targets, Reduction reduction, long ignoreIndex) {
        Checks.nll(logProbs, targets);
        Tensor[] r = Dispatch.call(NLL_LOSS, logProbs, targets).tensor(logProbs).tensor(targets).none()
                .i64(reduction.ordinal()).i64(ignoreIndex).returnTensors(2);
        return new NllResult(r[0], r[1]);
    }

    private static final Op NLL_LOSS_BACKWARD = Op.of("aten::nll_loss_backward(Tensor grad_output, Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index, Tensor total_weight) -> Tensor");
    public static Tensor nllLossBackward(Tensor gradOutput, Tensor logProbs, Tensor targets, Reduction reduction,
                                         long ignoreIndex, Tensor totalWeight) {
        Checks.nll(logProbs, targets);
        return Dispatch.call(NLL_LOSS_BACKWARD, gradOutput, logProbs, targets, totalWeight).tensor(gradOutput).tensor(logProbs)
                .tensor(targets).none().i64(reduction.ordinal()).i64(ignoreIndex).tensor(totalWeight).returnTensor();
    }

    /**
     * Which attention kernel runs. {@link #CPU_FLASH}: libtorch's CPU flash kernel (any float dtype);
     * {@link #CUDA_FLASH}: FlashAttention-2 on CUDA (bf16 and f16 only); {@link #MATH}: softmax(q·kᵀ)·v
     * composed of matmuls (in {@code model.Attention}), on any device and dtype, which CUDA uses for f32 and
     * f64 (the flash kernel has none) at the cost of an (L × L) probability matrix per head.
     */
    public enum AttentionKernel {
        CPU_FLASH, CUDA_FLASH, MATH;

        /** The kernel for tensors like {@code q}. */
        public static AttentionKernel of(Tensor q) {
            return of(q.device().type(), q.dtype());
        }

        /** The kernel for tensors of {@code dtype} on a device of type {@code device}. */
        public static AttentionKernel of(Device.Type device, DType dtype) {
            if (device == Device.Type.CPU) return CPU_FLASH;
            return dtype == DType.BF16 || dtype == DType.F16 ? CUDA_FLASH : MATH;
        }

        /** Throws unless q, k, v are (B, H, L, E) tensors with equal head counts that this kernel can run on. */
        public void checkInputs(Tensor q, Tensor k, Tensor v) {
            Checks.attention(q, k, v, this);
        }
    }

    /**
     * Attention output (B, H, L, E) and what the kernel's backward needs: the log-sum-exp per query
     * (B, H, L) for the flash kernels, the probabilities (B, H, L, S) for {@link AttentionKernel#MATH}.
     */
    public record AttentionResult(Tensor output, Tensor saved, AttentionKernel kernel) {
        /** Throws unless the backward of this forward can run on these tensors. */
        public void checkBackwardInputs(Tensor gradOutput, Tensor q, Tensor k, Tensor v) {
            kernel.checkInputs(q, k, v);
            Checks.sameShape("attention backward", gradOutput, output);
        }
    }

    private static final Op FLASH_CPU = Op.of("aten::_scaled_dot_product_flash_attention_for_cpu(Tensor query, Tensor key, Tensor value, float dropout_p=0.0, bool is_causal=False, *, Tensor? attn_mask=None, float? scale=None) -> (Tensor output, Tensor logsumexp)");
    private static final Op FLASH_CUDA = Op.of("aten::_scaled_dot_product_flash_attention(Tensor query, Tensor key, Tensor value, float dropout_p=0.0, bool is_causal=False, bool return_debug_mask=False, *, float? scale=None) -> (Tensor output, Tensor logsumexp, Tensor cum_seq_q, Tensor cum_seq_k, SymInt max_q, SymInt max_k, Tensor rng_state, Tensor unused, Tensor debug_attn_mask)");
    /**
     * Flash attention of q (B, H, L, E) over k, v (B, H, S, E), equal head counts (repeat KV heads
     * first), by {@link AttentionKernel#CPU_FLASH} or {@link AttentionKernel#CUDA_FLASH}; scale null means
     * 1/√E; causal masks key j &gt; query i (top-left aligned, as PyTorch's is_causal).
     */
    public static AttentionResult flashAttention(Tensor q, Tensor k, Tensor v, boolean causal, Double scale, AttentionKernel kernel) {
        kernel.checkInputs(q, k, v);
        return switch (kernel) {
            case CPU_FLASH -> {
                Tensor[] r = NestedBlas.singleThreaded(() -> Dispatch.call(FLASH_CPU, q, k, v).tensor(q).tensor(k).tensor(v).f64(0.0)
                        .bool(causal).none().optF64(scale).returnTensors(2));
                yield new AttentionResult(r[0], r[1], kernel);
            }
            case CUDA_FLASH -> {
                // Without dropout and with equal-length sequences only output and logsumexp are used;
                // the backward takes the rest as undefined tensors and max_q/max_k as the lengths.
                boolean[] isTensor = {true, true, true, true, false, false, true, true, true};
                boolean[] keep = {true, true, false, false, false, false, false, false, false};
                Dispatch.Returns r = Dispatch.call(FLASH_CUDA, q, k, v).tensor(q).tensor(k).tensor(v).f64(0.0).bool(causal).bool(false)
                        .optF64(scale).returnMixed(keep, isTensor);
                yield new AttentionResult(r.tensors()[0], r.tensors()[1], kernel);
            }
            case MATH -> throw new IllegalArgumentException("the MATH attention kernel is not a flash kernel");
        };
    }

    /** Gradients of attention with respect to q, k and v. */
    public record AttentionGrads(Tensor query, Tensor key, Tensor value) {
    }

    private static final Op FLASH_CPU_BACKWARD = Op.of("aten::_scaled_dot_product_flash_attention_for_cpu_backward(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor out, Tensor logsumexp, float dropout_p, bool is_causal, *, Tensor? attn_mask=None, float? scale=None) -> (Tensor grad_query, Tensor grad_key, Tensor grad_value)");
    private static final Op FLASH_CUDA_BACKWARD = Op.of("aten::_scaled_dot_product_flash_attention_backward(Tensor grad_out, Tensor query, Tensor key, Tensor value, Tensor out, Tensor logsumexp, Tensor cum_seq_q, Tensor cum_seq_k, SymInt max_q, SymInt max_k, float dropout_p, bool is_causal, Tensor philox_seed, Tensor philox_offset, *, float? scale=None) -> (Tensor grad_query, Tensor grad_key, Tensor grad_value)");
    /** The backward of {@link #flashAttention}, by the kernel that ran the forward. */
    public static AttentionGrads flashAttentionBackward(Tensor gradOutput, Tensor q, Tensor k, Tensor v,
                                                        AttentionResult forward, boolean causal, Double scale) {
        forward.checkBackwardInputs(gradOutput, q, k, v);
        Tensor[] r = switch (forward.kernel()) {
            case CPU_FLASH -> NestedBlas.singleThreaded(() -> Dispatch.call(FLASH_CPU_BACKWARD, gradOutput, q, k, v, forward.output(),
                    forward.saved()).tensor(gradOutput).tensor(q).tensor(k).tensor(v).tensor(forward.output()).tensor(forward.saved())
                    .f64(0.0).bool(causal).none().optF64(scale).returnTensors(3));
            case CUDA_FLASH -> Dispatch.call(FLASH_CUDA_BACKWARD, gradOutput, q, k, v, forward.output(), forward.saved())
                    .tensor(gradOutput).tensor(q).tensor(k).tensor(v).tensor(forward.output()).tensor(forward.saved())
                    .undefinedTensor().undefinedTensor().i64(q.size(2)).i64(k.size(2)).f64(0.0).bool(causal)
                    .undefinedTensor().undefinedTensor().optF64(scale).returnTensors(3);
            case MATH -> throw new IllegalArgumentException("the MATH attention kernel is not a flash kernel");
        };
        return new AttentionGrads(r[0], r[1], r[2]);
    }
}
