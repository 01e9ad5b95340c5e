package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.Dispatch.Op;

/**
 * Copies, conversions and new tensors shaped like existing ones.
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Copies {
    private Copies() {
    }

    private static final Op TO_COPY = Op.of("aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -> Tensor");
    /** t converted to dtype on device: always a new contiguous tensor. */
    public static Tensor toCopy(Tensor t, DType dtype, Device device) {
        return Dispatch.call(TO_COPY, t).tensor(t).optDtype(dtype).none().optDevice(device).none().bool(false)
                .optI64(MemoryFormats.CONTIGUOUS).returnTensor();
    }

    private static final Op CLONE = Op.of("aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor");
    public static Tensor clone(Tensor t) {
        return Dispatch.call(CLONE, t).tensor(t).returnTensor();
    }

    private static final Op COPY_ = Op.of("aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)");
    /** dst ← src (broadcast, cast). */
    public static void copyInto(Tensor dst, Tensor src) {
        Checks.broadcastTo("copy_", src, dst.shapeRef());
        Checks.writable("copy_", dst);
        Dispatch.call(COPY_, dst, src).tensor(dst).tensor(src).runInPlace();
    }

    private static final Op ZERO_ = Op.of("aten::zero_(Tensor(a!) self) -> Tensor(a!)");
    public static void zero(Tensor t) {
        Checks.writable("zero_", t);
        Dispatch.call(ZERO_, t).tensor(t).runInPlace();
    }

    /** {@code fill_.Scalar} through the shim {@code aoti_torch_aten_fill__Scalar}: every element ← value. */
    public static void fill(Tensor t, double value) {
        long start = OpProfile.ON ? System.nanoTime() : 0;
        Tensor.check(TorchStable.aoti_torch_aten_fill__Scalar(t.writableHandle("fill_"), value), "aten::fill_.Scalar", t);
        if (OpProfile.ON) OpProfile.record("aten::fill_.Scalar", start);
    }

    private static final Op ZEROS_LIKE = Op.of("aten::zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor");
    public static Tensor zerosLike(Tensor t) {
        return Dispatch.call(ZEROS_LIKE, t).tensor(t).returnTensor();
    }

    private static final Op ONES_LIKE = Op.of("aten::ones_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor");
    /** A tensor of ones shaped like t. */
    public static Tensor onesLike(Tensor t) {
        return Dispatch.call(ONES_LIKE, t).tensor(t).returnTensor();
    }

    private static final Op CAT = Op.of("aten::cat(Tensor[] tensors, int dim=0) -> Tensor");
    public static Tensor cat(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("cat needs at least one tensor");
        Checks.sameDevice("cat", tensors);
        return Dispatch.call(CAT, tensors).tensors(tensors).i64(dim).returnTensor();
    }

    private static final Op STACK = Op.of("aten::stack(Tensor[] tensors, int dim=0) -> Tensor");
    public static Tensor stack(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("stack needs at least one tensor");
        Checks.sameDevice("stack", tensors);
        return Dispatch.call(STACK, tensors).tensors(tensors).i64(dim).returnTensor();
    }

    private static final Op REPEAT_INTERLEAVE = Op.of("aten::repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *, SymInt? output_size=None) -> Tensor");
    /**
     * Each slice along {@code dim} repeated {@code repeats} times in place (how grouped-query attention shares KV
     * heads).
     */
    public static Tensor repeatInterleave(Tensor t, long repeats, int dim) {
        Checks.dim("repeat_interleave", t, dim);
        return Dispatch.call(REPEAT_INTERLEAVE, t).tensor(t).i64(repeats).optI64((long) dim).returnTensor();
    }
}
