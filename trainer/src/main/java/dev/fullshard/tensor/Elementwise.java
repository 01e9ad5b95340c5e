package dev.fullshard.tensor;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.Dispatch.Op;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Elementwise arithmetic, activations and comparisons, with NumPy broadcasting.
 *
 * <p>libtorch 2.10's dispatcher cannot pass a {@code Scalar}, so add and sub go through the generated C shim
 * {@code aoti_torch_aten_subtract_Tensor}, which takes alpha as a double, and a plain-number factor
 * through the overload that takes a 0-dim tensor.
 *
 * <p>Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Elementwise {
    private Elementwise() {
    }

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
        Checks.broadcast(op, a, b);
        MemorySegment out = Scratch.get().cell;
        long start = OpProfile.ON ? System.nanoTime() : 0;
        Tensor.check(TorchStable.aoti_torch_aten_subtract_Tensor(a.handle(), b.handle(), alpha, out),
                "aten::subtract.Tensor", a, b);
        if (OpProfile.ON) OpProfile.record("aten::subtract.Tensor", start);
        return Tensor.adopt(out.get(JAVA_LONG, 0));
    }

    /** a + s for a plain number s. */
    public static Tensor add(Tensor a, double s) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(sub(a, Tensor.scalar(s), -1.0));
        }
    }

    private static final Op MUL = Op.of("aten::mul.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor mul(Tensor a, Tensor b) {
        Checks.broadcast("mul", a, b);
        return Dispatch.call(MUL, a, b).tensor(a).tensor(b).returnTensor();
    }

    /** a · s for a plain number s (mul.Tensor with a 0-dim tensor, which keeps a's dtype). */
    public static Tensor mul(Tensor a, double s) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(mul(a, Tensor.scalar(s)));
        }
    }

    private static final Op DIV = Op.of("aten::div.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor div(Tensor a, Tensor b) {
        Checks.broadcast("div", a, b);
        return Dispatch.call(DIV, a, b).tensor(a).tensor(b).returnTensor();
    }

    private static final Op POW = Op.of("aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor");
    public static Tensor pow(Tensor a, Tensor exponent) {
        Checks.broadcast("pow", a, exponent);
        return Dispatch.call(POW, a, exponent).tensor(a).tensor(exponent).returnTensor();
    }

    private static final Op NEG = Op.of("aten::neg(Tensor self) -> Tensor");
    public static Tensor neg(Tensor t) {
        return unary(NEG, t);
    }

    private static final Op EXP = Op.of("aten::exp(Tensor self) -> Tensor");
    public static Tensor exp(Tensor t) {
        return unary(EXP, t);
    }

    private static final Op LOG = Op.of("aten::log(Tensor self) -> Tensor");
    public static Tensor log(Tensor t) {
        return unary(LOG, t);
    }

    private static final Op RSQRT = Op.of("aten::rsqrt(Tensor self) -> Tensor");
    public static Tensor rsqrt(Tensor t) {
        return unary(RSQRT, t);
    }

    private static final Op SQUARE = Op.of("aten::square(Tensor self) -> Tensor");
    public static Tensor square(Tensor t) {
        return unary(SQUARE, t);
    }

    private static final Op ABS = Op.of("aten::abs(Tensor self) -> Tensor");
    public static Tensor abs(Tensor t) {
        return unary(ABS, t);
    }

    private static final Op RECIPROCAL = Op.of("aten::reciprocal(Tensor self) -> Tensor");
    public static Tensor reciprocal(Tensor t) {
        return unary(RECIPROCAL, t);
    }

    private static final Op SIGMOID = Op.of("aten::sigmoid(Tensor self) -> Tensor");
    public static Tensor sigmoid(Tensor t) {
        return unary(SIGMOID, t);
    }

    private static final Op SILU = Op.of("aten::silu(Tensor self) -> Tensor");
    /** x·sigmoid(x). */
    public static Tensor silu(Tensor t) {
        return unary(SILU, t);
    }

    private static final Op SILU_BACKWARD = Op.of("aten::silu_backward(Tensor grad_output, Tensor self) -> Tensor");
    /** grad · d silu(x)/dx. */
    public static Tensor siluBackward(Tensor gradOutput, Tensor x) {
        Checks.sameShape("silu_backward", gradOutput, x);
        return Dispatch.call(SILU_BACKWARD, gradOutput, x).tensor(gradOutput).tensor(x).returnTensor();
    }

    private static final Op MAXIMUM = Op.of("aten::maximum(Tensor self, Tensor other) -> Tensor");
    public static Tensor maximum(Tensor a, Tensor b) {
        return binary(MAXIMUM, "maximum", a, b);
    }

    private static final Op MINIMUM = Op.of("aten::minimum(Tensor self, Tensor other) -> Tensor");
    public static Tensor minimum(Tensor a, Tensor b) {
        return binary(MINIMUM, "minimum", a, b);
    }

    private static final Op CLAMP = Op.of("aten::clamp.Tensor(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor");
    /** min ≤ result ≤ max elementwise; either bound may be null. */
    public static Tensor clamp(Tensor t, Tensor min, Tensor max) {
        return Dispatch.call(CLAMP, t, min, max).tensor(t).optTensor(min).optTensor(max).returnTensor();
    }

    private static final Op WHERE = Op.of("aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor");
    /** condition ? a : b. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        Checks.broadcast("where", a, b);
        Checks.broadcast("where", condition, a);
        return Dispatch.call(WHERE, condition, a, b).tensor(condition).tensor(a).tensor(b).returnTensor();
    }

    private static final Op MASKED_FILL = Op.of("aten::masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor");
    /** t, with value (0-dim) where mask is true. */
    public static Tensor maskedFill(Tensor t, Tensor mask, Tensor value) {
        if (mask.dtype() != DType.BOOL) throw new IllegalArgumentException("masked_fill needs a bool mask, got " + mask.describe());
        return Dispatch.call(MASKED_FILL, t, mask, value).tensor(t).tensor(mask).tensor(value).returnTensor();
    }

    private static final Op EQ = Op.of("aten::eq.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor eq(Tensor a, Tensor b) {
        return binary(EQ, "eq", a, b);
    }

    private static final Op NE = Op.of("aten::ne.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor ne(Tensor a, Tensor b) {
        return binary(NE, "ne", a, b);
    }

    private static final Op LT = Op.of("aten::lt.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor lt(Tensor a, Tensor b) {
        return binary(LT, "lt", a, b);
    }

    private static final Op GT = Op.of("aten::gt.Tensor(Tensor self, Tensor other) -> Tensor");
    public static Tensor gt(Tensor a, Tensor b) {
        return binary(GT, "gt", a, b);
    }

    private static final Op LOGICAL_NOT = Op.of("aten::logical_not(Tensor self) -> Tensor");
    public static Tensor logicalNot(Tensor t) {
        return unary(LOGICAL_NOT, t);
    }

    private static final Op ISFINITE = Op.of("aten::isfinite(Tensor self) -> Tensor");
    public static Tensor isFinite(Tensor t) {
        return unary(ISFINITE, t);
    }

    private static Tensor unary(Op op, Tensor t) {
        return Dispatch.call(op, t).tensor(t).returnTensor();
    }

    private static Tensor binary(Op op, String name, Tensor a, Tensor b) {
        Checks.broadcast(name, a, b);
        return Dispatch.call(op, a, b).tensor(a).tensor(b).returnTensor();
    }
}
