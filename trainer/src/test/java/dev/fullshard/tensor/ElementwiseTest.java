package dev.fullshard.tensor;

import dev.fullshard.tensor.RefMath.Input;
import dev.fullshard.tensor.RefMath.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.BiPredicate;
import java.util.function.BinaryOperator;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static dev.fullshard.tensor.RefMath.input;
import static dev.fullshard.tensor.RefMath.sigmoid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/**
 * {@link Elementwise} ops against a double-precision Java reference, in float32 and bfloat16, on
 * contiguous, transposed and strided inputs. 6×37 elements exercise both the vectorised loop and its tail.
 */
@ExtendWith(NoLeakedTensors.class)
class ElementwiseTest {
    private static final long ROWS = 6, COLS = 37;
    private static Ref randn(long seed, double scale) {
        return Ref.randn(seed, scale, ROWS, COLS);
    }

    /** Keeps x away from 0 by at least {@code gap}, keeping its sign. */
    private static DoubleUnaryOperator awayFromZero(double gap) {
        return x -> x < 0 ? x - gap : x + gap;
    }

    /** A non-contiguous layout for these values (a transpose only makes one when both last sizes exceed 1). */
    private static Layout nonContiguous(Ref values) {
        int n = values.dim();
        return n >= 2 && values.shape[n - 1] > 1 && values.shape[n - 2] > 1 ? Layout.TRANSPOSED : Layout.STRIDED;
    }

    private static void checkUnary(String op, UnaryOperator<Tensor> f, DoubleUnaryOperator ref, Ref values, DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(values, dtype, layout);
                Tensor y = f.apply(x.tensor());
                assertThat(y.dtype()).as(op + " dtype").isEqualTo(dtype);
                Ref.assertClose(y, x.values().map(ref), dtype, op + " " + dtype + " " + layout);
            }
        }
    }

    private static void checkBinary(String op, BinaryOperator<Tensor> f, DoubleBinaryOperator ref,
                                    Ref a, Ref b, DType dtype, boolean exact) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(a, dtype, layout == Layout.TRANSPOSED ? nonContiguous(a) : layout);
                Input y = input(b, dtype, nonContiguous(b));
                Tensor z = f.apply(x.tensor(), y.tensor());
                assertThat(z.dtype()).as(op + " dtype").isEqualTo(dtype);
                Ref expected = RefMath.zip(x.values(), y.values(), ref);
                String what = op + " " + dtype + " " + layout;
                if (exact) Ref.assertExact(z, expected, what);
                else Ref.assertClose(z, expected, dtype, what);
            }
        }
    }

    // ---------------------------------------------------------------- add / sub / mul / div / pow

    @ParameterizedTest(name = "aten::subtract.Tensor as add {0}")
    @EnumSource(names = {"F32", "BF16"})
    void addTensor(DType dtype) {
        checkBinary("add", Elementwise::add, Double::sum, randn(1, 1), randn(2, 1), dtype, false);
    }

    @ParameterizedTest(name = "aten::subtract.Tensor as add with alpha, broadcast {0}")
    @EnumSource(names = {"F32", "BF16"})
    void addWithAlphaBroadcast(DType dtype) {
        checkBinary("add alpha 0.5", (a, b) -> Elementwise.add(a, b, 0.5), (a, b) -> a + 0.5 * b,
                randn(3, 1), Ref.randn(4, 1, COLS), dtype, false);
        checkBinary("add alpha -3", (a, b) -> Elementwise.add(a, b, -3), (a, b) -> a - 3 * b,
                Ref.randn(5, 1, 1, COLS), Ref.randn(6, 1, ROWS, 1), dtype, false);
    }

    @ParameterizedTest(name = "aten::subtract.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void subTensor(DType dtype) {
        checkBinary("sub", Elementwise::sub, (a, b) -> a - b, randn(7, 1), randn(8, 1), dtype, false);
        checkBinary("sub broadcast", Elementwise::sub, (a, b) -> a - b, randn(9, 1), Ref.randn(10, 1, ROWS, 1), dtype, false);
    }

    @ParameterizedTest(name = "aten::subtract.Tensor with alpha {0}")
    @EnumSource(names = {"F32", "BF16"})
    void subWithAlpha(DType dtype) {
        checkBinary("sub alpha 2.5", (a, b) -> Elementwise.sub(a, b, 2.5), (a, b) -> a - 2.5 * b,
                randn(11, 1), Ref.randn(12, 1, COLS), dtype, false);
    }

    @ParameterizedTest(name = "aten::subtract.Tensor with a 0-dim scalar (add double) {0}")
    @EnumSource(names = {"F32", "BF16"})
    void addDouble(DType dtype) {
        checkUnary("add 0.375", x -> Elementwise.add(x, 0.375), x -> x + 0.375, randn(13, 1), dtype);
        checkUnary("add -1e3", x -> Elementwise.add(x, -1e3), x -> x - 1e3, randn(14, 1), dtype);
    }

    @ParameterizedTest(name = "aten::mul.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void mulTensor(DType dtype) {
        checkBinary("mul", Elementwise::mul, (a, b) -> a * b, randn(15, 1), randn(16, 2), dtype, false);
        checkBinary("mul broadcast", Elementwise::mul, (a, b) -> a * b, randn(17, 1), Ref.randn(18, 1, COLS), dtype, false);
    }

    @ParameterizedTest(name = "aten::mul.Tensor with a 0-dim double keeps the dtype {0}")
    @EnumSource(names = {"F32", "BF16"})
    void mulDouble(DType dtype) {
        checkUnary("mul 1/3", x -> Elementwise.mul(x, 1.0 / 3), x -> x / 3, randn(19, 3), dtype);
        checkUnary("mul -1e4", x -> Elementwise.mul(x, -1e4), x -> x * -1e4, randn(20, 1), dtype);
    }

    @ParameterizedTest(name = "aten::mul_.Tensor through a view {0}")
    @EnumSource(names = {"F32", "BF16"})
    void mulInPlace(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor base = randn(21, 1).transpose(0, 1).toTensor(dtype);
            Ref before = Ref.of(base);
            Tensor view = Views.transpose(base, 0, 1);
            Input b = input(Ref.randn(22, 1, COLS), dtype, Layout.STRIDED);
            InPlace.mulInPlace(view, b.tensor());
            assertThat(base.dtype()).isEqualTo(dtype);
            Ref expected = RefMath.zip(before.transpose(0, 1), b.values(), (x, y) -> x * y);
            Ref.assertClose(view, expected, dtype, "mul_ seen through the view");
            Ref.assertClose(base, expected.transpose(0, 1), dtype, "mul_ seen in the base");
        }
    }

    @ParameterizedTest(name = "aten::subtract.Tensor + aten::copy_ as addInPlace through a view {0}")
    @EnumSource(names = {"F32", "BF16"})
    void addInPlace(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor base = randn(23, 1).transpose(0, 1).toTensor(dtype);
            Ref before = Ref.of(base);
            Tensor view = Views.transpose(base, 0, 1);
            Input b = input(Ref.randn(24, 1, ROWS, 1), dtype, Layout.CONTIGUOUS);
            InPlace.addInPlace(view, b.tensor(), -0.25);
            assertThat(base.dtype()).isEqualTo(dtype);
            Ref expected = RefMath.zip(before.transpose(0, 1), b.values(), (x, y) -> x - 0.25 * y);
            Ref.assertClose(base, expected.transpose(0, 1), dtype, "add_ seen in the base");
        }
    }

    @ParameterizedTest(name = "aten::div.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void div(DType dtype) {
        checkBinary("div", Elementwise::div, (a, b) -> a / b, randn(25, 2), randn(26, 1).map(awayFromZero(0.25)), dtype, false);
        checkBinary("div broadcast", Elementwise::div, (a, b) -> a / b, randn(27, 2),
                Ref.randn(28, 1, ROWS, 1).map(awayFromZero(0.25)), dtype, false);
    }

    @ParameterizedTest(name = "aten::pow.Tensor_Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void pow(DType dtype) {
        checkBinary("pow", Elementwise::pow, Math::pow, randn(29, 1).map(x -> Math.abs(x) + 0.2), randn(30, 1.5), dtype, false);
    }

    @ParameterizedTest(name = "aten::pow.Tensor_Tensor with a 0-dim exponent and negative bases {0}")
    @EnumSource(names = {"F32", "BF16"})
    void powScalarExponent(DType dtype) {
        for (double e : new double[]{2, 3, 0.5, -1}) {
            try (TensorScope s = TensorScope.open()) {
                Tensor exponent = Tensor.full(e, dtype, Device.CPU);
                checkUnary("pow " + e, x -> Elementwise.pow(x, exponent), x -> Math.pow(x, e), randn(31, 1).map(awayFromZero(0.1)), dtype);
            }
        }
    }

    // ---------------------------------------------------------------- unary math

    @ParameterizedTest(name = "aten::neg {0}")
    @EnumSource(names = {"F32", "BF16"})
    void neg(DType dtype) {
        checkUnary("neg", Elementwise::neg, x -> -x, randn(32, 1), dtype);
    }

    @ParameterizedTest(name = "aten::exp {0}")
    @EnumSource(names = {"F32", "BF16"})
    void exp(DType dtype) {
        checkUnary("exp", Elementwise::exp, Math::exp, randn(33, 3), dtype);
    }

    @ParameterizedTest(name = "aten::log {0}")
    @EnumSource(names = {"F32", "BF16"})
    void log(DType dtype) {
        checkUnary("log", Elementwise::log, Math::log, randn(34, 2).map(x -> Math.abs(x) + 0.01), dtype);
    }

    @ParameterizedTest(name = "aten::rsqrt {0}")
    @EnumSource(names = {"F32", "BF16"})
    void rsqrt(DType dtype) {
        checkUnary("rsqrt", Elementwise::rsqrt, x -> 1 / Math.sqrt(x), randn(35, 2).map(x -> Math.abs(x) + 0.01), dtype);
    }

    @ParameterizedTest(name = "aten::square {0}")
    @EnumSource(names = {"F32", "BF16"})
    void square(DType dtype) {
        checkUnary("square", Elementwise::square, x -> x * x, randn(36, 2), dtype);
    }

    @ParameterizedTest(name = "aten::abs {0}")
    @EnumSource(names = {"F32", "BF16"})
    void abs(DType dtype) {
        checkUnary("abs", Elementwise::abs, Math::abs, randn(37, 1), dtype);
    }

    @ParameterizedTest(name = "aten::reciprocal {0}")
    @EnumSource(names = {"F32", "BF16"})
    void reciprocal(DType dtype) {
        checkUnary("reciprocal", Elementwise::reciprocal, x -> 1 / x, randn(38, 1).map(awayFromZero(0.05)), dtype);
    }

    @ParameterizedTest(name = "aten::sigmoid {0}")
    @EnumSource(names = {"F32", "BF16"})
    void sigmoidOp(DType dtype) {
        checkUnary("sigmoid", Elementwise::sigmoid, RefMath::sigmoid, randn(39, 4), dtype);
    }

    @ParameterizedTest(name = "aten::silu {0}")
    @EnumSource(names = {"F32", "BF16"})
    void silu(DType dtype) {
        checkUnary("silu", Elementwise::silu, x -> x * sigmoid(x), randn(40, 4), dtype);
    }

    /** d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))). */
    private static double siluDerivative(double x) {
        double s = sigmoid(x);
        return s * (1 + x * (1 - s));
    }

    @ParameterizedTest(name = "aten::silu_backward {0}")
    @EnumSource(names = {"F32", "BF16"})
    void siluBackward(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input g = input(randn(41, 1), dtype, Layout.CONTIGUOUS);
                Input x = input(randn(42, 4), dtype, layout);
                Tensor dx = Elementwise.siluBackward(g.tensor(), x.tensor());
                assertThat(dx.dtype()).isEqualTo(dtype);
                Ref expected = RefMath.zip(g.values(), x.values(), (gv, xv) -> gv * siluDerivative(xv));
                Ref.assertClose(dx, expected, dtype, "silu_backward " + dtype + " " + layout);
            }
        }
    }

    @Test
    void siluDerivativeReferenceMatchesCentralDifferences() {
        double h = 1e-5;
        for (double x : randn(43, 4).data) {
            double fd = ((x + h) * sigmoid(x + h) - (x - h) * sigmoid(x - h)) / (2 * h);
            assertThat(siluDerivative(x)).as("d silu at %s", x).isCloseTo(fd, offset(1e-9));
        }
    }

    @Test
    void siluBackwardMatchesCentralDifferencesOfAtenSiluInFloat64() {
        double h = 1e-6;
        try (TensorScope s = TensorScope.open()) {
            Tensor x = randn(44, 4).toTensor(DType.F64);
            Tensor ones = Tensor.full(1, DType.F64, Device.CPU, ROWS, COLS);
            Tensor fd = Elementwise.mul(Elementwise.sub(Elementwise.silu(Elementwise.add(x, h)), Elementwise.silu(Elementwise.add(x, -h))), 1 / (2 * h));
            Ref.assertClose(Elementwise.siluBackward(ones, x), Ref.of(fd), 1e-8, 1e-8, "silu_backward vs (silu(x+h) − silu(x−h))/2h");
        }
    }

    // ---------------------------------------------------------------- selection and comparison

    @ParameterizedTest(name = "aten::maximum {0}")
    @EnumSource(names = {"F32", "BF16"})
    void maximum(DType dtype) {
        checkBinary("maximum", Elementwise::maximum, Math::max, randn(45, 1), randn(46, 1), dtype, true);
        checkBinary("maximum broadcast", Elementwise::maximum, Math::max, randn(47, 1), Ref.randn(48, 1, COLS), dtype, true);
    }

    @ParameterizedTest(name = "aten::minimum {0}")
    @EnumSource(names = {"F32", "BF16"})
    void minimum(DType dtype) {
        checkBinary("minimum", Elementwise::minimum, Math::min, randn(49, 1), randn(50, 1), dtype, true);
        checkBinary("minimum broadcast", Elementwise::minimum, Math::min, randn(51, 1), Ref.randn(52, 1, ROWS, 1), dtype, true);
    }

    @ParameterizedTest(name = "aten::maximum and aten::minimum propagate NaN {0}")
    @EnumSource(names = {"F32", "BF16"})
    void maximumMinimumPropagateNaN(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor a = Tensor.of(new double[]{Double.NaN, 1, Double.NaN, -2}, 4).to(dtype);
            Tensor b = Tensor.of(new double[]{0, Double.NaN, Double.NaN, 3}, 4).to(dtype);
            Ref.assertExact(Elementwise.maximum(a, b), new Ref(new long[]{4}, new double[]{Double.NaN, Double.NaN, Double.NaN, 3}), "maximum");
            Ref.assertExact(Elementwise.minimum(a, b), new Ref(new long[]{4}, new double[]{Double.NaN, Double.NaN, Double.NaN, -2}), "minimum");
        }
    }

    // The bounds are exact in bf16, so clamping is exact in either dtype.
    @ParameterizedTest(name = "aten::clamp.Tensor min only {0}")
    @EnumSource(names = {"F32", "BF16"})
    void clampMin(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor lo = Tensor.full(-0.5, dtype, Device.CPU);
            checkUnaryExact("clamp min", x -> Elementwise.clamp(x, lo, null), x -> Math.max(x, -0.5), randn(53, 1), dtype);
        }
    }

    @ParameterizedTest(name = "aten::clamp.Tensor max only {0}")
    @EnumSource(names = {"F32", "BF16"})
    void clampMax(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor hi = Tensor.full(0.75, dtype, Device.CPU);
            checkUnaryExact("clamp max", x -> Elementwise.clamp(x, null, hi), x -> Math.min(x, 0.75), randn(54, 1), dtype);
        }
    }

    @ParameterizedTest(name = "aten::clamp.Tensor min and max {0}")
    @EnumSource(names = {"F32", "BF16"})
    void clampBoth(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor lo = Tensor.full(-0.5, dtype, Device.CPU);
            Tensor hi = Tensor.full(0.75, dtype, Device.CPU);
            checkUnaryExact("clamp both", x -> Elementwise.clamp(x, lo, hi), x -> Math.min(Math.max(x, -0.5), 0.75), randn(55, 1), dtype);
        }
    }

    @ParameterizedTest(name = "aten::clamp.Tensor with per-column bounds {0}")
    @EnumSource(names = {"F32", "BF16"})
    void clampBroadcastBounds(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input lo = input(Ref.randn(56, 1, COLS).map(v -> -Math.abs(v)), dtype, Layout.STRIDED);
            Input hi = input(Ref.randn(57, 1, COLS).map(Math::abs), dtype, Layout.CONTIGUOUS);
            Input x = input(randn(58, 2), dtype, Layout.TRANSPOSED);
            Ref expected = RefMath.zip(RefMath.zip(x.values(), lo.values(), Math::max), hi.values(), Math::min);
            Ref.assertExact(Elementwise.clamp(x.tensor(), lo.tensor(), hi.tensor()), expected, "clamp per column");
        }
    }

    private static void checkUnaryExact(String op, UnaryOperator<Tensor> f, DoubleUnaryOperator ref, Ref values, DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(values, dtype, layout);
                Tensor y = f.apply(x.tensor());
                assertThat(y.dtype()).isEqualTo(dtype);
                Ref.assertExact(y, x.values().map(ref), op + " " + dtype + " " + layout);
            }
        }
    }

    /** A bool tensor from the signs of fresh random values, and the same as 1/0 doubles. */
    private static Input mask(long seed, long... shape) {
        Ref r = Ref.randn(seed, 1, shape).map(v -> v > 0 ? 1 : 0);
        boolean[] b = new boolean[r.data.length];
        for (int i = 0; i < b.length; i++) b[i] = r.data[i] != 0;
        return new Input(Tensor.of(b, shape), r);
    }

    @ParameterizedTest(name = "aten::where.self {0}")
    @EnumSource(names = {"F32", "BF16"})
    void where(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input full = mask(59, ROWS, COLS);
            Input column = mask(60, ROWS, 1);
            Input a = input(randn(61, 1), dtype, Layout.TRANSPOSED);
            Input b = input(Ref.randn(62, 1, COLS), dtype, Layout.STRIDED);
            for (Input c : new Input[]{full, column}) {
                long[] shape = RefMath.broadcastShape(c.values().shape, RefMath.broadcastShape(a.values().shape, b.values().shape));
                Ref ce = RefMath.expand(c.values(), shape), ae = RefMath.expand(a.values(), shape), be = RefMath.expand(b.values(), shape);
                Ref expected = Ref.zeros(shape);
                for (int i = 0; i < expected.data.length; i++) expected.data[i] = ce.data[i] != 0 ? ae.data[i] : be.data[i];
                Tensor r = Elementwise.where(c.tensor(), a.tensor(), b.tensor());
                assertThat(r.dtype()).isEqualTo(dtype);
                Ref.assertExact(r, expected, "where " + dtype);
            }
        }
    }

    @ParameterizedTest(name = "aten::masked_fill.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void maskedFill(DType dtype) {
        for (double value : new double[]{Double.NEGATIVE_INFINITY, 0.25}) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(randn(63, 1), dtype, Layout.TRANSPOSED);
                Input m = mask(64, 1, COLS);
                Tensor r = Elementwise.maskedFill(x.tensor(), m.tensor(), Tensor.scalar(value));
                assertThat(r.dtype()).isEqualTo(dtype);
                Ref.assertExact(r, RefMath.zip(x.values(), m.values(), (v, on) -> on != 0 ? value : v), "masked_fill " + value);
            }
        }
    }

    /** Two value sets that tie in every third element, so eq/ne/lt/gt see equal pairs too. */
    private static Ref[] withTies(long seed) {
        Ref a = randn(seed, 1);
        Ref b = randn(seed + 1, 1);
        for (int i = 0; i < a.data.length; i += 3) b.data[i] = a.data[i];
        return new Ref[]{a, b};
    }

    private static void checkComparison(String op, BinaryOperator<Tensor> f, DoubleBinaryOperator ref, long seed, DType dtype) {
        Ref[] ab = withTies(seed);
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input a = input(ab[0], dtype, layout);
                Input b = input(ab[1], dtype, Layout.CONTIGUOUS);
                Tensor r = f.apply(a.tensor(), b.tensor());
                assertThat(r.dtype()).isEqualTo(DType.BOOL);
                Ref.assertExact(r, RefMath.zip(a.values(), b.values(), ref), op + " " + dtype + " " + layout);
                Input row = input(Ref.randn(seed + 2, 1, COLS), dtype, Layout.STRIDED);
                Ref.assertExact(f.apply(a.tensor(), row.tensor()), RefMath.zip(a.values(), row.values(), ref), op + " broadcast");
            }
        }
    }

    private static DoubleBinaryOperator truth(BiPredicate<Double, Double> p) {
        return (x, y) -> p.test(x, y) ? 1 : 0;
    }

    @ParameterizedTest(name = "aten::eq.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void eq(DType dtype) {
        checkComparison("eq", Elementwise::eq, truth((x, y) -> x.doubleValue() == y.doubleValue()), 65, dtype);
    }

    @ParameterizedTest(name = "aten::ne.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void ne(DType dtype) {
        checkComparison("ne", Elementwise::ne, truth((x, y) -> x.doubleValue() != y.doubleValue()), 68, dtype);
    }

    @ParameterizedTest(name = "aten::lt.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void lt(DType dtype) {
        checkComparison("lt", Elementwise::lt, truth((x, y) -> x < y), 71, dtype);
    }

    @ParameterizedTest(name = "aten::gt.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void gt(DType dtype) {
        checkComparison("gt", Elementwise::gt, truth((x, y) -> x > y), 74, dtype);
    }

    @Test
    void logicalNotOfBool() {
        try (TensorScope s = TensorScope.open()) {
            Input m = mask(77, ROWS, COLS);
            Tensor r = Elementwise.logicalNot(m.tensor());
            assertThat(r.dtype()).isEqualTo(DType.BOOL);
            Ref.assertExact(r, m.values().map(v -> v == 0 ? 1 : 0), "logical_not bool");
            Ref.assertExact(Elementwise.logicalNot(Views.transpose(m.tensor(), 0, 1)), m.values().transpose(0, 1).map(v -> v == 0 ? 1 : 0),
                    "logical_not of a transposed bool");
        }
    }

    @ParameterizedTest(name = "aten::logical_not of floats {0}")
    @EnumSource(names = {"F32", "BF16"})
    void logicalNotOfFloats(DType dtype) {
        Ref values = randn(78, 1).map(v -> Math.abs(v) < 0.5 ? (v < 0 ? -0.0 : 0.0) : v);
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(values, dtype, layout);
                Tensor r = Elementwise.logicalNot(x.tensor());
                assertThat(r.dtype()).isEqualTo(DType.BOOL);
                Ref.assertExact(r, x.values().map(v -> v == 0 ? 1 : 0), "logical_not " + dtype + " " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::isfinite {0}")
    @EnumSource(names = {"F32", "BF16"})
    void isFinite(DType dtype) {
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 3e38, -3e38, 0.0, -0.0, 1e-40};
        Ref values = randn(79, 1);
        for (int i = 0; i < values.data.length; i += 5) values.data[i] = specials[(i / 5) % specials.length];
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(values, dtype, layout);
                Tensor r = Elementwise.isFinite(x.tensor());
                assertThat(r.dtype()).isEqualTo(DType.BOOL);
                Ref.assertExact(r, x.values().map(v -> Double.isFinite(v) ? 1 : 0), "isfinite " + dtype + " " + layout);
            }
        }
    }
}
