package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

/**
 * The ops that write into an existing tensor, as the backward pass does to accumulate gradients.
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class InPlace {
    private InPlace() {
    }

    /** a ← a + alpha·b (computed out of place, then copied: add_.Tensor takes a Scalar). */
    public static void addInPlace(Tensor a, Tensor b, double alpha) {
        try (TensorScope ignored = TensorScope.open()) {
            Copies.copyInto(a, Elementwise.add(a, b, alpha));
        }
    }

    private static final Op FOREACH_ADDCMUL_ = Op.of("aten::_foreach_addcmul_.Tensor(Tensor(a!)[] self, Tensor[] tensor1, Tensor[] tensor2, Tensor scalars) -> ()");
    /**
     * dst ← dst + alpha·src in place, with src broadcast to dst's shape and converted to dst's dtype on the fly
     * (e.g. a bfloat16 gradient added into a float32 buffer), without a temporary of dst's size.
     *
     * <p>Every in-place add ATen has ({@code add_}, {@code index_add_}, {@code addmm_}) takes alpha as a
     * {@code Scalar}, which 2.10's dispatcher cannot pass. {@code _foreach_addcmul_.Tensor(Tensor(a!)[] self,
     * Tensor[] tensor1, Tensor[] tensor2, Tensor scalars)} takes its factor as a tensor instead: with self = [dst],
     * tensor1 = [src], tensor2 = [1] and scalars = [alpha] it is dst.addcmul_(src, 1, alpha), one pass over dst.
     */
    public static void accumulate(Tensor dst, Tensor src, double alpha) {
        Checks.broadcastTo("accumulate", src, dst.shapeRef());
        Checks.sameDevice("accumulate", dst, src);
        if (!dst.dtype().isFloatingPoint() || !src.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("accumulate needs floating-point tensors, got " + dst.describe() + " += " + src.describe());
        }
        try (TensorScope ignored = TensorScope.open()) {
            // 0-dim float64 one: a 0-dim tensor does not change the dtype the kernel computes in.
            Tensor one = Tensor.scalar(1.0), scalars = Tensor.of(new double[]{alpha}, 1);
            Dispatch.call(FOREACH_ADDCMUL_, dst, src, one, scalars).tensors(dst).tensors(src).tensors(one).tensor(scalars).run();
        }
    }

    /** dst ← dst + src in place; see {@link #accumulate(Tensor, Tensor, double)}. */
    public static void accumulate(Tensor dst, Tensor src) {
        accumulate(dst, src, 1.0);
    }

    private static final Op MUL_ = Op.of("aten::mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)");
    /** a ← a · b. */
    public static void mulInPlace(Tensor a, Tensor b) {
        Checks.broadcastTo("mul_", b, a.shapeRef());
        Checks.writable("mul_", a);
        Dispatch.call(MUL_, a, b).tensor(a).tensor(b).runInPlace();
    }

    private static final Op EXP_ = Op.of("aten::exp_(Tensor(a!) self) -> Tensor(a!)");
    /** t ← exp(t), in place. */
    public static void expInPlace(Tensor t) {
        Dispatch.call(EXP_, t).tensor(t).runInPlace();
    }

    private static final Op INDEX_PUT_ = Op.of("aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor(a!)");
    /**
     * self[indices] ← values, or self[indices] += values when {@code accumulate} (repeated indices then add up). One
     * int64 index tensor per leading dimension of self; values must have self's dtype.
     */
    public static void indexPut(Tensor self, Tensor[] indices, Tensor values, boolean accumulate) {
        if (indices.length == 0 || indices.length > self.dim()) {
            throw new IllegalArgumentException("index_put_ needs 1.." + self.dim() + " index tensors for " + self.describe() + ", got " + indices.length);
        }
        for (Tensor i : indices) Checks.indices("index_put_", i);
        if (values.dtype() != self.dtype()) {
            throw new IllegalArgumentException("index_put_: values " + values.describe() + " must have the dtype of " + self.describe());
        }
        Tensor[] inputs = Dispatch.inputs(new Tensor[]{self}, indices, new Tensor[]{values});
        Dispatch.call(INDEX_PUT_, inputs).tensor(self).optTensors(indices).tensor(values).bool(accumulate).runInPlace();
    }

    private static final Op SCATTER_ADD_ = Op.of("aten::scatter_add_(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)");
    /**
     * For dim 0, self[index[i][j]][j] += src[i][j], repeated indices adding up. index is int64 with src's number of
     * dimensions and no larger than src; src must have self's dtype.
     */
    public static void scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        Checks.dim("scatter_add_", self, dim);
        if (index.dtype() != DType.I64) throw new IllegalArgumentException("scatter_add_: index must be int64, got " + index.describe());
        if (index.dim() != self.dim() || src.dim() != self.dim()) {
            throw new IllegalArgumentException("scatter_add_: self, index and src need the same number of dimensions, got "
                    + self.describe() + ", " + index.describe() + ", " + src.describe());
        }
        if (src.dtype() != self.dtype()) {
            throw new IllegalArgumentException("scatter_add_: src " + src.describe() + " must have the dtype of " + self.describe());
        }
        Dispatch.call(SCATTER_ADD_, self, index, src).tensor(self).i64(dim).tensor(index).tensor(src).runInPlace();
    }
}
