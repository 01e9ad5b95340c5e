package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.Dispatch.Op;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Typed Java methods for the ATen operators a Llama forward and backward pass, the loss and AdamW
 * need. Each method names its ATen schema (libtorch 2.10); results are new tensors owned by the
 * caller (or the open {@link TensorScope}); inputs are only borrowed.
 *
 * <p>libtorch 2.10's dispatcher cannot pass a {@code Scalar}, so operators with a Scalar argument
 * go through a generated C shim that takes it as a double ({@code aoti_torch_aten_subtract_Tensor},
 * {@code aoti_torch_aten_fill__Scalar}) or through the overload that takes a 0-dim tensor instead.
 *
 * <p>Common mistakes (mismatched shapes or dtypes in matrix products and broadcasts, tensors on
 * different devices, closed tensors) are caught here, before libtorch is called.
 */
public final class Ops {
    private Ops() {
    }

    // ================================================================ views (results share storage)

    private static final Op VIEW = Op.of("aten::view");
    private static final Op RESHAPE = Op.of("aten::reshape");
    private static final Op TRANSPOSE = Op.of("aten::transpose.int");
    private static final Op PERMUTE = Op.of("aten::permute");
    private static final Op SLICE = Op.of("aten::slice.Tensor");
    private static final Op NARROW = Op.of("aten::narrow");
    private static final Op SELECT = Op.of("aten::select.int");
    private static final Op UNSQUEEZE = Op.of("aten::unsqueeze");
    private static final Op SQUEEZE = Op.of("aten::squeeze.dim");
    private static final Op EXPAND = Op.of("aten::expand");
    private static final Op CONTIGUOUS = Op.of("aten::contiguous");
    private static final Op UNBIND = Op.of("aten::unbind.int");

    /** {@code view(Tensor(a) self, SymInt[] size) -> Tensor(a)}; one size may be -1. */
    public static Tensor view(Tensor t, long... shape) {
        checkReshape("view", t, shape);
        return Dispatch.call(VIEW, t).tensor(t).ints(shape).returnView(t);
    }

    /** {@code reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)}: a view when possible, else a copy. */
    public static Tensor reshape(Tensor t, long... shape) {
        checkReshape("reshape", t, shape);
        return Dispatch.call(RESHAPE, t).tensor(t).ints(shape).returnView(t);
    }

    /** {@code transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)}. */
    public static Tensor transpose(Tensor t, int dim0, int dim1) {
        checkDim("transpose", t, dim0);
        checkDim("transpose", t, dim1);
        return Dispatch.call(TRANSPOSE, t).tensor(t).i64(dim0).i64(dim1).returnView(t);
    }

    /** {@code permute(Tensor(a) self, int[] dims) -> Tensor(a)}. */
    public static Tensor permute(Tensor t, int... dims) {
        if (dims.length != t.dim()) throw new IllegalArgumentException("permute of a " + t.dim() + "-d tensor needs " + t.dim() + " dims, got " + Arrays.toString(dims));
        return Dispatch.call(PERMUTE, t).tensor(t).ints(toLongs(dims)).returnView(t);
    }

    /** {@code slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)}. */
    public static Tensor slice(Tensor t, int dim, long start, long end, long step) {
        checkDim("slice", t, dim);
        if (step <= 0) throw new IllegalArgumentException("slice step must be positive, got " + step);
        return Dispatch.call(SLICE, t).tensor(t).i64(dim).optI64(start).optI64(end).i64(step).returnView(t);
    }

    /** {@code narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)}. */
    public static Tensor narrow(Tensor t, int dim, long start, long length) {
        checkDim("narrow", t, dim);
        long size = t.size(dim);
        if (start < 0 || length < 0 || start + length > size) {
            throw new IndexOutOfBoundsException("narrow(dim " + dim + ", start " + start + ", length " + length + ") outside size " + size + " of " + t.describe());
        }
        return Dispatch.call(NARROW, t).tensor(t).i64(dim).i64(start).i64(length).returnView(t);
    }

    /** {@code select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)}: drops dimension {@code dim}. */
    public static Tensor select(Tensor t, int dim, long index) {
        checkDim("select", t, dim);
        return Dispatch.call(SELECT, t).tensor(t).i64(dim).i64(index).returnView(t);
    }

    /** {@code unsqueeze(Tensor(a) self, int dim) -> Tensor(a)}. */
    public static Tensor unsqueeze(Tensor t, int dim) {
        return Dispatch.call(UNSQUEEZE, t).tensor(t).i64(dim).returnView(t);
    }

    /** {@code squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)}. */
    public static Tensor squeeze(Tensor t, int dim) {
        checkDim("squeeze", t, dim);
        return Dispatch.call(SQUEEZE, t).tensor(t).i64(dim).returnView(t);
    }

    /** {@code expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)}. */
    public static Tensor expand(Tensor t, long... shape) {
        return Dispatch.call(EXPAND, t).tensor(t).ints(shape).bool(false).returnView(t);
    }

    /** {@code contiguous(Tensor(a) self, *, MemoryFormat memory_format=contiguous_format) -> Tensor(a)}. */
    public static Tensor contiguous(Tensor t) {
        return Dispatch.call(CONTIGUOUS, t).tensor(t).i64(MemoryFormats.CONTIGUOUS).returnView(t);
    }

    /** {@code unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]}. */
    public static Tensor[] unbind(Tensor t, int dim) {
        checkDim("unbind", t, dim);
        return Dispatch.call(UNBIND, t).tensor(t).i64(dim).returnViewList(t);
    }

    // ================================================================ copies, conversions, creation

    private static final Op TO_COPY = Op.of("aten::_to_copy");
    private static final Op CLONE = Op.of("aten::clone");
    private static final Op COPY_ = Op.of("aten::copy_");
    private static final Op ZERO_ = Op.of("aten::zero_");
    private static final Op ZEROS_LIKE = Op.of("aten::zeros_like");
    private static final Op ONES_LIKE = Op.of("aten::ones_like");
    private static final Op EMPTY_LIKE = Op.of("aten::empty_like");
    private static final Op CAT = Op.of("aten::cat");
    private static final Op STACK = Op.of("aten::stack");
    private static final Op REPEAT_INTERLEAVE = Op.of("aten::repeat_interleave.self_int");

    /**
     * {@code _to_copy(Tensor self, *, ScalarType? dtype, Layout? layout, Device? device, bool? pin_memory,
     * bool non_blocking=False, MemoryFormat? memory_format) -> Tensor}: always a new contiguous tensor.
     */
    public static Tensor toCopy(Tensor t, DType dtype, Device device) {
        return Dispatch.call(TO_COPY, t).tensor(t).optDtype(dtype).none().optDevice(device).none().bool(false)
                .optI64(MemoryFormats.CONTIGUOUS).returnTensor();
    }

    /** {@code clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor}. */
    public static Tensor clone(Tensor t) {
        return Dispatch.call(CLONE, t).tensor(t).none().returnTensor();
    }

    /** {@code copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)}: dst ← src (broadcast, cast). */
    public static void copyInto(Tensor dst, Tensor src) {
        checkBroadcastTo("copy_", src, dst.shapeRef());
        writable("copy_", dst);
        Dispatch.call(COPY_, dst, src).tensor(dst).tensor(src).bool(false).runInPlace();
    }

    /** {@code zero_(Tensor(a!) self) -> Tensor(a!)}. */
    public static void zero(Tensor t) {
        writable("zero_", t);
        Dispatch.call(ZERO_, t).tensor(t).runInPlace();
    }

    /** {@code fill_.Scalar} through the shim {@code aoti_torch_aten_fill__Scalar}: every element ← value. */
    public static void fill(Tensor t, double value) {
        Tensor.check(TorchStable.aoti_torch_aten_fill__Scalar(t.writableHandle("fill_"), value), "aten::fill_.Scalar", t);
    }

    /** {@code zeros_like(Tensor self, *, ScalarType? dtype, Layout? layout, Device? device, bool? pin_memory, MemoryFormat? memory_format)}. */
    public static Tensor zerosLike(Tensor t) {
        return Dispatch.call(ZEROS_LIKE, t).tensor(t).none().none().none().none().none().returnTensor();
    }

    /** {@code ones_like(...)}, same arguments as zeros_like. */
    public static Tensor onesLike(Tensor t) {
        return Dispatch.call(ONES_LIKE, t).tensor(t).none().none().none().none().none().returnTensor();
    }

    /** {@code empty_like(...)}, same arguments as zeros_like: uninitialised memory. */
    public static Tensor emptyLike(Tensor t) {
        return Dispatch.call(EMPTY_LIKE, t).tensor(t).none().none().none().none().none().returnTensor();
    }

    /** {@code cat(Tensor[] tensors, int dim=0) -> Tensor}. */
    public static Tensor cat(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("cat needs at least one tensor");
        sameDevice("cat", tensors);
        return Dispatch.call(CAT, tensors).tensors(tensors).i64(dim).returnTensor();
    }

    /** {@code stack(Tensor[] tensors, int dim=0) -> Tensor}. */
    public static Tensor stack(int dim, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("stack needs at least one tensor");
        sameDevice("stack", tensors);
        return Dispatch.call(STACK, tensors).tensors(tensors).i64(dim).returnTensor();
    }

    /**
     * {@code repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *, SymInt? output_size=None) -> Tensor}:
     * each slice along {@code dim} repeated {@code repeats} times in place (how grouped-query attention shares KV heads).
     */
    public static Tensor repeatInterleave(Tensor t, long repeats, int dim) {
        checkDim("repeat_interleave", t, dim);
        return Dispatch.call(REPEAT_INTERLEAVE, t).tensor(t).i64(repeats).optI64((long) dim).none().returnTensor();
    }

    // ================================================================ elementwise

    private static final Op MUL = Op.of("aten::mul.Tensor");
    private static final Op MUL_ = Op.of("aten::mul_.Tensor");
    private static final Op DIV = Op.of("aten::div.Tensor");
    private static final Op POW = Op.of("aten::pow.Tensor_Tensor");
    private static final Op NEG = Op.of("aten::neg");
    private static final Op EXP = Op.of("aten::exp");
    private static final Op LOG = Op.of("aten::log");
    private static final Op RSQRT = Op.of("aten::rsqrt");
    private static final Op SQUARE = Op.of("aten::square");
    private static final Op ABS = Op.of("aten::abs");
    private static final Op RECIPROCAL = Op.of("aten::reciprocal");
    private static final Op SIGMOID = Op.of("aten::sigmoid");
    private static final Op SILU = Op.of("aten::silu");
    private static final Op SILU_BACKWARD = Op.of("aten::silu_backward");
    private static final Op MAXIMUM = Op.of("aten::maximum");
    private static final Op MINIMUM = Op.of("aten::minimum");
    private static final Op CLAMP = Op.of("aten::clamp.Tensor");
    private static final Op WHERE = Op.of("aten::where.self");
    private static final Op MASKED_FILL = Op.of("aten::masked_fill.Tensor");
    private static final Op EQ = Op.of("aten::eq.Tensor");
    private static final Op NE = Op.of("aten::ne.Tensor");
    private static final Op LT = Op.of("aten::lt.Tensor");
    private static final Op GT = Op.of("aten::gt.Tensor");
    private static final Op LOGICAL_NOT = Op.of("aten::logical_not");
    private static final Op ISFINITE = Op.of("aten::isfinite");

    /** a + b, through {@code aoti_torch_aten_subtract_Tensor(a, b, alpha=-1)} (add.Tensor's alpha is a Scalar). */
    public static Tensor add(Tensor a, Tensor b) {
        return subtract("add", a, b, -1.0);
    }

    /** a + alpha·b. */
    public static Tensor add(Tensor a, Tensor b, double alpha) {
        return subtract("add", a, b, -alpha);
    }

    /** a − b. */
    public static Tensor sub(Tensor a, Tensor b) {
        return sub(a, b, 1.0);
    }

    /** a − alpha·b: {@code aoti_torch_aten_subtract_Tensor(self, other, double alpha)}, any device. */
    public static Tensor sub(Tensor a, Tensor b, double alpha) {
        return subtract("sub", a, b, alpha);
    }

    /** The shim call behind add and sub; {@code op} is the name the caller used, for messages. */
    private static Tensor subtract(String op, Tensor a, Tensor b, double alpha) {
        checkBroadcast(op, a, b);
        MemorySegment out = Scratch.get().cell;
        Tensor.check(TorchStable.aoti_torch_aten_subtract_Tensor(a.handle(), b.handle(), alpha, out),
                "aten::subtract.Tensor", a, b);
        return Tensor.adopt(out.get(JAVA_LONG, 0));
    }

    /** a + s for a plain number s. */
    public static Tensor add(Tensor a, double s) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(sub(a, Tensor.scalar(s), -1.0));
        }
    }

    /** a ← a + alpha·b (computed out of place, then copied: add_.Tensor takes a Scalar). */
    public static void addInPlace(Tensor a, Tensor b, double alpha) {
        try (TensorScope ignored = TensorScope.open()) {
            copyInto(a, add(a, b, alpha));
        }
    }

    private static final Op FOREACH_ADDCMUL_ = Op.of("aten::_foreach_addcmul_.Tensor");

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
        checkBroadcastTo("accumulate", src, dst.shapeRef());
        sameDevice("accumulate", dst, src);
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

    /** {@code mul.Tensor(Tensor self, Tensor other) -> Tensor}. */
    public static Tensor mul(Tensor a, Tensor b) {
        checkBroadcast("mul", a, b);
        return Dispatch.call(MUL, a, b).tensor(a).tensor(b).returnTensor();
    }

    /** a · s for a plain number s (mul.Tensor with a 0-dim tensor, which keeps a's dtype). */
    public static Tensor mul(Tensor a, double s) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(mul(a, Tensor.scalar(s)));
        }
    }

    /** {@code mul_.Tensor(Tensor(a!) self, Tensor other) -> Tensor(a!)}: a ← a · b. */
    public static void mulInPlace(Tensor a, Tensor b) {
        checkBroadcastTo("mul_", b, a.shapeRef());
        writable("mul_", a);
        Dispatch.call(MUL_, a, b).tensor(a).tensor(b).runInPlace();
    }

    /** {@code div.Tensor(Tensor self, Tensor other) -> Tensor}. */
    public static Tensor div(Tensor a, Tensor b) {
        checkBroadcast("div", a, b);
        return Dispatch.call(DIV, a, b).tensor(a).tensor(b).returnTensor();
    }

    /** {@code pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor}. */
    public static Tensor pow(Tensor a, Tensor exponent) {
        checkBroadcast("pow", a, exponent);
        return Dispatch.call(POW, a, exponent).tensor(a).tensor(exponent).returnTensor();
    }

    public static Tensor neg(Tensor t) {
        return unary(NEG, t);
    }

    public static Tensor exp(Tensor t) {
        return unary(EXP, t);
    }

    private static final Op EXP_ = Op.of("aten::exp_");

    /** {@code exp_(Tensor(a!) self) -> Tensor(a!)}: t ← exp(t), in place. */
    public static void expInPlace(Tensor t) {
        Dispatch.call(EXP_, t).tensor(t).runInPlace();
    }

    public static Tensor log(Tensor t) {
        return unary(LOG, t);
    }

    public static Tensor rsqrt(Tensor t) {
        return unary(RSQRT, t);
    }

    public static Tensor square(Tensor t) {
        return unary(SQUARE, t);
    }

    public static Tensor abs(Tensor t) {
        return unary(ABS, t);
    }

    public static Tensor reciprocal(Tensor t) {
        return unary(RECIPROCAL, t);
    }

    public static Tensor sigmoid(Tensor t) {
        return unary(SIGMOID, t);
    }

    /** {@code silu(Tensor self) -> Tensor}: x·sigmoid(x). */
    public static Tensor silu(Tensor t) {
        return unary(SILU, t);
    }

    /** {@code silu_backward(Tensor grad_output, Tensor self) -> Tensor}: grad · d silu(x)/dx. */
    public static Tensor siluBackward(Tensor gradOutput, Tensor x) {
        checkSameShape("silu_backward", gradOutput, x);
        return Dispatch.call(SILU_BACKWARD, gradOutput, x).tensor(gradOutput).tensor(x).returnTensor();
    }

    public static Tensor maximum(Tensor a, Tensor b) {
        return binary(MAXIMUM, "maximum", a, b);
    }

    public static Tensor minimum(Tensor a, Tensor b) {
        return binary(MINIMUM, "minimum", a, b);
    }

    /** {@code clamp.Tensor(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor}; either bound may be null. */
    public static Tensor clamp(Tensor t, Tensor min, Tensor max) {
        return Dispatch.call(CLAMP, t, min, max).tensor(t).optTensor(min).optTensor(max).returnTensor();
    }

    /** {@code where.self(Tensor condition, Tensor self, Tensor other) -> Tensor}: condition ? a : b. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        checkBroadcast("where", a, b);
        checkBroadcast("where", condition, a);
        return Dispatch.call(WHERE, condition, a, b).tensor(condition).tensor(a).tensor(b).returnTensor();
    }

    /** {@code masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor}: value (0-dim) where mask is true. */
    public static Tensor maskedFill(Tensor t, Tensor mask, Tensor value) {
        if (mask.dtype() != DType.BOOL) throw new IllegalArgumentException("masked_fill needs a bool mask, got " + mask.describe());
        return Dispatch.call(MASKED_FILL, t, mask, value).tensor(t).tensor(mask).tensor(value).returnTensor();
    }

    public static Tensor eq(Tensor a, Tensor b) {
        return binary(EQ, "eq", a, b);
    }

    public static Tensor ne(Tensor a, Tensor b) {
        return binary(NE, "ne", a, b);
    }

    public static Tensor lt(Tensor a, Tensor b) {
        return binary(LT, "lt", a, b);
    }

    public static Tensor gt(Tensor a, Tensor b) {
        return binary(GT, "gt", a, b);
    }

    public static Tensor logicalNot(Tensor t) {
        return unary(LOGICAL_NOT, t);
    }

    public static Tensor isFinite(Tensor t) {
        return unary(ISFINITE, t);
    }

    private static Tensor unary(Op op, Tensor t) {
        return Dispatch.call(op, t).tensor(t).returnTensor();
    }

    private static Tensor binary(Op op, String name, Tensor a, Tensor b) {
        checkBroadcast(name, a, b);
        return Dispatch.call(op, a, b).tensor(a).tensor(b).returnTensor();
    }

    // ================================================================ reductions

    private static final Op SUM = Op.of("aten::sum");
    private static final Op SUM_DIMS = Op.of("aten::sum.dim_IntList");
    private static final Op MEAN_DIMS = Op.of("aten::mean.dim");
    private static final Op AMAX = Op.of("aten::amax");
    private static final Op MAX_DIM = Op.of("aten::max.dim");
    private static final Op ARGMAX = Op.of("aten::argmax");
    private static final Op NORM = Op.of("aten::norm.ScalarOpt_dim");
    private static final Op ALL = Op.of("aten::all");
    private static final Op ANY = Op.of("aten::any");
    private static final Op EQUAL = Op.of("aten::equal");

    /** {@code sum(Tensor self, *, ScalarType? dtype=None) -> Tensor}: a 0-dim total. */
    public static Tensor sum(Tensor t) {
        return Dispatch.call(SUM, t).tensor(t).none().returnTensor();
    }

    /** {@code sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor}. */
    public static Tensor sum(Tensor t, boolean keepDim, int... dims) {
        return sum(t, keepDim, null, dims);
    }

    /** Sum over {@code dims}, accumulating and returning in {@code dtype} (null: the input's). */
    public static Tensor sum(Tensor t, boolean keepDim, DType dtype, int... dims) {
        for (int d : dims) checkDim("sum", t, d);
        return Dispatch.call(SUM_DIMS, t).tensor(t).optInts(toLongs(dims)).bool(keepDim).optDtype(dtype).returnTensor();
    }

    /** {@code mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor}. */
    public static Tensor mean(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) checkDim("mean", t, d);
        return Dispatch.call(MEAN_DIMS, t).tensor(t).optInts(toLongs(dims)).bool(keepDim).none().returnTensor();
    }

    /** {@code amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor}. */
    public static Tensor amax(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) checkDim("amax", t, d);
        return Dispatch.call(AMAX, t).tensor(t).ints(toLongs(dims)).bool(keepDim).returnTensor();
    }

    /** Values and int64 indices of a maximum along one dimension. */
    public record MaxResult(Tensor values, Tensor indices) {
    }

    /** {@code max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)}. */
    public static MaxResult max(Tensor t, int dim, boolean keepDim) {
        checkDim("max", t, dim);
        Tensor[] r = Dispatch.call(MAX_DIM, t).tensor(t).i64(dim).bool(keepDim).returnTensors(2);
        return new MaxResult(r[0], r[1]);
    }

    /** {@code argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor}. */
    public static Tensor argmax(Tensor t, int dim, boolean keepDim) {
        checkDim("argmax", t, dim);
        return Dispatch.call(ARGMAX, t).tensor(t).optI64((long) dim).bool(keepDim).returnTensor();
    }

    /**
     * Euclidean norm over {@code dims}: {@code norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False)}
     * with p = None, which means 2 (the only way to reach a norm without a Scalar in 2.10).
     */
    public static Tensor norm(Tensor t, boolean keepDim, int... dims) {
        for (int d : dims) checkDim("norm", t, d);
        return Dispatch.call(NORM, t).tensor(t).none().ints(toLongs(dims)).bool(keepDim).returnTensor();
    }

    /** {@code all(Tensor self) -> Tensor}: 0-dim bool. */
    public static Tensor all(Tensor t) {
        return unary(ALL, t);
    }

    /** {@code any(Tensor self) -> Tensor}: 0-dim bool. */
    public static Tensor any(Tensor t) {
        return unary(ANY, t);
    }

    /** {@code equal(Tensor self, Tensor other) -> bool}: same shape and same values. */
    public static boolean equal(Tensor a, Tensor b) {
        return Dispatch.call(EQUAL, a, b).tensor(a).tensor(b).returnBool();
    }

    // ================================================================ matrix products

    private static final Op MM = Op.of("aten::mm");
    private static final Op BMM = Op.of("aten::bmm");
    private static final Op MATMUL = Op.of("aten::matmul");

    /** {@code mm(Tensor self, Tensor mat2) -> Tensor}: (n,k)·(k,m) → (n,m). */
    public static Tensor mm(Tensor a, Tensor b) {
        checkProduct("mm", a, b);
        if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0)) {
            throw new IllegalArgumentException("mm needs (n,k)·(k,m), got " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(MM, a, b).tensor(a).tensor(b).returnTensor();
    }

    /** {@code bmm(Tensor self, Tensor mat2) -> Tensor}: (b,n,k)·(b,k,m) → (b,n,m). */
    public static Tensor bmm(Tensor a, Tensor b) {
        checkProduct("bmm", a, b);
        if (a.dim() != 3 || b.dim() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
            throw new IllegalArgumentException("bmm needs (b,n,k)·(b,k,m), got " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(BMM, a, b).tensor(a).tensor(b).returnTensor();
    }

    /** {@code matmul(Tensor self, Tensor other) -> Tensor}: NumPy-style product with batch broadcasting. */
    public static Tensor matmul(Tensor a, Tensor b) {
        checkProduct("matmul", a, b);
        long inner = b.dim() == 1 ? b.size(0) : b.size(-2);
        if (a.dim() == 0 || b.dim() == 0 || a.size(-1) != inner) {
            throw new IllegalArgumentException("matmul inner dimensions differ: " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(MATMUL, a, b).tensor(a).tensor(b).returnTensor();
    }

    // ================================================================ neural-network layers

    private static final Op EMBEDDING = Op.of("aten::embedding");
    private static final Op EMBEDDING_BACKWARD = Op.of("aten::embedding_dense_backward");
    private static final Op INDEX_SELECT = Op.of("aten::index_select");
    private static final Op GATHER = Op.of("aten::gather");
    private static final Op FUSED_RMS_NORM = Op.of("aten::_fused_rms_norm");
    private static final Op LOG_SOFTMAX = Op.of("aten::_log_softmax");
    private static final Op LOG_SOFTMAX_BACKWARD = Op.of("aten::_log_softmax_backward_data");
    private static final Op SOFTMAX = Op.of("aten::_softmax");
    private static final Op NLL_LOSS = Op.of("aten::nll_loss_forward");
    private static final Op NLL_LOSS_BACKWARD = Op.of("aten::nll_loss_backward");
    private static final Op FLASH_CPU = Op.of("aten::_scaled_dot_product_flash_attention_for_cpu");
    private static final Op FLASH_CPU_BACKWARD = Op.of("aten::_scaled_dot_product_flash_attention_for_cpu_backward");
    private static final Op FLASH_CUDA = Op.of("aten::_scaled_dot_product_flash_attention");
    private static final Op FLASH_CUDA_BACKWARD = Op.of("aten::_scaled_dot_product_flash_attention_backward");

    /** {@code embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False)}: rows of weight. */
    public static Tensor embedding(Tensor weight, Tensor indices) {
        checkIndices("embedding", indices);
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding weight must be (vocab, dim), got " + weight.describe());
        return Dispatch.call(EMBEDDING, weight, indices).tensor(weight).tensor(indices).i64(-1).bool(false).bool(false).returnTensor();
    }

    /**
     * {@code embedding_dense_backward(Tensor grad_output, Tensor indices, SymInt num_weights, SymInt padding_idx,
     * bool scale_grad_by_freq) -> Tensor}: (numWeights, dim) gradient, repeated indices accumulated.
     */
    public static Tensor embeddingBackward(Tensor gradOutput, Tensor indices, long numWeights) {
        checkIndices("embedding_dense_backward", indices);
        return Dispatch.call(EMBEDDING_BACKWARD, gradOutput, indices).tensor(gradOutput).tensor(indices)
                .i64(numWeights).i64(-1).bool(false).returnTensor();
    }

    /** {@code index_select(Tensor self, int dim, Tensor index) -> Tensor}. */
    public static Tensor indexSelect(Tensor t, int dim, Tensor index) {
        checkDim("index_select", t, dim);
        checkIndices("index_select", index);
        return Dispatch.call(INDEX_SELECT, t, index).tensor(t).i64(dim).tensor(index).returnTensor();
    }

    /** {@code gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor}. */
    public static Tensor gather(Tensor t, int dim, Tensor index) {
        checkDim("gather", t, dim);
        checkIndices("gather", index);
        return Dispatch.call(GATHER, t, index).tensor(t).i64(dim).tensor(index).bool(false).returnTensor();
    }

    private static final Op INDEX_PUT_ = Op.of("aten::index_put_");

    /**
     * {@code index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor(a!)}:
     * self[indices] ← values, or self[indices] += values when {@code accumulate} (repeated indices then add up).
     * One int64 index tensor per leading dimension of self; values must have self's dtype.
     */
    public static void indexPut(Tensor self, Tensor[] indices, Tensor values, boolean accumulate) {
        if (indices.length == 0 || indices.length > self.dim()) {
            throw new IllegalArgumentException("index_put_ needs 1.." + self.dim() + " index tensors for " + self.describe() + ", got " + indices.length);
        }
        for (Tensor i : indices) checkIndices("index_put_", i);
        if (values.dtype() != self.dtype()) {
            throw new IllegalArgumentException("index_put_: values " + values.describe() + " must have the dtype of " + self.describe());
        }
        Tensor[] inputs = concat(new Tensor[]{self}, indices, new Tensor[]{values});
        Dispatch.call(INDEX_PUT_, inputs).tensor(self).optTensors(indices).tensor(values).bool(accumulate).runInPlace();
    }

    private static final Op SCATTER_ADD_ = Op.of("aten::scatter_add_");

    /**
     * {@code scatter_add_(Tensor(a!) self, int dim, Tensor index, Tensor src) -> Tensor(a!)}: for dim 0,
     * self[index[i][j]][j] += src[i][j], repeated indices adding up. index is int64 with src's number of
     * dimensions and no larger than src; src must have self's dtype.
     */
    public static void scatterAdd(Tensor self, int dim, Tensor index, Tensor src) {
        checkDim("scatter_add_", self, dim);
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

    /** Output of an RMSNorm and the reciprocal RMS per row (shape (..., 1)) that its backward needs. */
    public record RmsNormResult(Tensor output, Tensor rstd) {
    }

    /** {@code _fused_rms_norm(Tensor input, int[] normalized_shape, Tensor? weight, float? eps) -> (Tensor, Tensor)} over the last dimension. */
    public static RmsNormResult rmsNorm(Tensor x, Tensor weight, double eps) {
        if (weight.dim() != 1 || weight.size(0) != x.size(-1)) {
            throw new IllegalArgumentException("rms_norm weight must be (" + x.size(-1) + "), got " + weight.describe());
        }
        Tensor[] r = Dispatch.call(FUSED_RMS_NORM, x, weight).tensor(x).ints(x.size(-1)).optTensor(weight).optF64(eps).returnTensors(2);
        return new RmsNormResult(r[0], r[1]);
    }

    /** Gradients of an RMSNorm with respect to its input and its weight. */
    public record RmsNormGrads(Tensor input, Tensor weight) {
    }

    /**
     * RMSNorm backward, composed (2.10 has no CPU kernel for {@code _fused_rms_norm_backward}), in float32
     * (float64 for float64 inputs): with y = x·r·w and r = rstd, dx = r·(g·w) − x·r³·mean(g·w·x), dw = Σ_rows g·x·r.
     */
    public static RmsNormGrads rmsNormBackward(Tensor gradOutput, Tensor x, Tensor rstd, Tensor weight) {
        checkSameShape("rms_norm backward", gradOutput, x);
        try (TensorScope scope = TensorScope.open()) {
            DType compute = x.dtype() == DType.F64 ? DType.F64 : DType.F32;
            Tensor g = gradOutput.to(compute), xf = x.to(compute), r = rstd.to(compute), w = weight.to(compute);
            Tensor gw = mul(g, w);
            Tensor meanGwx = mean(mul(gw, xf), true, -1);
            Tensor r3 = mul(mul(r, r), r);
            Tensor dx = sub(mul(gw, r), mul(mul(xf, r3), meanGwx));
            int[] rows = new int[x.dim() - 1];
            for (int i = 0; i < rows.length; i++) rows[i] = i;
            Tensor gxr = mul(mul(g, xf), r);
            Tensor dw = rows.length == 0 ? gxr : sum(gxr, false, rows);
            return new RmsNormGrads(scope.keep(dx.to(x.dtype())), scope.keep(dw.to(weight.dtype())));
        }
    }

    /** {@code _log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor}. */
    public static Tensor logSoftmax(Tensor t, int dim) {
        checkDim("log_softmax", t, dim);
        return Dispatch.call(LOG_SOFTMAX, t).tensor(t).i64(dim).bool(false).returnTensor();
    }

    /** {@code _log_softmax_backward_data(Tensor grad_output, Tensor output, int dim, ScalarType input_dtype) -> Tensor}. */
    public static Tensor logSoftmaxBackward(Tensor gradOutput, Tensor output, int dim) {
        checkSameShape("log_softmax backward", gradOutput, output);
        return Dispatch.call(LOG_SOFTMAX_BACKWARD, gradOutput, output).tensor(gradOutput).tensor(output).i64(dim)
                .dtype(output.dtype()).returnTensor();
    }

    /** {@code _softmax(Tensor self, int dim, bool half_to_float) -> Tensor}. */
    public static Tensor softmax(Tensor t, int dim) {
        checkDim("softmax", t, dim);
        return Dispatch.call(SOFTMAX, t).tensor(t).i64(dim).bool(false).returnTensor();
    }

    /** How a loss over tokens is reduced (ATen's Reduction enum). */
    public enum Reduction { NONE, MEAN, SUM }

    /** A negative log-likelihood loss and the number (weight) of targets that counted. */
    public record NllResult(Tensor loss, Tensor totalWeight) {
    }

    /**
     * {@code nll_loss_forward(Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index)}:
     * logProbs (N, C), targets (N) int64; targets equal to ignoreIndex count for nothing.
     */
    public static NllResult nllLoss(Tensor logProbs, Tensor targets, Reduction reduction, long ignoreIndex) {
        checkNll(logProbs, targets);
        Tensor[] r = Dispatch.call(NLL_LOSS, logProbs, targets).tensor(logProbs).tensor(targets).none()
                .i64(reduction.ordinal()).i64(ignoreIndex).returnTensors(2);
        return new NllResult(r[0], r[1]);
    }

    /** {@code nll_loss_backward(Tensor grad_output, Tensor self, Tensor target, Tensor? weight, int reduction, SymInt ignore_index, Tensor total_weight)}. */
    public static Tensor nllLossBackward(Tensor gradOutput, Tensor logProbs, Tensor targets, Reduction reduction,
                                         long ignoreIndex, Tensor totalWeight) {
        checkNll(logProbs, targets);
        return Dispatch.call(NLL_LOSS_BACKWARD, gradOutput, logProbs, targets, totalWeight).tensor(gradOutput).tensor(logProbs)
                .tensor(targets).none().i64(reduction.ordinal()).i64(ignoreIndex).tensor(totalWeight).returnTensor();
    }

    /**
     * Which attention kernel runs. {@link #CPU_FLASH}: libtorch's CPU flash kernel (any float dtype);
     * {@link #CUDA_FLASH}: FlashAttention-2 on CUDA (bf16 and f16 only); {@link #MATH}: softmax(q·kᵀ)·v
     * composed of matmuls, on any device and dtype, which CUDA uses for f32 and f64 (the flash kernel
     * has none) at the cost of an (L × L) probability matrix per head.
     */
    public enum AttentionKernel {
        CPU_FLASH, CUDA_FLASH, MATH;

        /** The kernel for tensors like {@code q}. */
        public static AttentionKernel of(Tensor q) {
            if (q.device().type() == Device.Type.CPU) return CPU_FLASH;
            return q.dtype() == DType.BF16 || q.dtype() == DType.F16 ? CUDA_FLASH : MATH;
        }
    }

    /**
     * Attention output (B, H, L, E) and what the kernel's backward needs: the log-sum-exp per query
     * (B, H, L) for the flash kernels, the probabilities (B, H, L, S) for {@link AttentionKernel#MATH}.
     */
    public record AttentionResult(Tensor output, Tensor saved, AttentionKernel kernel) {
    }

    /** {@link #attention(Tensor, Tensor, Tensor, boolean, Double, AttentionKernel)} with the kernel for q's device and dtype. */
    public static AttentionResult attention(Tensor q, Tensor k, Tensor v, boolean causal, Double scale) {
        return attention(q, k, v, causal, scale, AttentionKernel.of(q));
    }

    /**
     * Scaled dot-product attention of q (B, H, L, E) over k, v (B, H, S, E), equal head counts (repeat
     * KV heads first); scale null means 1/√E; causal masks key j &gt; query i (top-left aligned, as
     * PyTorch's is_causal). Schemas: {@code _scaled_dot_product_flash_attention_for_cpu(query, key, value,
     * float dropout_p=0.0, bool is_causal=False, *, Tensor? attn_mask=None, float? scale=None) -> (output,
     * logsumexp)}; {@code _scaled_dot_product_flash_attention(query, key, value, float dropout_p=0.0, bool
     * is_causal=False, bool return_debug_mask=False, *, float? scale=None) -> (output, logsumexp, cum_seq_q,
     * cum_seq_k, SymInt max_q, SymInt max_k, rng_state, unused, debug_attn_mask)}.
     */
    public static AttentionResult attention(Tensor q, Tensor k, Tensor v, boolean causal, Double scale, AttentionKernel kernel) {
        checkAttention(q, k, v, kernel);
        return switch (kernel) {
            case CPU_FLASH -> {
                Tensor[] r = Dispatch.call(FLASH_CPU, q, k, v).tensor(q).tensor(k).tensor(v).f64(0.0).bool(causal).none()
                        .optF64(scale).returnTensors(2);
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
            case MATH -> mathAttention(q, k, v, causal, scaleOf(q, scale));
        };
    }

    /** Gradients of attention with respect to q, k and v. */
    public record AttentionGrads(Tensor query, Tensor key, Tensor value) {
    }

    /**
     * The backward of {@link #attention}, by the kernel that ran the forward: {@code
     * _scaled_dot_product_flash_attention_for_cpu_backward(grad_out, query, key, value, out, logsumexp,
     * dropout_p, is_causal, *, attn_mask, scale)}; {@code _scaled_dot_product_flash_attention_backward(grad_out,
     * query, key, value, out, logsumexp, cum_seq_q, cum_seq_k, SymInt max_q, SymInt max_k, float dropout_p,
     * bool is_causal, philox_seed, philox_offset, *, float? scale=None)}; or the math kernel's own.
     */
    public static AttentionGrads attentionBackward(Tensor gradOutput, Tensor q, Tensor k, Tensor v,
                                                   AttentionResult forward, boolean causal, Double scale) {
        checkAttention(q, k, v, forward.kernel());
        checkSameShape("attention backward", gradOutput, forward.output());
        Tensor[] r = switch (forward.kernel()) {
            case CPU_FLASH -> Dispatch.call(FLASH_CPU_BACKWARD, gradOutput, q, k, v, forward.output(), forward.saved())
                    .tensor(gradOutput).tensor(q).tensor(k).tensor(v).tensor(forward.output()).tensor(forward.saved())
                    .f64(0.0).bool(causal).none().optF64(scale).returnTensors(3);
            case CUDA_FLASH -> Dispatch.call(FLASH_CUDA_BACKWARD, gradOutput, q, k, v, forward.output(), forward.saved())
                    .tensor(gradOutput).tensor(q).tensor(k).tensor(v).tensor(forward.output()).tensor(forward.saved())
                    .undefinedTensor().undefinedTensor().i64(q.size(2)).i64(k.size(2)).f64(0.0).bool(causal)
                    .undefinedTensor().undefinedTensor().optF64(scale).returnTensors(3);
            case MATH -> mathAttentionBackward(gradOutput, q, k, v, forward, scaleOf(q, scale));
        };
        return new AttentionGrads(r[0], r[1], r[2]);
    }

    private static double scaleOf(Tensor q, Double scale) {
        return scale != null ? scale : 1 / Math.sqrt(q.size(3));
    }

    /** P = softmax(scale·q·kᵀ, masked), O = P·v; P is kept for the backward. */
    private static AttentionResult mathAttention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor scores = mul(matmul(q, transpose(k, 2, 3)), scale);                                  // (B,H,L,S)
            if (causal) {
                long l = q.size(2), s = k.size(2);
                boolean[] above = new boolean[Math.toIntExact(l * s)];
                for (int i = 0; i < l; i++) for (int j = i + 1; j < s; j++) above[(int) (i * s + j)] = true;
                Tensor mask = Tensor.of(above, l, s).to(q.device());
                scores = maskedFill(scores, mask, Tensor.scalar(Double.NEGATIVE_INFINITY));
            }
            Tensor p = softmax(scores, 3);
            return new AttentionResult(scope.keep(matmul(p, v)), scope.keep(p), AttentionKernel.MATH);
        }
    }

    /** dV = Pᵀ·dO, dS = P ⊙ (dO·vᵀ − rowsum(dO·vᵀ ⊙ P)), dQ = scale·dS·k, dK = scale·dSᵀ·q. */
    private static Tensor[] mathAttentionBackward(Tensor gradOutput, Tensor q, Tensor k, Tensor v, AttentionResult forward,
                                                  double scale) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor p = forward.saved();
            Tensor dv = matmul(transpose(p, 2, 3), gradOutput);
            Tensor dp = matmul(gradOutput, transpose(v, 2, 3));
            Tensor ds = mul(p, sub(dp, sum(mul(dp, p), true, 3)));
            Tensor dq = mul(matmul(ds, k), scale);
            Tensor dk = mul(matmul(transpose(ds, 2, 3), q), scale);
            return new Tensor[]{scope.keep(dq), scope.keep(dk), scope.keep(dv)};
        }
    }

    // ================================================================ optimizer and mixed precision

    private static final Op FUSED_ADAMW = Op.of("aten::_fused_adamw_.tensor_lr");
    private static final Op NON_FINITE_CHECK = Op.of("aten::_amp_foreach_non_finite_check_and_unscale_");
    private static final Op UPDATE_SCALE = Op.of("aten::_amp_update_scale_");
    private static final Op FOREACH_MUL = Op.of("aten::_foreach_mul_.Tensor");

    /**
     * One AdamW step on every parameter, in place: {@code _fused_adamw_.tensor_lr(self, grads, exp_avgs, exp_avg_sqs,
     * max_exp_avg_sqs=[], state_steps, *, Tensor lr, beta1, beta2, weight_decay, eps, amsgrad=False, maximize=False,
     * grad_scale, found_inf)}. {@code steps} are 0-dim float tensors holding the step number to use (the op does not
     * increment them); {@code lr} is a 0-dim float tensor; gradScale and foundInf may be null.
     */
    public static void fusedAdamW(Tensor[] params, Tensor[] grads, Tensor[] expAvgs, Tensor[] expAvgSqs, Tensor[] steps,
                                  Tensor lr, double beta1, double beta2, double weightDecay, double eps,
                                  Tensor gradScale, Tensor foundInf) {
        int n = params.length;
        if (grads.length != n || expAvgs.length != n || expAvgSqs.length != n || steps.length != n) {
            throw new IllegalArgumentException("fused AdamW needs equally many params, grads, moments and steps, got "
                    + n + ", " + grads.length + ", " + expAvgs.length + ", " + expAvgSqs.length + ", " + steps.length);
        }
        for (int i = 0; i < n; i++) {
            checkSameShape("fused AdamW grad " + i, grads[i], params[i]);
            checkSameShape("fused AdamW exp_avg " + i, expAvgs[i], params[i]);
            checkSameShape("fused AdamW exp_avg_sq " + i, expAvgSqs[i], params[i]);
        }
        writable("fused AdamW", concat(params, grads, expAvgs, expAvgSqs));
        Tensor[] inputs = concat(params, grads, expAvgs, expAvgSqs, steps, new Tensor[]{lr, gradScale, foundInf});
        Dispatch.call(FUSED_ADAMW, inputs).tensors(params).tensors(grads).tensors(expAvgs).tensors(expAvgSqs).tensors()
                .tensors(steps).tensor(lr).f64(beta1).f64(beta2).f64(weightDecay).f64(eps).bool(false).bool(false)
                .optTensor(gradScale).optTensor(foundInf).run();
    }

    /**
     * {@code _amp_foreach_non_finite_check_and_unscale_(Tensor(a!)[] self, Tensor(b!) found_inf, Tensor inv_scale)}:
     * multiplies every gradient by invScale and sets foundInf (1-element float) to 1 if any value is inf or NaN.
     */
    public static void unscaleAndCheckFinite(Tensor[] grads, Tensor foundInf, Tensor invScale) {
        writable("unscale", concat(grads, new Tensor[]{foundInf}));
        Dispatch.call(NON_FINITE_CHECK, concat(grads, new Tensor[]{foundInf, invScale})).tensors(grads).tensor(foundInf)
                .tensor(invScale).run();
    }

    /**
     * {@code _amp_update_scale_(Tensor(a!) self, Tensor(b!) growth_tracker, Tensor found_inf, float scale_growth_factor,
     * float scale_backoff_factor, int growth_interval) -> Tensor(a!)}: GradScaler's update, in place on scale and tracker.
     */
    public static void updateLossScale(Tensor scale, Tensor growthTracker, Tensor foundInf, double growthFactor,
                                       double backoffFactor, long growthInterval) {
        writable("update loss scale", scale, growthTracker);
        Dispatch.call(UPDATE_SCALE, scale, growthTracker, foundInf).tensor(scale).tensor(growthTracker).tensor(foundInf)
                .f64(growthFactor).f64(backoffFactor).i64(growthInterval).runInPlace();
    }

    /** {@code _foreach_mul_.Tensor(Tensor(a!)[] self, Tensor other)}: every tensor ← tensor · factor (0-dim). */
    public static void multiplyAll(Tensor[] tensors, Tensor factor) {
        writable("_foreach_mul_", tensors);
        Dispatch.call(FOREACH_MUL, concat(tensors, new Tensor[]{factor})).tensors(tensors).tensor(factor).run();
    }

    // ================================================================ checks made before calling libtorch

    private static void writable(String op, Tensor... ts) {
        for (Tensor t : ts) t.writableHandle(op);
    }

    private static void checkDim(String op, Tensor t, int dim) {
        int n = t.dim();
        if (dim < -n || dim >= Math.max(n, 1)) {
            throw new IndexOutOfBoundsException(op + ": dimension " + dim + " is out of range for " + t.describe());
        }
    }

    private static void checkReshape(String op, Tensor t, long[] shape) {
        long known = 1;
        int inferred = 0;
        for (long s : shape) {
            if (s == -1) inferred++;
            else if (s < 0) throw new IllegalArgumentException(op + ": invalid size " + s + " in " + Arrays.toString(shape));
            else known *= s;
        }
        long n = t.numel();
        boolean fits = inferred == 0 ? known == n : inferred == 1 && known != 0 && n % known == 0;
        if (inferred > 1 || !fits) {
            throw new IllegalArgumentException(op + ": cannot make shape " + Arrays.toString(shape) + " from " + t.describe()
                    + " (" + n + " elements)");
        }
    }

    private static void checkSameShape(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new IllegalArgumentException(op + ": shapes differ: " + a.describe() + " vs " + b.describe());
        }
    }

    private static void checkProduct(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new IllegalArgumentException(op + ": dtypes differ: " + a.describe() + " · " + b.describe());
        sameDevice(op, a, b);
    }

    private static void sameDevice(String op, Tensor... ts) {
        Device first = null;
        for (Tensor t : ts) {
            if (t.dim() == 0) continue; // 0-dim CPU tensors mix with any device, as in PyTorch
            Device d = t.device();
            if (first == null) first = d;
            else if (!first.equals(d)) throw new IllegalArgumentException(op + ": tensors on different devices: " + first + " and " + d);
        }
    }

    /** NumPy broadcasting: aligned from the right, each pair of sizes equal or one of them 1. */
    private static void checkBroadcast(String op, Tensor a, Tensor b) {
        long[] x = a.shapeRef(), y = b.shapeRef();
        for (int i = 1; i <= Math.min(x.length, y.length); i++) {
            long p = x[x.length - i], q = y[y.length - i];
            if (p != q && p != 1 && q != 1) {
                throw new IllegalArgumentException(op + ": shapes do not broadcast: " + a.describe() + " and " + b.describe());
            }
        }
        sameDevice(op, a, b);
    }

    private static void checkBroadcastTo(String op, Tensor source, long[] target) {
        long[] s = source.shapeRef();
        boolean ok = s.length <= target.length;
        for (int i = 1; ok && i <= s.length; i++) {
            long p = s[s.length - i];
            ok = p == 1 || p == target[target.length - i];
        }
        if (!ok) throw new IllegalArgumentException(op + ": " + source.describe() + " does not broadcast to " + Arrays.toString(target));
    }

    private static void checkIndices(String op, Tensor indices) {
        if (indices.dtype() != DType.I64 && indices.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": indices must be int64 or int32, got " + indices.describe());
        }
    }

    private static void checkNll(Tensor logProbs, Tensor targets) {
        if (logProbs.dim() != 2 || targets.dim() != 1 || logProbs.size(0) != targets.size(0)) {
            throw new IllegalArgumentException("nll_loss needs log-probs (N, C) and targets (N), got "
                    + logProbs.describe() + " and " + targets.describe());
        }
        if (targets.dtype() != DType.I64) throw new IllegalArgumentException("nll_loss targets must be int64, got " + targets.describe());
    }

    private static void checkAttention(Tensor q, Tensor k, Tensor v, AttentionKernel kernel) {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) {
            throw new IllegalArgumentException("attention needs (B, H, L, E) tensors, got " + q.describe() + ", " + k.describe() + ", " + v.describe());
        }
        if (q.size(1) != k.size(1) || k.size(1) != v.size(1)) {
            throw new IllegalArgumentException("attention needs equal head counts (repeat KV heads first), got "
                    + q.describe() + ", " + k.describe() + ", " + v.describe());
        }
        Device device = q.device();
        boolean fits = switch (kernel) {
            case CPU_FLASH -> device.type() == Device.Type.CPU;
            case CUDA_FLASH -> device.type() == Device.Type.CUDA && (q.dtype() == DType.BF16 || q.dtype() == DType.F16);
            case MATH -> true;
        };
        if (!fits) throw new IllegalArgumentException("attention kernel " + kernel + " cannot run on " + q.describe());
    }

    private static long[] toLongs(int[] ints) {
        long[] out = new long[ints.length];
        for (int i = 0; i < ints.length; i++) out[i] = ints[i];
        return out;
    }

    private static Tensor[] concat(Tensor[]... groups) {
        return Arrays.stream(groups).flatMap(Arrays::stream).toArray(Tensor[]::new);
    }

    /** Codes of the MemoryFormat enum, read from libtorch. */
    private static final class MemoryFormats {
        static final long CONTIGUOUS = TorchStable.aoti_torch_memory_format_contiguous_format();
    }
}
