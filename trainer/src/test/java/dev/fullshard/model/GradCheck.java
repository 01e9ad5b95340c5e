package dev.fullshard.model;

import dev.fullshard.tensor.AutogradOracle;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Independent gradients to check explicit backward passes against: central finite differences of a
 * float64 computation, and libtorch's autograd ({@link AutogradOracle}) through a forward built from
 * plain ATen ops. Every comparison prints its largest error ("[max-error]" lines) for the report.
 */
final class GradCheck {
    private GradCheck() {
    }

    /** Step of the central differences: error ≈ h²·f'''/6 + ε·|f|/h, both about 1e-10 here. */
    static final double STEP = 1e-5;

    /** Σ out·r. */
    static double dot(Tensor out, Tensor r) {
        try (TensorScope ignored = TensorScope.open()) {
            return Reductions.sum(Elementwise.mul(out.to(DType.F64), r.to(DType.F64))).item();
        }
    }

    /**
     * Compares {@code analytic} gradients of {@code loss} with central differences, perturbing the
     * float64 {@code tensors} in place (and restoring them). {@code samples} coordinates per tensor
     * (always the first and the last), or all when samples ≤ 0 or the tensor is small.
     */
    static void finiteDifferences(String what, Map<String, Tensor> tensors, Map<String, Tensor> analytic, int samples,
                                  ToDoubleFunction<Void> loss, double atol, double rtol) {
        double worst = 0, worstUse = 0;
        String worstAt = "";
        List<String> failures = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.F64) throw new IllegalArgumentException(e.getKey() + " must be float64 for finite differences");
            MemorySegment data = t.dataSegment();
            double[] g = analytic.get(e.getKey()).toDoubleArray();
            for (long i : coordinates(t.numel(), samples, e.getKey().hashCode())) {
                double saved = data.getAtIndex(JAVA_DOUBLE, i);
                data.setAtIndex(JAVA_DOUBLE, i, saved + STEP);
                double plus = loss.applyAsDouble(null);
                data.setAtIndex(JAVA_DOUBLE, i, saved - STEP);
                double minus = loss.applyAsDouble(null);
                data.setAtIndex(JAVA_DOUBLE, i, saved);
                double fd = (plus - minus) / (2 * STEP), err = Math.abs(fd - g[(int) i]);
                double use = err / (atol + rtol * Math.abs(fd));
                if (err > worst) worst = err;
                if (use > worstUse) {
                    worstUse = use;
                    worstAt = e.getKey() + "[" + i + "]";
                }
                if (use > 1 && failures.size() < 10) failures.add(e.getKey() + "[" + i + "]: analytic " + g[(int) i] + ", finite differences " + fd);
            }
        }
        System.out.printf("[max-error] %-64s FD  f64 max|err| %.3e (%.0f%% of tolerance, at %s)%n", what, worst, 100 * worstUse, worstAt);
        if (!failures.isEmpty()) throw new AssertionError(what + ": gradients differ from finite differences (atol " + atol + ", rtol " + rtol + "): " + failures);
    }

    private static long[] coordinates(long numel, int samples, long seed) {
        if (samples <= 0 || numel <= samples) {
            long[] all = new long[(int) numel];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        Random r = new Random(seed);
        long[] picked = new long[samples];
        picked[0] = 0;
        picked[1] = numel - 1;
        for (int i = 2; i < samples; i++) picked[i] = (long) (r.nextDouble() * numel);
        return picked;
    }

    /**
     * Gradients of {@code loss} from libtorch's autograd: the oracle copies every tensor into a leaf,
     * runs {@code loss} on the leaves with grad mode on and returns each leaf's gradient (in the
     * caller's scope).
     */
    static Map<String, Tensor> autograd(Map<String, Tensor> tensors, Function<Map<String, Tensor>, Tensor> loss) {
        Map<String, Tensor> grads = new LinkedHashMap<>();
        try (AutogradOracle oracle = AutogradOracle.open()) {
            Map<String, Tensor> leaves = new LinkedHashMap<>();
            for (var e : tensors.entrySet()) leaves.put(e.getKey(), oracle.leaf(e.getValue()));
            try (TensorScope graph = TensorScope.open()) {
                oracle.backward(loss.apply(leaves));
            }
            for (var e : leaves.entrySet()) grads.put(e.getKey(), oracle.grad(e.getValue()));
        }
        return grads;
    }

    /** Fails unless every gradient matches: |a − e| ≤ atol + rtol·|e|; prints the largest error. */
    static void assertClose(String what, Map<String, Tensor> actual, Map<String, Tensor> expected, double atol, double rtol) {
        double worst = 0, worstUse = 0;
        String worstAt = "";
        List<String> failures = new ArrayList<>();
        DType dtype = null;
        for (var e : expected.entrySet()) {
            Tensor a = actual.get(e.getKey());
            if (a == null) throw new AssertionError(what + ": no gradient " + e.getKey());
            dtype = a.dtype();
            double[] x = a.toDoubleArray(), y = e.getValue().toDoubleArray();
            if (x.length != y.length) throw new AssertionError(what + ": " + e.getKey() + " has " + x.length + " elements, expected " + y.length);
            for (int i = 0; i < x.length; i++) {
                double err = Math.abs(x[i] - y[i]), use = err / (atol + rtol * Math.abs(y[i]));
                if (Double.isNaN(x[i])) use = err = Double.POSITIVE_INFINITY;
                if (err > worst) worst = err;
                if (use > worstUse) {
                    worstUse = use;
                    worstAt = e.getKey() + "[" + i + "]";
                }
                if (use > 1 && failures.size() < 10) failures.add(e.getKey() + "[" + i + "]: " + x[i] + ", expected " + y[i]);
            }
        }
        System.out.printf("[max-error] %-64s %-4s max|err| %.3e (%.0f%% of tolerance, at %s)%n", what, dtype, worst, 100 * worstUse, worstAt);
        if (!failures.isEmpty()) throw new AssertionError(what + " (atol " + atol + ", rtol " + rtol + "): " + failures);
    }
}
