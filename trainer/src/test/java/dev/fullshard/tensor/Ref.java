package dev.fullshard.tensor;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An independent reference: a row-major array of doubles with a shape, computed on in plain Java.
 * Tests build inputs as tensors, read back the values the tensors really hold ({@link #of}), compute
 * the expected result here in double precision, and compare with {@link #assertClose}.
 */
final class Ref {
    final long[] shape;
    final double[] data;

    Ref(long[] shape, double[] data) {
        if (Tensor.numel(shape) != data.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " vs " + data.length);
        this.shape = shape.clone();
        this.data = data;
    }

    static Ref zeros(long... shape) {
        return new Ref(shape, new double[(int) Tensor.numel(shape)]);
    }

    /** Gaussian values from {@code java.util.Random(seed)}, scaled. */
    static Ref randn(long seed, double scale, long... shape) {
        Random r = new Random(seed);
        double[] d = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian() * scale;
        return new Ref(shape, d);
    }

    /** The values a tensor holds, whatever its dtype, layout or strides. */
    static Ref of(Tensor t) {
        return new Ref(t.shape(), t.toDoubleArray());
    }

    /** A new contiguous tensor of {@code dtype} holding these values (rounded to the dtype). */
    Tensor toTensor(DType dtype) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(Tensor.of(data.clone(), shape).to(dtype));
        }
    }

    int dim() {
        return shape.length;
    }

    long[] strides() {
        return Tensor.contiguousStrides(shape);
    }

    int index(long... idx) {
        long[] st = strides();
        long flat = 0;
        for (int i = 0; i < idx.length; i++) flat += idx[i] * st[i];
        return (int) flat;
    }

    double get(long... idx) {
        return data[index(idx)];
    }

    void set(double v, long... idx) {
        data[index(idx)] = v;
    }

    /** The multi-index of flat position {@code flat}. */
    long[] unravel(int flat) {
        long[] idx = new long[shape.length];
        long rest = flat;
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = rest % shape[i];
            rest /= shape[i];
        }
        return idx;
    }

    Ref map(DoubleUnaryOperator f) {
        double[] d = new double[data.length];
        for (int i = 0; i < d.length; i++) d[i] = f.applyAsDouble(data[i]);
        return new Ref(shape, d);
    }

    /** A contiguous copy with dimensions d0 and d1 swapped. */
    Ref transpose(int d0, int d1) {
        long[] s = shape.clone();
        s[d0] = shape[d1];
        s[d1] = shape[d0];
        Ref out = zeros(s);
        for (int i = 0; i < data.length; i++) {
            long[] idx = unravel(i);
            long tmp = idx[d0];
            idx[d0] = idx[d1];
            idx[d1] = tmp;
            out.set(data[i], idx);
        }
        return out;
    }

    /** Rounds to the nearest value representable in {@code dtype} (round-to-nearest-even, as libtorch casts). */
    static double round(double v, DType dtype) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> bf16(v);
            case F16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            default -> throw new IllegalArgumentException("not a floating dtype: " + dtype);
        };
    }

    static double bf16(double v) {
        float f = (float) v;
        if (Float.isNaN(f)) return Double.NaN;
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    /** Absolute and relative tolerance for results computed in {@code dtype}. */
    static double[] tolerance(DType dtype) {
        return switch (dtype) {
            case F64 -> new double[]{1e-12, 1e-12};
            case F32 -> new double[]{1e-5, 1e-5};
            case BF16 -> new double[]{1e-2, 1.6e-2};
            case F16 -> new double[]{1e-3, 2e-3};
            default -> new double[]{0, 0};
        };
    }

    static void assertClose(Tensor actual, Ref expected, DType computeDtype, String what) {
        double[] tol = tolerance(computeDtype);
        assertClose(actual, expected, tol[0], tol[1], what);
    }

    /** Fails unless the tensor's elements equal {@code expected} exactly (NaN matching NaN). */
    static void assertExact(Tensor actual, Ref expected, String what) {
        assertClose(actual, expected, 0, 0, what);
    }

    /** Fails unless shapes match and every |actual − expected| ≤ atol + rtol·|expected|. */
    static void assertClose(Tensor actual, Ref expected, double atol, double rtol, String what) {
        assertThat(actual.shape()).as(what + ": shape").containsExactly(expected.shape);
        double[] a = actual.toDoubleArray();
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < a.length; i++) {
            double excess = Math.abs(a[i] - expected.data[i]) - (atol + rtol * Math.abs(expected.data[i]));
            if (Double.isNaN(a[i]) != Double.isNaN(expected.data[i])) excess = Double.POSITIVE_INFINITY;
            if (excess > worst) {
                worst = excess;
                worstAt = i;
            }
        }
        if (worstAt >= 0) {
            throw new AssertionError(what + ": element " + Arrays.toString(expected.unravel(worstAt)) + " is " + a[worstAt]
                    + ", expected " + expected.data[worstAt] + " (atol " + atol + ", rtol " + rtol + ")");
        }
    }
}
