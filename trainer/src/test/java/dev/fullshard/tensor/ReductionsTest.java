package dev.fullshard.tensor;

import dev.fullshard.tensor.RefMath.Input;
import dev.fullshard.tensor.RefMath.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static dev.fullshard.tensor.RefMath.input;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Reductions} against a double-precision Java reference, in float32 and bfloat16, on
 * contiguous, transposed and strided 3-d inputs.
 *
 * <p>Sums are compared with a rigorous bound rather than a fixed tolerance: any summation order of n
 * exact terms in a format with unit roundoff u errs by at most (n−1)·u·Σ|x| (Higham, ch. 4), and the
 * result is then rounded once to the output dtype. Accumulating in bf16 instead of float would
 * exceed it by orders of magnitude.
 */
@ExtendWith(NoLeakedTensors.class)
class ReductionsTest {
    private static final long[] SHAPE = {4, 6, 33};
    private static final double U_F32 = 0x1p-24, U_F64 = 0x1p-53;
    private static Ref randn(long seed) {
        return Ref.randn(seed, 1, SHAPE);
    }

    /** Unit roundoff of the final rounding to {@code dtype}. */
    private static double unitRoundoff(DType dtype) {
        return switch (dtype) {
            case F64 -> U_F64;
            case F32 -> U_F32;
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            default -> 0;
        };
    }

    /**
     * Fails unless each element is within the summation bound: (n−1)·uAcc·Σ|x| for the accumulation
     * plus one rounding to the output dtype, doubled for slack. {@code scale} is 1/n for a mean.
     */
    private static void assertSumClose(Tensor actual, Ref expected, Ref absSum, long n, double uAcc, DType outDtype,
                                       double scale, String what) {
        assertThat(actual.shape()).as(what + ": shape").containsExactly(expected.shape);
        double[] a = actual.toDoubleArray();
        double uOut = unitRoundoff(outDtype);
        for (int i = 0; i < a.length; i++) {
            double accumulation = (n - 1) * uAcc * absSum.data[i] * scale;
            double bound = 2 * (accumulation + uOut * (Math.abs(expected.data[i]) + accumulation)) + 1e-300;
            if (!(Math.abs(a[i] - expected.data[i]) <= bound)) {
                throw new AssertionError(what + ": element " + Arrays.toString(expected.unravel(i)) + " is " + a[i]
                        + ", expected " + expected.data[i] + " ± " + bound);
            }
        }
    }

    private static final int[][] DIM_SETS = {{2}, {1}, {0, 2}, {-1}, {0, 1, 2}};

    // ---------------------------------------------------------------- sum and mean

    @ParameterizedTest(name = "aten::sum {0}")
    @EnumSource(names = {"F32", "BF16"})
    void sumAll(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(randn(1), dtype, layout);
                Tensor total = Reductions.sum(x.tensor());
                assertThat(total.dim()).as("sum of everything is 0-dim").isZero();
                assertThat(total.dtype()).isEqualTo(dtype);
                Ref expected = RefMath.sum(x.values(), false, 0, 1, 2);
                Ref absSum = RefMath.sum(x.values().map(Math::abs), false, 0, 1, 2);
                assertSumClose(total, expected, absSum, x.values().data.length, U_F32, dtype, 1, "sum " + dtype + " " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::sum.dim_IntList {0}")
    @EnumSource(names = {"F32", "BF16"})
    void sumOverDims(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int[] dims : DIM_SETS) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        Input x = input(randn(2), dtype, layout);
                        Tensor r = Reductions.sum(x.tensor(), keepDim, dims);
                        assertThat(r.dtype()).isEqualTo(dtype);
                        String what = "sum " + Arrays.toString(dims) + " keepdim " + keepDim + " " + dtype + " " + layout;
                        assertSumClose(r, RefMath.sum(x.values(), keepDim, dims), RefMath.sum(x.values().map(Math::abs), keepDim, dims),
                                RefMath.groupSize(SHAPE, dims), U_F32, dtype, 1, what);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "aten::sum.dim_IntList with dtype float64 from {0}")
    @EnumSource(names = {"F32", "BF16"})
    void sumAccumulatingInFloat64(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int[] dims : DIM_SETS) {
                try (TensorScope s = TensorScope.open()) {
                    // Large offsets make float32 accumulation visibly worse than float64.
                    Input x = input(randn(3).map(v -> 1000 + v), dtype, layout);
                    Tensor r = Reductions.sum(x.tensor(), false, DType.F64, dims);
                    assertThat(r.dtype()).isEqualTo(DType.F64);
                    assertSumClose(r, RefMath.sum(x.values(), false, dims), RefMath.sum(x.values().map(Math::abs), false, dims),
                            RefMath.groupSize(SHAPE, dims), U_F64, DType.F64, 1, "sum f64 " + Arrays.toString(dims) + " " + layout);
                }
            }
        }
    }

    @ParameterizedTest(name = "aten::sum.dim_IntList over 262144 elements accumulates in float {0}")
    @EnumSource(names = {"F32", "BF16"})
    void sumOfALargeTensor(DType dtype) {
        // Long enough rows that bf16 accumulation (or a lost partial sum of the parallel path) shows.
        Ref values = Ref.randn(15, 1, 256, 1024).map(v -> 1 + v);
        for (int[] dims : new int[][]{{1}, {0}, {0, 1}}) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(values, dtype, Layout.TRANSPOSED);
                Tensor r = Reductions.sum(x.tensor(), false, dims);
                assertSumClose(r, RefMath.sum(x.values(), false, dims), RefMath.sum(x.values().map(Math::abs), false, dims),
                        RefMath.groupSize(x.values().shape, dims), U_F32, dtype, 1, "large sum " + Arrays.toString(dims) + " " + dtype);
            }
        }
    }

    @Test
    void sumOfIntegerValuedFloat32IsExact() {
        // Integers in [-8, 8]: every partial sum of 2^18 of them is an integer below 2^24, exact in float32
        // whatever the summation order, so the result must equal the exact sum.
        Ref values = Ref.randn(17, 3, 256, 1024).map(v -> Math.max(-8, Math.min(8, Math.rint(v))));
        for (Layout layout : Layout.values()) {
            for (int[] dims : new int[][]{{1}, {0}, {0, 1}}) {
                try (TensorScope s = TensorScope.open()) {
                    Input x = input(values, DType.F32, layout);
                    Ref.assertExact(Reductions.sum(x.tensor(), false, dims), RefMath.sum(x.values(), false, dims),
                            "integer sum " + Arrays.toString(dims) + " " + layout);
                }
            }
        }
    }

    /** ATen reads an empty dimension list as "every dimension" (sum, mean, amax and norm alike). */
    @ParameterizedTest(name = "aten::sum.dim_IntList, aten::mean.dim, aten::amax, aten::norm with no dims reduce everything {0}")
    @EnumSource(names = {"F32", "BF16"})
    void emptyDimListReducesEverything(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(randn(16), dtype, Layout.TRANSPOSED);
            long n = x.values().data.length;
            Ref sum = RefMath.sum(x.values(), false, 0, 1, 2), absSum = RefMath.sum(x.values().map(Math::abs), false, 0, 1, 2);
            assertSumClose(Reductions.sum(x.tensor(), false), sum, absSum, n, U_F32, dtype, 1, "sum over []");
            assertSumClose(Reductions.mean(x.tensor(), false), sum.map(v -> v / n), absSum, n + 1, U_F32, dtype, 1.0 / n, "mean over []");
            Ref.assertExact(Reductions.amax(x.tensor(), true), RefMath.reduce(x.values(), true, Double.NEGATIVE_INFINITY, Math::max, 0, 1, 2),
                    "amax over [] keepdim");
            Ref norm = RefMath.sum(x.values().map(v -> v * v), false, 0, 1, 2).map(Math::sqrt);
            Ref.assertClose(Reductions.norm(x.tensor(), false), norm, 0, 2 * (n * U_F32 + unitRoundoff(dtype)), "norm over []");
        }
    }

    @ParameterizedTest(name = "aten::mean.dim {0}")
    @EnumSource(names = {"F32", "BF16"})
    void mean(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int[] dims : DIM_SETS) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        Input x = input(randn(4).map(v -> 0.5 + v), dtype, layout);
                        Tensor r = Reductions.mean(x.tensor(), keepDim, dims);
                        assertThat(r.dtype()).isEqualTo(dtype);
                        long n = RefMath.groupSize(SHAPE, dims);
                        // The division by n adds one more rounding: counted as one more term.
                        assertSumClose(r, RefMath.sum(x.values(), keepDim, dims).map(v -> v / n),
                                RefMath.sum(x.values().map(Math::abs), keepDim, dims), n + 1, U_F32, dtype, 1.0 / n,
                                "mean " + Arrays.toString(dims) + " keepdim " + keepDim + " " + dtype + " " + layout);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- maxima

    @ParameterizedTest(name = "aten::amax {0}")
    @EnumSource(names = {"F32", "BF16"})
    void amax(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int[] dims : DIM_SETS) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        Input x = input(randn(5), dtype, layout);
                        Tensor r = Reductions.amax(x.tensor(), keepDim, dims);
                        assertThat(r.dtype()).isEqualTo(dtype);
                        Ref.assertExact(r, RefMath.reduce(x.values(), keepDim, Double.NEGATIVE_INFINITY, Math::max, dims),
                                "amax " + Arrays.toString(dims) + " keepdim " + keepDim + " " + dtype + " " + layout);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "aten::amax propagates NaN {0}")
    @EnumSource(names = {"F32", "BF16"})
    void amaxPropagatesNaN(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Ref values = Ref.randn(6, 1, 3, 40);
            values.set(Double.NaN, 1, 17);
            Tensor r = Reductions.amax(values.toTensor(dtype), false, 1);
            Ref expected = RefMath.reduce(Ref.of(values.toTensor(dtype)), false, Double.NEGATIVE_INFINITY, Math::max, 1);
            assertThat(Double.isNaN(expected.data[1])).isTrue();
            Ref.assertExact(r, expected, "amax with a NaN in row 1");
        }
    }

    /** Maximum values along {@code dim} and the index of the first maximum (NaN counts as the maximum). */
    private static Ref[] maxAlong(Ref x, int dim, boolean keepDim) {
        Ref values = Ref.zeros(RefMath.reducedShape(x.shape, true, dim));
        Ref indices = Ref.zeros(values.shape);
        Arrays.fill(values.data, Double.NEGATIVE_INFINITY);
        Arrays.fill(indices.data, -1);
        for (int i = 0; i < x.data.length; i++) {
            long[] idx = x.unravel(i);
            long at = idx[dim];
            idx[dim] = 0;
            int o = values.index(idx);
            boolean seenNaN = Double.isNaN(values.data[o]);
            if (!seenNaN && (indices.data[o] < 0 || x.data[i] > values.data[o] || Double.isNaN(x.data[i]))) {
                values.data[o] = x.data[i];
                indices.data[o] = at;
            }
        }
        long[] shape = RefMath.reducedShape(x.shape, keepDim, dim);
        return new Ref[]{RefMath.reshape(values, shape), RefMath.reshape(indices, shape)};
    }

    /** Values with ties: bf16 has few enough distinct values that ties occur anyway, float32 gets them here. */
    private static Ref withTies(long seed) {
        return randn(seed).map(v -> Math.round(v * 8) / 8.0);
    }

    @ParameterizedTest(name = "aten::max.dim {0}")
    @EnumSource(names = {"F32", "BF16"})
    void maxDim(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int dim : new int[]{0, 1, 2, -1}) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        Input x = input(randn(7), dtype, layout);
                        Reductions.MaxResult r = Reductions.max(x.tensor(), dim, keepDim);
                        Ref[] expected = maxAlong(x.values(), Math.floorMod(dim, 3), keepDim);
                        String what = "max dim " + dim + " keepdim " + keepDim + " " + dtype + " " + layout;
                        assertThat(r.values().dtype()).isEqualTo(dtype);
                        assertThat(r.indices().dtype()).isEqualTo(DType.I64);
                        Ref.assertExact(r.values(), expected[0], what + " values");
                        Ref.assertExact(r.indices(), expected[1], what + " indices");
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "aten::max.dim with ties and NaN: a valid index of the maximum {0}")
    @EnumSource(names = {"F32", "BF16"})
    void maxDimWithTies(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Ref values = withTies(8);
            values.set(Double.NaN, 2, 3, 20);
            Input x = input(values, dtype, Layout.TRANSPOSED);
            Reductions.MaxResult r = Reductions.max(x.tensor(), 2, false);
            Ref[] expected = maxAlong(x.values(), 2, false);
            Ref.assertExact(r.values(), expected[0], "max values with ties");
            // ATen documents no tie-breaking rule for max.dim; the index must point at a maximum.
            long[] indices = r.indices().toLongArray();
            for (int o = 0; o < indices.length; o++) {
                long[] idx = expected[0].unravel(o);
                double at = x.values().get(idx[0], idx[1], indices[o]);
                // compared as bits so that NaN matches NaN
                assertThat(Double.doubleToLongBits(at)).as("value at the returned index of row %s", Arrays.toString(idx))
                        .isEqualTo(Double.doubleToLongBits(expected[0].data[o]));
            }
        }
    }

    @ParameterizedTest(name = "aten::argmax {0}")
    @EnumSource(names = {"F32", "BF16"})
    void argmax(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int dim : new int[]{0, 1, 2, -1}) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        // argmax documents the first index among ties.
                        Input x = input(withTies(9), dtype, layout);
                        Tensor r = Reductions.argmax(x.tensor(), dim, keepDim);
                        assertThat(r.dtype()).isEqualTo(DType.I64);
                        Ref.assertExact(r, maxAlong(x.values(), Math.floorMod(dim, 3), keepDim)[1],
                                "argmax dim " + dim + " keepdim " + keepDim + " " + dtype + " " + layout);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- norm

    @ParameterizedTest(name = "aten::norm.ScalarOpt_dim (p=2) {0}")
    @EnumSource(names = {"F32", "BF16"})
    void norm(DType dtype) {
        for (Layout layout : Layout.values()) {
            for (int[] dims : DIM_SETS) {
                for (boolean keepDim : new boolean[]{false, true}) {
                    try (TensorScope s = TensorScope.open()) {
                        Input x = input(randn(10), dtype, layout);
                        Tensor r = Reductions.norm(x.tensor(), keepDim, dims);
                        assertThat(r.dtype()).isEqualTo(dtype);
                        Ref expected = RefMath.sum(x.values().map(v -> v * v), keepDim, dims).map(Math::sqrt);
                        // Σx² has only positive terms, so its relative error is ≤ n·u; the square root halves it.
                        long n = RefMath.groupSize(SHAPE, dims);
                        double rtol = 2 * (n * U_F32 / 2 + U_F32 + unitRoundoff(dtype));
                        Ref.assertClose(r, expected, 0, rtol,
                                "norm " + Arrays.toString(dims) + " keepdim " + keepDim + " " + dtype + " " + layout);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- all, any, equal

    private static Tensor bools(boolean... values) {
        return Tensor.of(values, values.length);
    }

    @Test
    void allAndAnyOfBool() {
        try (TensorScope s = TensorScope.open()) {
            Tensor allTrue = bools(true, true, true, true), oneFalse = bools(true, true, false, true), allFalse = bools(false, false, false, false);
            assertThat(Reductions.all(allTrue).dim()).isZero();
            assertThat(Reductions.all(allTrue).dtype()).isEqualTo(DType.BOOL);
            assertThat(Reductions.all(allTrue).item()).as("aten::all of all-true").isEqualTo(1.0);
            assertThat(Reductions.all(oneFalse).item()).as("aten::all with one false").isEqualTo(0.0);
            assertThat(Reductions.any(oneFalse).item()).as("aten::any with three true").isEqualTo(1.0);
            assertThat(Reductions.any(allFalse).item()).as("aten::any of all-false").isEqualTo(0.0);
            assertThat(Reductions.all(Tensor.of(new boolean[0], 0)).item()).as("aten::all of nothing").isEqualTo(1.0);
            assertThat(Reductions.any(Tensor.of(new boolean[0], 0)).item()).as("aten::any of nothing").isEqualTo(0.0);
        }
    }

    @ParameterizedTest(name = "aten::all and aten::any of floats (non-zero is true) {0}")
    @EnumSource(names = {"F32", "BF16"})
    void allAndAnyOfFloats(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Ref nonZero = randn(11).map(v -> v + Math.copySign(0.1, v));
                Ref oneZero = RefMath.copy(nonZero);
                oneZero.set(-0.0, 3, 5, 32);
                Ref zeros = randn(12).map(v -> 0.0);
                zeros.set(Double.NaN, 1, 1, 1); // NaN is non-zero, so true
                assertThat(Reductions.all(input(nonZero, dtype, layout).tensor()).item()).as("all non-zero " + layout).isEqualTo(1.0);
                assertThat(Reductions.all(input(oneZero, dtype, layout).tensor()).item()).as("all with a -0 " + layout).isEqualTo(0.0);
                assertThat(Reductions.any(input(oneZero, dtype, layout).tensor()).item()).as("any with a -0 " + layout).isEqualTo(1.0);
                assertThat(Reductions.any(input(zeros, dtype, layout).tensor()).item()).as("any of zeros and a NaN " + layout).isEqualTo(1.0);
                assertThat(Reductions.any(input(randn(13).map(v -> 0.0), dtype, layout).tensor()).item()).as("any of zeros " + layout).isEqualTo(0.0);
            }
        }
    }

    @ParameterizedTest(name = "aten::equal {0}")
    @EnumSource(names = {"F32", "BF16"})
    void equal(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Ref values = randn(14);
            Input transposed = input(values, dtype, Layout.TRANSPOSED);
            Input strided = input(values, dtype, Layout.STRIDED);
            Tensor contiguous = values.toTensor(dtype);
            assertThat(Reductions.equal(transposed.tensor(), contiguous)).as("transposed view vs contiguous copy").isTrue();
            assertThat(Reductions.equal(strided.tensor(), transposed.tensor())).as("strided vs transposed").isTrue();

            Ref changed = RefMath.copy(values);
            changed.set(changed.get(3, 5, 32) + 1, 3, 5, 32);
            assertThat(Reductions.equal(transposed.tensor(), changed.toTensor(dtype))).as("one element differs").isFalse();
            assertThat(Reductions.equal(contiguous, Views.reshape(contiguous, 24, 33))).as("same values, other shape").isFalse();

            Ref withNaN = RefMath.copy(values);
            withNaN.set(Double.NaN, 0, 0, 0);
            assertThat(Reductions.equal(withNaN.toTensor(dtype), withNaN.toTensor(dtype))).as("NaN is not equal to NaN").isFalse();
        }
    }
}
