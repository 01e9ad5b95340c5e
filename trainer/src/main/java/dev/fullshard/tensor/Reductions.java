package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

/**
 * Sums, means, maxima and norms over dimensions.
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Reductions {
    private Reductions() {
    }

    private static final Op SUM = Op.of("aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor");
    /** A 0-dim total. */
    public static Tensor sum(Tensor t) {
        return Dispatch.call(SUM, t).tensor(t).returnTensor();
    }

    /** {@code sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor}. */
    public static Tensor sum(Tensor t, boolean keepDim, int... dims) {
        return sum(t, keepDim, null, dims);
    }

    private static final Op SUM_DIMS = Op.of("aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor");
    /** Sum over {@code dims}, accumulating and returning in {@code dtype} (null: the input's). */
    public static Tensor sum(Tensor t, boolean keepDim, DType dtype, int... dims) {
        for (int d : dims) Checks.dim("sum", t, d);
        return Dispatch.call(SUM_DIMS, t).tensor(t).optInts(dims).bool(keepDim).optDtype(dtype).returnTensor();
    }

    private static final Op MEAN_DIMS = Op.of("aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor");
    public static Tensor mean(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) Checks.dim("mean", t, d);
        return Dispatch.call(MEAN_DIMS, t).tensor(t).optInts(dims).bool(keepDim).returnTensor();
    }

    private static final Op AMAX = Op.of("aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor");
    public static Tensor amax(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) Checks.dim("amax", t, d);
        return Dispatch.call(AMAX, t).tensor(t).ints(dims).bool(keepDim).returnTensor();
    }

    /** Values and int64 indices of a maximum along one dimension. */
    public record MaxResult(Tensor values, Tensor indices) {
    }

    private static final Op MAX_DIM = Op.of("aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)");
    public static MaxResult max(Tensor t, int dim, boolean keepDim) {
        Checks.dim("max", t, dim);
        Tensor[] r = Dispatch.call(MAX_DIM, t).tensor(t).i64(dim).bool(keepDim).returnTensors(2);
        return new MaxResult(r[0], r[1]);
    }

    private static final Op ARGMAX = Op.of("aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor");
    public static Tensor argmax(Tensor t, int dim, boolean keepDim) {
        Checks.dim("argmax", t, dim);
        return Dispatch.call(ARGMAX, t).tensor(t).optI64((long) dim).bool(keepDim).returnTensor();
    }

    private static final Op NORM = Op.of("aten::norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False) -> Tensor");
    /**
     * Euclidean norm over {@code dims}: {@code norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False)}
     * with p = None, which means 2 (the only way to reach a norm without a Scalar in 2.10).
     */
    public static Tensor norm(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) Checks.dim("norm", t, d);
        return Dispatch.call(NORM, t).tensor(t).none().ints(dims).bool(keepDim).returnTensor();
    }

    private static final Op ALL = Op.of("aten::all(Tensor self) -> Tensor");
    /** 0-dim bool. */
    public static Tensor all(Tensor t) {
        return Dispatch.call(ALL, t).tensor(t).returnTensor();
    }

    private static final Op ANY = Op.of("aten::any(Tensor self) -> Tensor");
    /** 0-dim bool. */
    public static Tensor any(Tensor t) {
        return Dispatch.call(ANY, t).tensor(t).returnTensor();
    }

    private static final Op EQUAL = Op.of("aten::equal(Tensor self, Tensor other) -> bool");
    /** Same shape and same values. */
    public static boolean equal(Tensor a, Tensor b) {
        return Dispatch.call(EQUAL, a, b).tensor(a).tensor(b).returnBool();
    }
}
