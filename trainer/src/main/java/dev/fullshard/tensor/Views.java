package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

import java.util.Arrays;

/**
 * Views of a tensor: results share its storage (reshape copies only when it must).
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Views {
    private Views() {
    }

    private static final Op VIEW = Op.of("aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)");
    /** A view with another shape; one size may be -1. */
    public static Tensor view(Tensor t, long... shape) {
        Checks.reshape("view", t, shape);
        return Dispatch.call(VIEW, t).tensor(t).ints(shape).returnView(t);
    }

    private static final Op RESHAPE = Op.of("aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)");
    /** A view when possible, else a copy. */
    public static Tensor reshape(Tensor t, long... shape) {
        Checks.reshape("reshape", t, shape);
        return Dispatch.call(RESHAPE, t).tensor(t).ints(shape).returnView(t);
    }

    private static final Op TRANSPOSE = Op.of("aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)");
    public static Tensor transpose(Tensor t, int dim0, int dim1) {
        Checks.dim("transpose", t, dim0);
        Checks.dim("transpose", t, dim1);
        return Dispatch.call(TRANSPOSE, t).tensor(t).i64(dim0).i64(dim1).returnView(t);
    }

    private static final Op PERMUTE = Op.of("aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)");
    public static Tensor permute(Tensor t, int... dims) {
        if (dims.length != t.dim()) throw new IllegalArgumentException("permute of a " + t.dim() + "-d tensor needs " + t.dim() + " dims, got " + Arrays.toString(dims));
        return Dispatch.call(PERMUTE, t).tensor(t).ints(dims).returnView(t);
    }

    private static final Op SLICE = Op.of("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)");
    public static Tensor slice(Tensor t, int dim, long start, long end, long step) {
        Checks.dim("slice", t, dim);
        if (step <= 0) throw new IllegalArgumentException("slice step must be positive, got " + step);
        return Dispatch.call(SLICE, t).tensor(t).i64(dim).optI64(start).optI64(end).i64(step).returnView(t);
    }

    private static final Op NARROW = Op.of("aten::narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)");
    public static Tensor narrow(Tensor t, int dim, long start, long length) {
        Checks.dim("narrow", t, dim);
        long size = t.size(dim);
        if (start < 0 || length < 0 || start + length > size) {
            throw new IndexOutOfBoundsException("narrow(dim " + dim + ", start " + start + ", length " + length + ") outside size " + size + " of " + t.describe());
        }
        return Dispatch.call(NARROW, t).tensor(t).i64(dim).i64(start).i64(length).returnView(t);
    }

    private static final Op SELECT = Op.of("aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)");
    /** Drops dimension {@code dim}. */
    public static Tensor select(Tensor t, int dim, long index) {
        Checks.dim("select", t, dim);
        return Dispatch.call(SELECT, t).tensor(t).i64(dim).i64(index).returnView(t);
    }

    private static final Op UNSQUEEZE = Op.of("aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)");
    public static Tensor unsqueeze(Tensor t, int dim) {
        return Dispatch.call(UNSQUEEZE, t).tensor(t).i64(dim).returnView(t);
    }

    private static final Op SQUEEZE = Op.of("aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)");
    public static Tensor squeeze(Tensor t, int dim) {
        Checks.dim("squeeze", t, dim);
        return Dispatch.call(SQUEEZE, t).tensor(t).i64(dim).returnView(t);
    }

    private static final Op EXPAND = Op.of("aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)");
    public static Tensor expand(Tensor t, long... shape) {
        return Dispatch.call(EXPAND, t).tensor(t).ints(shape).returnView(t);
    }

    private static final Op CONTIGUOUS = Op.of("aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format) -> Tensor(a)");
    public static Tensor contiguous(Tensor t) {
        return Dispatch.call(CONTIGUOUS, t).tensor(t).i64(MemoryFormats.CONTIGUOUS).returnView(t);
    }

    private static final Op UNBIND = Op.of("aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]");
    public static Tensor[] unbind(Tensor t, int dim) {
        Checks.dim("unbind", t, dim);
        return Dispatch.call(UNBIND, t).tensor(t).i64(dim).returnViewList(t);
    }
}
