package dev.fullshard.optim;

import dev.fullshard.tensor.Copies;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** AdamW over named f32 tensors against AdamW in double written out here. */
@ExtendWith(NoLeakedTensors.class)
class OptimAdamWTest {
    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8, WD = 0.1;
    /** Decayed: the two projections; not decayed: a norm scale, the final norm, a bias. */
    private static final Map<String, long[]> SHAPES = new LinkedHashMap<>();

    static {
        SHAPES.put("model.layers.0.input_layernorm.weight", new long[]{6});
        SHAPES.put("model.layers.0.self_attn.q_proj.weight", new long[]{4, 6});
        SHAPES.put("model.layers.0.self_attn.q_proj.bias", new long[]{4});
        SHAPES.put("model.layers.0.mlp.down_proj.weight", new long[]{2, 3, 6});
        SHAPES.put("model.norm.weight", new long[]{6});
    }

    /** Reference state of one parameter in double. */
    private static final class Ref {
        final double[] p, m, v;

        Ref(double[] p) {
            this.p = p.clone();
            this.m = new double[p.length];
            this.v = new double[p.length];
        }

        /** torch.optim.AdamW: p ← p(1 − lr·wd); m, v moments; p ← p − lr·m̂/(√v̂ + ε). */
        void step(double[] g, double lr, double wd, long t) {
            double bc1 = 1 - Math.pow(BETA1, t), bc2 = 1 - Math.pow(BETA2, t);
            for (int i = 0; i < p.length; i++) {
                p[i] *= 1 - lr * wd;
                m[i] = BETA1 * m[i] + (1 - BETA1) * g[i];
                v[i] = BETA2 * v[i] + (1 - BETA2) * g[i] * g[i];
                p[i] -= lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + EPS);
            }
        }
    }

    private static int numel(long[] shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        return n;
    }

    /** Gaussian values rounded to float, so tensor and reference start from the same numbers. */
    private static double[] gaussian(Random r, int n, double scale) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = (float) (r.nextGaussian() * scale);
        return d;
    }

    private static Tensor tensor(double[] d, long[] shape) {
        float[] f = new float[d.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) d[i];
        return Tensor.of(f, shape);
    }

    private static Map<String, double[]> grads(long seed) {
        Random r = new Random(seed);
        Map<String, double[]> g = new LinkedHashMap<>();
        for (var e : SHAPES.entrySet()) g.put(e.getKey(), gaussian(r, numel(e.getValue()), 0.5));
        return g;
    }

    private static Map<String, Tensor> toTensors(Map<String, double[]> values) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : values.entrySet()) t.put(e.getKey(), tensor(e.getValue(), SHAPES.get(e.getKey())));
        return t;
    }

    private static Map<String, double[]> initialParams() {
        Random r = new Random(7);
        Map<String, double[]> p = new LinkedHashMap<>();
        for (var e : SHAPES.entrySet()) p.put(e.getKey(), gaussian(r, numel(e.getValue()), 1));
        return p;
    }

    private static double lrAt(long t) {
        return 1e-2 * (1 + 0.5 * Math.sin(t)); // varies per step, so a stale lr tensor would show
    }

    private static void assertClose(Tensor actual, double[] expected, String what) {
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < a.length; i++) {
            assertThat(a[i]).as("%s[%d]", what, i).isCloseTo(expected[i], within(2e-6 + 2e-6 * Math.abs(expected[i])));
        }
    }

    @Test
    void severalStepsMatchAdamWInDoubleWithDecayOnlyOnWeights() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, double[]> init = initialParams();
            Map<String, Tensor> params = toTensors(init);
            AdamW opt = new AdamW(params, BETA1, BETA2, EPS, WD);
            Map<String, Ref> ref = new LinkedHashMap<>();
            for (var e : init.entrySet()) ref.put(e.getKey(), new Ref(e.getValue()));

            for (long t = 1; t <= 5; t++) {
                try (TensorScope inner = TensorScope.open()) {
                    Map<String, double[]> g = grads(100 + t);
                    opt.step(toTensors(g), lrAt(t));
                    // The op reads lr from a float32 tensor.
                    for (var e : ref.entrySet()) {
                        double wd = e.getKey().endsWith("norm.weight") || e.getKey().endsWith(".bias") ? 0 : WD;
                        e.getValue().step(g.get(e.getKey()), (float) lrAt(t), wd, t);
                    }
                }
            }
            assertThat(opt.stepCount()).isEqualTo(5);
            for (var e : ref.entrySet()) {
                assertClose(params.get(e.getKey()), e.getValue().p, "param " + e.getKey());
                assertClose(opt.state().get("exp_avg." + e.getKey()), e.getValue().m, "exp_avg " + e.getKey());
                assertClose(opt.state().get("exp_avg_sq." + e.getKey()), e.getValue().v, "exp_avg_sq " + e.getKey());
            }
            assertThat(opt.state().get("step").item()).isEqualTo(5.0);
        }
    }

    @Test
    void groupsFollowHuggingFaceNaming() {
        assertThat(AdamW.decays("model.layers.0.self_attn.q_proj.weight")).isTrue();
        assertThat(AdamW.decays("model.embed_tokens.weight")).isTrue();
        assertThat(AdamW.decays("lm_head.weight")).isTrue();
        assertThat(AdamW.decays("model.layers.0.self_attn.q_proj.bias")).isFalse();
        assertThat(AdamW.decays("model.layers.3.post_attention_layernorm.weight")).isFalse();
        assertThat(AdamW.decays("model.layers.3.self_attn.k_norm.weight")).isFalse();
        assertThat(AdamW.decays("model.norm.weight")).isFalse();
    }

    @Test
    void stateSavedAndLoadedIntoANewOptimizerContinuesExactlyAsAnUnbrokenRun() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, double[]> init = initialParams();
            Map<String, Tensor> unbrokenParams = toTensors(init), resumedParams = toTensors(init);
            AdamW unbroken = new AdamW(unbrokenParams, WD);
            AdamW first = new AdamW(resumedParams, WD);
            for (long t = 1; t <= 3; t++) {
                try (TensorScope inner = TensorScope.open()) {
                    unbroken.step(toTensors(grads(200 + t)), lrAt(t));
                    first.step(toTensors(grads(200 + t)), lrAt(t));
                }
            }
            // A checkpoint: copies of the state, detached from the first optimizer, then a new optimizer.
            Map<String, Tensor> saved = new LinkedHashMap<>();
            for (var e : first.state().entrySet()) saved.put(e.getKey(), Copies.clone(e.getValue()));
            Map<String, Tensor> savedParams = new LinkedHashMap<>();
            for (var e : resumedParams.entrySet()) savedParams.put(e.getKey(), Copies.clone(e.getValue()));
            AdamW resumed = new AdamW(savedParams, WD);
            resumed.load(saved);
            assertThat(resumed.stepCount()).isEqualTo(3);
            for (long t = 4; t <= 6; t++) {
                try (TensorScope inner = TensorScope.open()) {
                    unbroken.step(toTensors(grads(200 + t)), lrAt(t));
                    resumed.step(toTensors(grads(200 + t)), lrAt(t));
                }
            }
            for (String name : SHAPES.keySet()) {
                assertThat(savedParams.get(name).toFloatArray()).as(name).containsExactly(unbrokenParams.get(name).toFloatArray());
            }
            for (var e : unbroken.state().entrySet()) {
                assertThat(resumed.state().get(e.getKey()).toFloatArray()).as(e.getKey()).containsExactly(e.getValue().toFloatArray());
            }
        }
    }

    @Test
    void loadNamesEveryProblemAndChangesNothing() {
        try (TensorScope s = TensorScope.open()) {
            AdamW opt = new AdamW(toTensors(initialParams()), WD);
            Map<String, Tensor> bad = new LinkedHashMap<>(opt.state());
            bad.remove("exp_avg.model.norm.weight");
            bad.put("exp_avg_sq.model.layers.0.self_attn.q_proj.weight", Tensor.zeros(DType.F32, Device.CPU, 6, 4));
            bad.put("exp_avg.lm_head.weight", Tensor.zeros(DType.F32, Device.CPU, 2));
            bad.put("step", Tensor.scalar(2.5f));
            assertThatThrownBy(() -> opt.load(bad))
                    .hasMessageContaining("missing exp_avg.model.norm.weight [6]")
                    .hasMessageContaining("exp_avg_sq.model.layers.0.self_attn.q_proj.weight is [6, 4], expected [4, 6]")
                    .hasMessageContaining("unexpected exp_avg.lm_head.weight")
                    .hasMessageContaining("step is 2.5");
            assertThat(opt.stepCount()).isZero();
        }
    }

    @Test
    void gradientsMustMatchTheParameters() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, Tensor> params = toTensors(initialParams());
            AdamW opt = new AdamW(params, WD);
            Map<String, Tensor> g = toTensors(grads(1));
            g.remove("model.norm.weight");
            g.put("extra.weight", Tensor.zeros(DType.F32, Device.CPU, 1));
            g.put("model.layers.0.self_attn.q_proj.bias", Tensor.zeros(DType.BF16, Device.CPU, 4));
            assertThatThrownBy(() -> opt.step(g, 1e-3))
                    .hasMessageContaining("no gradient for model.norm.weight")
                    .hasMessageContaining("gradient extra.weight has no parameter")
                    .hasMessageContaining("q_proj.bias gradient is bfloat16, parameter float32");
        }
    }

    @Test
    void aStepWithFoundInfChangesNothingAndIsNotCounted() {
        try (TensorScope s = TensorScope.open()) {
            Map<String, double[]> init = initialParams();
            Map<String, Tensor> params = toTensors(init);
            AdamW opt = new AdamW(params, BETA1, BETA2, EPS, WD);
            Map<String, Ref> ref = new LinkedHashMap<>();
            for (var e : init.entrySet()) ref.put(e.getKey(), new Ref(e.getValue()));
            Tensor gradScale = Tensor.full(8, DType.F32, Device.CPU, 1);
            Tensor foundInf = Tensor.zeros(DType.F32, Device.CPU, 1);
            long t = 0;
            // Steps 1 and 3 overflow: skipped, so the second real step uses bias correction t = 2.
            boolean[] overflow = {false, true, false, true, false};
            for (int k = 0; k < overflow.length; k++) {
                try (TensorScope inner = TensorScope.open()) {
                    Copies.fill(foundInf, overflow[k] ? 1 : 0);
                    Map<String, double[]> g = grads(300 + k);
                    boolean taken = opt.step(toTensors(g), 1e-2, gradScale, foundInf);
                    assertThat(taken).isEqualTo(!overflow[k]);
                    if (!overflow[k]) {
                        t++;
                        for (var e : ref.entrySet()) {
                            double[] unscaled = g.get(e.getKey()).clone();
                            for (int i = 0; i < unscaled.length; i++) unscaled[i] /= 8;
                            double wd = AdamW.decays(e.getKey()) ? WD : 0;
                            e.getValue().step(unscaled, (float) 1e-2, wd, t);
                        }
                    }
                    assertThat(opt.stepCount()).isEqualTo(t);
                    assertThat(opt.state().get("step").item()).isEqualTo((double) t);
                }
            }
            for (var e : ref.entrySet()) {
                assertClose(params.get(e.getKey()), e.getValue().p, "param " + e.getKey());
                assertClose(opt.state().get("exp_avg." + e.getKey()), e.getValue().m, "exp_avg " + e.getKey());
            }
        }
    }
}
