package dev.fullshard.tensor;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;

/**
 * Double-precision reference math for the op tests (matrix products, softmax, RMSNorm, attention,
 * finite differences), written from the textbook definitions and independent of libtorch. Inputs
 * are {@link Ref}s read back from the tensors under test, so a reference sees exactly the (possibly
 * bf16-rounded) values the op saw.
 */
final class LayerRef {
    private LayerRef() {
    }

    // ---------------------------------------------------------------- inputs

    /** Gaussian values (scaled), stored as {@code dtype}; {@code values} are what the tensor really holds. */
    static RefMath.Input randn(long seed, double scale, DType dtype, long... shape) {
        Tensor t = Ref.randn(seed, scale, shape).toTensor(dtype);
        return new RefMath.Input(t, Ref.of(t));
    }

    // ---------------------------------------------------------------- comparisons

    /**
     * {@link Ref#assertClose} that also prints the largest absolute error and how much of the tolerance
     * it used, so a report can quote observed errors. The print is information only; the assertion is
     * Ref's.
     */
    static void assertClose(Tensor actual, Ref expected, double atol, double rtol, String what) {
        double[] a = actual.toDoubleArray();
        double maxAbs = 0, maxUse = 0;
        if (a.length == expected.data.length) {
            for (int i = 0; i < a.length; i++) {
                double d = Math.abs(a[i] - expected.data[i]);
                if (Double.isNaN(d)) continue;
                maxAbs = Math.max(maxAbs, d);
                double allowed = atol + rtol * Math.abs(expected.data[i]);
                maxUse = Math.max(maxUse, allowed == 0 ? (d == 0 ? 0 : Double.POSITIVE_INFINITY) : d / allowed);
            }
        }
        System.out.printf("[max-error] %-60s %-9s max|err| %.3e  (%.0f%% of tolerance)%n", what, actual.dtype(), maxAbs, 100 * maxUse);
        Ref.assertClose(actual, expected, atol, rtol, what);
    }

    static void assertClose(Tensor actual, Ref expected, DType computeDtype, String what) {
        double[] tol = Ref.tolerance(computeDtype);
        assertClose(actual, expected, tol[0], tol[1], what);
    }

    // ---------------------------------------------------------------- matrix products

    /**
     * NumPy/PyTorch matmul semantics: 1-D operands are promoted to a row (left) or column (right)
     * vector and the added dimension is removed afterwards; leading (batch) dimensions broadcast.
     */
    static Ref matmul(Ref a, Ref b) {
        long[] as = a.dim() == 1 ? new long[]{1, a.shape[0]} : a.shape;
        long[] bs = b.dim() == 1 ? new long[]{b.shape[0], 1} : b.shape;
        Ref a2 = new Ref(as, a.data), b2 = new Ref(bs, b.data);
        long n = as[as.length - 2], k = as[as.length - 1], m = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) throw new IllegalArgumentException("inner sizes differ");
        long[] batchA = Arrays.copyOf(as, as.length - 2), batchB = Arrays.copyOf(bs, bs.length - 2);
        long[] batch = RefMath.broadcastShape(batchA, batchB);
        long[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = n;
        outShape[batch.length + 1] = m;
        Ref out = Ref.zeros(outShape);
        for (int flat = 0; flat < out.data.length; flat++) {
            long[] idx = out.unravel(flat);
            long[] bi = Arrays.copyOf(idx, batch.length);
            long i = idx[batch.length], j = idx[batch.length + 1];
            long[] ai = align(bi, batchA), bj = align(bi, batchB);
            double s = 0;
            for (long p = 0; p < k; p++) s += a2.get(concat(ai, i, p)) * b2.get(concat(bj, p, j));
            out.data[flat] = s;
        }
        // Drop the dimensions that were added for 1-D operands.
        long[] shape = outShape;
        if (b.dim() == 1) shape = Arrays.copyOf(shape, shape.length - 1);
        if (a.dim() == 1) {
            long[] s = shape.clone();
            int drop = b.dim() == 1 ? s.length - 1 : s.length - 2;
            shape = new long[s.length - 1];
            for (int d = 0, o = 0; d < s.length; d++) if (d != drop) shape[o++] = s[d];
        }
        return new Ref(shape, out.data);
    }

    /** The index into an operand with batch shape {@code shape} for the broadcast batch index {@code idx}. */
    private static long[] align(long[] idx, long[] shape) {
        long[] out = new long[shape.length];
        for (int i = 1; i <= shape.length; i++) out[shape.length - i] = shape[shape.length - i] == 1 ? 0 : idx[idx.length - i];
        return out;
    }

    private static long[] concat(long[] head, long... tail) {
        long[] out = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    // ---------------------------------------------------------------- softmax family

    /** Applies {@code rowOp} to every 1-D fibre of {@code x} along {@code dim}. */
    static Ref alongDim(Ref x, int dim, java.util.function.UnaryOperator<double[]> rowOp) {
        int d = dim < 0 ? dim + x.dim() : dim;
        Ref out = Ref.zeros(x.shape);
        int len = (int) x.shape[d];
        for (int flat = 0; flat < x.data.length; flat++) {
            long[] idx = x.unravel(flat);
            if (idx[d] != 0) continue;
            double[] row = new double[len];
            for (int j = 0; j < len; j++) {
                idx[d] = j;
                row[j] = x.get(idx);
            }
            double[] r = rowOp.apply(row);
            for (int j = 0; j < len; j++) {
                idx[d] = j;
                out.set(r[j], idx);
            }
        }
        return out;
    }

    static double logSumExp(double[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : row) max = Math.max(max, v);
        if (max == Double.NEGATIVE_INFINITY) return max;
        double s = 0;
        for (double v : row) s += Math.exp(v - max);
        return max + Math.log(s);
    }

    static Ref logSoftmax(Ref x, int dim) {
        return alongDim(x, dim, row -> {
            double lse = logSumExp(row);
            double[] r = new double[row.length];
            for (int j = 0; j < row.length; j++) r[j] = row[j] - lse;
            return r;
        });
    }

    static Ref softmax(Ref x, int dim) {
        return logSoftmax(x, dim).map(Math::exp);
    }

    // ---------------------------------------------------------------- RMSNorm

    /** y = x · r · w with r = 1/√(mean(x²) + eps) over the last dimension; returns y and r (shape (..., 1)). */
    static Ref[] rmsNorm(Ref x, Ref w, double eps) {
        int n = (int) x.shape[x.dim() - 1];
        int rows = x.data.length / n;
        long[] rShape = x.shape.clone();
        rShape[rShape.length - 1] = 1;
        Ref y = Ref.zeros(x.shape), r = Ref.zeros(rShape);
        for (int row = 0; row < rows; row++) {
            double ss = 0;
            for (int j = 0; j < n; j++) ss += x.data[row * n + j] * x.data[row * n + j];
            double rstd = 1 / Math.sqrt(ss / n + eps);
            r.data[row] = rstd;
            for (int j = 0; j < n; j++) y.data[row * n + j] = x.data[row * n + j] * rstd * w.data[j];
        }
        return new Ref[]{y, r};
    }

    /**
     * Analytic RMSNorm gradients of L = Σ g·y: with r = (mean(x²)+eps)^(-1/2), ∂r/∂x_i = −r³ x_i / n, so
     * dx_i = r g_i w_i − x_i r³ mean_j(g_j w_j x_j) and dw_j = Σ_rows g_j x_j r. Returns {dx, dw}.
     */
    static Ref[] rmsNormBackward(Ref g, Ref x, Ref w, double eps) {
        int n = (int) x.shape[x.dim() - 1];
        int rows = x.data.length / n;
        Ref r = rmsNorm(x, w, eps)[1];
        Ref dx = Ref.zeros(x.shape), dw = Ref.zeros(w.shape);
        for (int row = 0; row < rows; row++) {
            double rstd = r.data[row], dot = 0;
            for (int j = 0; j < n; j++) dot += g.data[row * n + j] * w.data[j] * x.data[row * n + j];
            double mean = dot / n;
            for (int j = 0; j < n; j++) {
                int at = row * n + j;
                dx.data[at] = rstd * g.data[at] * w.data[j] - x.data[at] * rstd * rstd * rstd * mean;
                dw.data[j] += g.data[at] * x.data[at] * rstd;
            }
        }
        return new Ref[]{dx, dw};
    }

    // ---------------------------------------------------------------- attention

    /**
     * Softmax attention of q (B, H, Lq, E), k and v (B, H, Lk, E): S = scale·q·kᵀ, masked (−∞) above
     * the diagonal when causal, O = softmax(S)·v; also lse = log Σ_j exp(S_ij) per query (B, H, Lq).
     */
    static Ref[] attention(Ref q, Ref k, Ref v, boolean causal, double scale) {
        int b = (int) q.shape[0], h = (int) q.shape[1], lq = (int) q.shape[2], e = (int) q.shape[3];
        int lk = (int) k.shape[2], ev = (int) v.shape[3];
        Ref out = Ref.zeros(b, h, lq, ev), lse = Ref.zeros(b, h, lq);
        double[] s = new double[lk];
        // Flat row-major indexing (the finite-difference checks call this thousands of times).
        for (int head = 0; head < b * h; head++) {
            int qBase = head * lq * e, kBase = head * lk * e, vBase = head * lk * ev, oBase = head * lq * ev;
            for (int i = 0; i < lq; i++) {
                for (int j = 0; j < lk; j++) {
                    if (causal && j > i) {
                        s[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < e; c++) dot += q.data[qBase + i * e + c] * k.data[kBase + j * e + c];
                    s[j] = scale * dot;
                }
                double l = logSumExp(s);
                lse.data[head * lq + i] = l;
                for (int j = 0; j < lk; j++) {
                    if (s[j] == Double.NEGATIVE_INFINITY) continue;
                    double pij = Math.exp(s[j] - l);
                    for (int c = 0; c < ev; c++) out.data[oBase + i * ev + c] += pij * v.data[vBase + j * ev + c];
                }
            }
        }
        return new Ref[]{out, lse};
    }

    // ---------------------------------------------------------------- finite differences

    /**
     * Central finite differences of a scalar function f at x: ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h.
     * x is perturbed in place and restored.
     */
    static Ref gradient(Ref x, double h, ToDoubleFunction<Ref> f) {
        Ref g = Ref.zeros(x.shape);
        for (int i = 0; i < x.data.length; i++) {
            double saved = x.data[i];
            x.data[i] = saved + h;
            double plus = f.applyAsDouble(x);
            x.data[i] = saved - h;
            double minus = f.applyAsDouble(x);
            x.data[i] = saved;
            g.data[i] = (plus - minus) / (2 * h);
        }
        return g;
    }

    /** Σ a·b over all elements. */
    static double dot(Ref a, Ref b) {
        double s = 0;
        for (int i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
        return s;
    }
}
