package dev.fullshard.optim;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Global-norm clipping against a norm and scaling computed in double here. */
@ExtendWith(NoLeakedTensors.class)
class OptimGradientClippingTest {
    private static final long[][] SHAPES = {{4, 3}, {7}, {2, 3, 5}};

    private static Map<String, double[]> values(long seed, double scale) {
        Random r = new Random(seed);
        Map<String, double[]> v = new LinkedHashMap<>();
        for (int i = 0; i < SHAPES.length; i++) {
            double[] d = new double[(int) numel(SHAPES[i])];
            // Rounded to float so the reference starts from exactly what the f32 tensors hold.
            for (int j = 0; j < d.length; j++) d[j] = (float) (r.nextGaussian() * scale);
            v.put("g" + i, d);
        }
        return v;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    private static Map<String, Tensor> tensors(Map<String, double[]> v) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        int i = 0;
        for (var e : v.entrySet()) {
            float[] f = new float[e.getValue().length];
            for (int j = 0; j < f.length; j++) f[j] = (float) e.getValue()[j];
            t.put(e.getKey(), Tensor.of(f, SHAPES[i++]));
        }
        return t;
    }

    private static double refNorm(Map<String, double[]> v) {
        double s = 0;
        for (double[] d : v.values()) for (double x : d) s += x * x;
        return Math.sqrt(s);
    }

    private static void assertValues(Map<String, Tensor> actual, Map<String, double[]> expected, double factor) {
        for (var e : expected.entrySet()) {
            double[] a = actual.get(e.getKey()).toDoubleArray();
            for (int j = 0; j < a.length; j++) {
                double x = e.getValue()[j] * factor;
                assertThat(a[j]).as("%s[%d]", e.getKey(), j).isCloseTo(x, within(1e-6 * Math.abs(x) + 1e-12));
            }
        }
    }

    @Test
    void aboveTheThresholdScalesEveryGradientToMaxNorm() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, double[]> v = values(1, 1);
            Map<String, Tensor> g = tensors(v);
            double expectedNorm = refNorm(v), maxNorm = 1.0;
            assertThat(expectedNorm).isGreaterThan(3);
            double norm = GradientClipping.clipGlobalNorm(g, maxNorm);
            assertThat(norm).isCloseTo(expectedNorm, within(1e-6 * expectedNorm));
            assertValues(g, v, maxNorm / (expectedNorm + 1e-6));
            assertThat(GradientClipping.globalNorm(g)).isCloseTo(maxNorm, within(1e-5));
        }
    }

    @Test
    void belowTheThresholdLeavesGradientsExactlyAlone() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, double[]> v = values(2, 0.01);
            Map<String, Tensor> g = tensors(v);
            double norm = GradientClipping.clipGlobalNorm(g, 1.0);
            assertThat(norm).isCloseTo(refNorm(v), within(1e-6 * refNorm(v)));
            for (var e : v.entrySet()) assertThat(g.get(e.getKey()).toDoubleArray()).containsExactly(e.getValue());
        }
    }

    @Test
    void nonFiniteNormIsReportedAndNothingIsClipped() {
        for (double bad : new double[]{Double.POSITIVE_INFINITY, Double.NaN}) {
            try (TensorScope s = TensorScope.open()) {
                Map<String, double[]> v = values(3, 1);
                v.get("g1")[2] = bad;
                Map<String, Tensor> g = tensors(v);
                double norm = GradientClipping.clipGlobalNorm(g, 1.0);
                if (Double.isNaN(bad)) assertThat(norm).isNaN();
                else assertThat(norm).isEqualTo(Double.POSITIVE_INFINITY);
                for (var e : v.entrySet()) assertThat(g.get(e.getKey()).toDoubleArray()).containsExactly(e.getValue());
            }
        }
    }

    @Test
    void noGradientsHaveNormZero() {
        assertThat(GradientClipping.clipGlobalNorm(Map.of(), 1.0)).isZero();
    }

    @Test
    void zeroGradientsStayZero() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> g = Map.of("z", Tensor.zeros(DType.F32, Device.CPU, 3, 2));
            assertThat(GradientClipping.clipGlobalNorm(g, 1.0)).isZero();
            assertThat(g.get("z").toDoubleArray()).containsOnly(0.0);
        }
    }
}
