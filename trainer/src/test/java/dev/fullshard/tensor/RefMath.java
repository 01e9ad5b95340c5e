package dev.fullshard.tensor;

import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.ToDoubleFunction;

/**
 * Shape manipulation, broadcasting and reductions on {@link Ref} arrays, written from the NumPy/ATen
 * definitions by index arithmetic: the reference side of the op tests (ViewsAndCopiesTest, ElementwiseTest, ...).
 */
final class RefMath {
    private RefMath() {
    }

    /** How a test input is laid out in memory. */
    enum Layout {
        CONTIGUOUS,
        /** A transpose of the last two dimensions of a contiguous tensor. */
        TRANSPOSED,
        /** Every other element of the last dimension of a twice-as-wide tensor whose gaps hold NaN. */
        STRIDED
    }

    /** A tensor under test and the exact values it holds. */
    record Input(Tensor tensor, Ref values) {
    }

    /**
     * A tensor of {@code dtype} holding {@code values} (rounded to the dtype), laid out as asked, with
     * the values it really holds. Non-contiguous layouts are read back through their contiguous base,
     * so the reference never depends on the strided read path of the code under test.
     */
    static Input input(Ref values, DType dtype, Layout layout) {
        int last = values.dim() - 1;
        switch (layout) {
            case CONTIGUOUS -> {
                Tensor t = values.toTensor(dtype);
                return new Input(t, Ref.of(t));
            }
            case TRANSPOSED -> {
                Tensor base = values.transpose(last - 1, last).toTensor(dtype);
                Tensor t = Views.transpose(base, last - 1, last);
                if (t.isContiguous()) throw new AssertionError("transposed input " + t + " is contiguous");
                return new Input(t, Ref.of(base).transpose(last - 1, last));
            }
            case STRIDED -> {
                long[] wide = values.shape.clone();
                wide[last] *= 2;
                Ref gappy = tabulate(wide, idx -> {
                    if (idx[last] % 2 == 1) return Double.NaN;
                    long[] src = idx.clone();
                    src[last] /= 2;
                    return values.get(src);
                });
                Tensor base = gappy.toTensor(dtype);
                Tensor t = Views.slice(base, last, 0, wide[last], 2);
                if (t.isContiguous()) throw new AssertionError("strided input " + t + " is contiguous");
                return new Input(t, slice(Ref.of(base), last, 0, wide[last], 2));
            }
            default -> throw new IllegalArgumentException(layout.toString());
        }
    }

    /** A new array of {@code shape} whose element at each multi-index is {@code f(index)}. */
    static Ref tabulate(long[] shape, ToDoubleFunction<long[]> f) {
        Ref out = Ref.zeros(shape);
        for (int i = 0; i < out.data.length; i++) out.data[i] = f.applyAsDouble(out.unravel(i));
        return out;
    }

    static Ref copy(Ref a) {
        return new Ref(a.shape, a.data.clone());
    }

    static Ref reshape(Ref a, long... shape) {
        return new Ref(shape, a.data.clone());
    }

    /** NumPy broadcasting of two shapes. */
    static long[] broadcastShape(long[] a, long[] b) {
        int n = Math.max(a.length, b.length);
        long[] out = new long[n];
        for (int i = 1; i <= n; i++) {
            long p = i <= a.length ? a[a.length - i] : 1, q = i <= b.length ? b[b.length - i] : 1;
            if (p != q && p != 1 && q != 1) throw new IllegalArgumentException(Arrays.toString(a) + " vs " + Arrays.toString(b));
            out[n - i] = p == 1 ? q : p;
        }
        return out;
    }

    /** {@code a} broadcast to {@code shape}, materialised. */
    static Ref expand(Ref a, long... shape) {
        int lead = shape.length - a.dim();
        return tabulate(shape, idx -> {
            long[] src = new long[a.dim()];
            for (int d = 0; d < src.length; d++) src[d] = a.shape[d] == 1 ? 0 : idx[d + lead];
            return a.get(src);
        });
    }

    /** Elementwise f(a, b) with broadcasting. */
    static Ref zip(Ref a, Ref b, DoubleBinaryOperator f) {
        long[] shape = broadcastShape(a.shape, b.shape);
        Ref x = expand(a, shape), y = expand(b, shape);
        Ref out = Ref.zeros(shape);
        for (int i = 0; i < out.data.length; i++) out.data[i] = f.applyAsDouble(x.data[i], y.data[i]);
        return out;
    }

    static Ref permute(Ref a, int... dims) {
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) shape[i] = a.shape[dims[i]];
        return tabulate(shape, idx -> {
            long[] src = new long[dims.length];
            for (int i = 0; i < dims.length; i++) src[dims[i]] = idx[i];
            return a.get(src);
        });
    }

    static Ref slice(Ref a, int dim, long start, long end, long step) {
        long[] shape = a.shape.clone();
        shape[dim] = (Math.min(end, a.shape[dim]) - start + step - 1) / step;
        return tabulate(shape, idx -> {
            long[] src = idx.clone();
            src[dim] = start + idx[dim] * step;
            return a.get(src);
        });
    }

    static Ref select(Ref a, int dim, long index) {
        long[] shape = new long[a.dim() - 1];
        for (int d = 0, j = 0; d < a.dim(); d++) if (d != dim) shape[j++] = a.shape[d];
        return tabulate(shape, idx -> {
            long[] src = new long[a.dim()];
            for (int d = 0, j = 0; d < a.dim(); d++) src[d] = d == dim ? index : idx[j++];
            return a.get(src);
        });
    }

    static Ref unsqueeze(Ref a, int dim) {
        long[] shape = new long[a.dim() + 1];
        for (int d = 0, j = 0; d < shape.length; d++) shape[d] = d == dim ? 1 : a.shape[j++];
        return reshape(a, shape);
    }

    static Ref cat(int dim, Ref... parts) {
        long[] shape = parts[0].shape.clone();
        shape[dim] = 0;
        for (Ref p : parts) shape[dim] += p.shape[dim];
        return tabulate(shape, idx -> {
            long[] src = idx.clone();
            int part = 0;
            while (src[dim] >= parts[part].shape[dim]) src[dim] -= parts[part++].shape[dim];
            return parts[part].get(src);
        });
    }

    static Ref stack(int dim, Ref... parts) {
        Ref[] unsqueezed = new Ref[parts.length];
        for (int i = 0; i < parts.length; i++) unsqueezed[i] = unsqueeze(parts[i], dim);
        return cat(dim, unsqueezed);
    }

    static Ref repeatInterleave(Ref a, long repeats, int dim) {
        long[] shape = a.shape.clone();
        shape[dim] *= repeats;
        return tabulate(shape, idx -> {
            long[] src = idx.clone();
            src[dim] = idx[dim] / repeats;
            return a.get(src);
        });
    }

    /** The shape left after reducing {@code dims}. */
    static long[] reducedShape(long[] shape, boolean keepDim, int... dims) {
        boolean[] reduced = reducedMask(shape.length, dims);
        long[] out = new long[shape.length];
        int n = 0;
        for (int d = 0; d < shape.length; d++) {
            if (!reduced[d]) out[n++] = shape[d];
            else if (keepDim) out[n++] = 1;
        }
        return Arrays.copyOf(out, n);
    }

    /** Folds f over the elements of each reduced group, in row-major order, starting from {@code init}. */
    static Ref reduce(Ref a, boolean keepDim, double init, DoubleBinaryOperator f, int... dims) {
        boolean[] reduced = reducedMask(a.dim(), dims);
        Ref out = Ref.zeros(reducedShape(a.shape, true, dims));
        Arrays.fill(out.data, init);
        for (int i = 0; i < a.data.length; i++) {
            long[] idx = a.unravel(i);
            for (int d = 0; d < idx.length; d++) if (reduced[d]) idx[d] = 0;
            int o = out.index(idx);
            out.data[o] = f.applyAsDouble(out.data[o], a.data[i]);
        }
        return reshape(out, reducedShape(a.shape, keepDim, dims));
    }

    static Ref sum(Ref a, boolean keepDim, int... dims) {
        return reduce(a, keepDim, 0, Double::sum, dims);
    }

    /** Number of elements that fold into each output of a reduction over {@code dims}. */
    static long groupSize(long[] shape, int... dims) {
        long n = 1;
        boolean[] reduced = reducedMask(shape.length, dims);
        for (int d = 0; d < shape.length; d++) if (reduced[d]) n *= shape[d];
        return n;
    }

    private static boolean[] reducedMask(int rank, int... dims) {
        boolean[] reduced = new boolean[rank];
        for (int d : dims) reduced[d < 0 ? d + rank : d] = true;
        return reduced;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
