package dev.fullshard.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.fullshard.tensor.LayerRef.assertClose;
import static dev.fullshard.tensor.LayerRef.randn;
import static dev.fullshard.tensor.Ref.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The optimizer and mixed-precision ops: aten::_fused_adamw_.tensor_lr against AdamW's closed form in
 * double, aten::_amp_foreach_non_finite_check_and_unscale_, aten::_amp_update_scale_ against
 * GradScaler's rules, and aten::_foreach_mul_.Tensor.
 */
@ExtendWith(NoLeakedTensors.class)
class OptimizerKernelsTest {
    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;
    private static final long[][] SHAPES = {{4, 3}, {5}, {2, 2, 3}};

    // ================================================================ reference AdamW

    /** One parameter's state in double. */
    private static final class State {
        final Ref p, m, v;

        State(Ref p, Ref m, Ref v) {
            this.p = p;
            this.m = m;
            this.v = v;
        }
    }

    /**
     * AdamW (Loshchilov & Hutter, as torch.optim.AdamW): decoupled weight decay on the parameter as it
     * was before this step, p ← p·(1 − lr·wd), then m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
     * p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
     */
    private static void adamW(State s, Ref g, double lr, double wd, long step) {
        double bc1 = 1 - Math.pow(BETA1, step), bc2 = 1 - Math.pow(BETA2, step);
        for (int i = 0; i < s.p.data.length; i++) {
            double gi = g.data[i];
            s.p.data[i] *= 1 - lr * wd;
            s.m.data[i] = BETA1 * s.m.data[i] + (1 - BETA1) * gi;
            s.v.data[i] = BETA2 * s.v.data[i] + (1 - BETA2) * gi * gi;
            s.p.data[i] -= lr * (s.m.data[i] / bc1) / (Math.sqrt(s.v.data[i] / bc2) + EPS);
        }
    }

    /** Tensors of one fused call: params, grads, moments, steps, each a new tensor of {@code dtype}. */
    private record Group(Tensor[] params, Tensor[] grads, Tensor[] expAvgs, Tensor[] expAvgSqs, Tensor[] steps) {
        static Group of(DType dtype, long seed, double momentScale) {
            int n = SHAPES.length;
            Group g = new Group(new Tensor[n], new Tensor[n], new Tensor[n], new Tensor[n], new Tensor[n]);
            for (int i = 0; i < n; i++) {
                g.params[i] = randn(seed + 10 * i, 1, dtype, SHAPES[i]).tensor();
                g.grads[i] = Tensor.zeros(dtype, Device.CPU, SHAPES[i]);
                g.expAvgs[i] = randn(seed + 10 * i + 1, momentScale, dtype, SHAPES[i]).tensor();
                // v ≥ 0: squares of Gaussians.
                g.expAvgSqs[i] = Ref.randn(seed + 10 * i + 2, momentScale, SHAPES[i]).map(x -> x * x).toTensor(dtype);
                g.steps[i] = Tensor.scalar(0f);
            }
            return g;
        }

        State[] readState() {
            State[] out = new State[params.length];
            for (int i = 0; i < params.length; i++) out[i] = new State(Ref.of(params[i]), Ref.of(expAvgs[i]), Ref.of(expAvgSqs[i]));
            return out;
        }

        /** Fresh gradients and the step number written into the step tensors (the op does not increment them). */
        Ref[] newGrads(long seed, long step) {
            Ref[] out = new Ref[params.length];
            for (int i = 0; i < params.length; i++) {
                try (TensorScope inner = TensorScope.open()) {
                    Copies.copyInto(grads[i], Ref.randn(seed + i, 0.5, SHAPES[i]).toTensor(grads[i].dtype()));
                }
                Copies.fill(steps[i], step);
                out[i] = Ref.of(grads[i]);
            }
            return out;
        }

        void step(Tensor lr, double wd, Tensor gradScale, Tensor foundInf) {
            OptimizerKernels.fusedAdamW(params, grads, expAvgs, expAvgSqs, steps, lr, BETA1, BETA2, wd, EPS, gradScale, foundInf);
        }
    }

    private static void assertState(Group g, State[] expected, DType tolDtype, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertClose(g.params[i], expected[i].p, tolDtype, what + " param " + i);
            assertClose(g.expAvgs[i], expected[i].m, tolDtype, what + " exp_avg " + i);
            assertClose(g.expAvgSqs[i], expected[i].v, tolDtype, what + " exp_avg_sq " + i);
        }
    }

    // ================================================================ aten::_fused_adamw_.tensor_lr

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void fusedAdamWOneStepFromNonZeroMomentsAtStep5(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // bf16 holds only ~3 significant digits, so bf16 uses a large lr to make the update visible.
            double lr = dtype == DType.BF16 ? 0.1 : 1e-2, wd = 0.1;
            Group g = Group.of(dtype, 400, 0.3);
            Ref[] grads = g.newGrads(410, 5);
            State[] expected = g.readState();
            Tensor lrTensor = Tensor.scalar((float) lr);
            g.step(lrTensor, wd, null, null);

            // The op reads lr from a float32 tensor, so the reference uses that float value too.
            for (int i = 0; i < expected.length; i++) adamW(expected[i], grads[i], (float) lr, wd, 5);
            assertState(g, expected, dtype, "aten::_fused_adamw_ step 5");
            for (int i = 0; i < expected.length; i++) {
                assertThat(g.steps[i].item()).as("the op leaves state_steps alone").isEqualTo(5.0);
                assertExact(g.grads[i], grads[i], "grads untouched without grad_scale");
            }
        }
    }

    @Test
    void fusedAdamWSeveralStepsFloat32() {
        try (TensorScope s = TensorScope.open()) {
            double lr = 1e-2, wd = 0.05;
            Group g = Group.of(DType.F32, 420, 0);
            State[] expected = g.readState();
            Tensor lrTensor = Tensor.scalar((float) lr);
            for (long step = 1; step <= 4; step++) {
                Ref[] grads = g.newGrads(430 + 10 * step, step);
                g.step(lrTensor, wd, null, null);
                for (int i = 0; i < expected.length; i++) adamW(expected[i], grads[i], (float) lr, wd, step);
            }
            assertState(g, expected, DType.F32, "aten::_fused_adamw_ 4 steps");
        }
    }

    @Test
    void fusedAdamWSeveralStepsBfloat16() {
        try (TensorScope s = TensorScope.open()) {
            double lr = 0.1, wd = 0.05;
            Group g = Group.of(DType.BF16, 440, 0);
            State[] expected = g.readState();
            Tensor lrTensor = Tensor.scalar((float) lr);
            for (long step = 1; step <= 4; step++) {
                Ref[] grads = g.newGrads(450 + 10 * step, step);
                g.step(lrTensor, wd, null, null);
                for (int i = 0; i < expected.length; i++) {
                    // Only the storage is bf16: p, m and v are rounded to bf16 between steps, as the tensors
                    // hold them; each step itself is exact in the reference.
                    State st = expected[i];
                    adamW(st, grads[i], (float) lr, wd, step);
                    for (Ref r : new Ref[]{st.p, st.m, st.v}) for (int j = 0; j < r.data.length; j++) r.data[j] = Ref.bf16(r.data[j]);
                }
            }
            assertState(g, expected, DType.BF16, "aten::_fused_adamw_ 4 steps");
        }
    }

    @Test
    void fusedAdamWAppliesDecoupledWeightDecayToThePreStepParameter() {
        try (TensorScope s = TensorScope.open()) {
            // float64 (the CPU kernel supports it) and a large lr·wd, so orderings that agree to first order
            // differ by far more than the tolerance: decaying after the Adam update (lr²·wd·update ≈ 5e-3
            // here) or L2-style decay through the gradient (Adam, not AdamW).
            double lr = 0.1, wd = 0.5;
            Group g = Group.of(DType.F64, 460, 0.3);
            Ref[] grads = g.newGrads(470, 3);
            State[] expected = g.readState();
            State[] decayAfter = g.readState(), l2 = g.readState();
            g.step(Tensor.scalar(lr), wd, null, null);

            for (int i = 0; i < expected.length; i++) {
                adamW(expected[i], grads[i], lr, wd, 3);
                // The two alternative orderings, only to show this test tells them apart.
                adamW(decayAfter[i], grads[i], lr, 0, 3);
                for (int j = 0; j < decayAfter[i].p.data.length; j++) decayAfter[i].p.data[j] *= 1 - lr * wd;
                Ref gL2 = Ref.zeros(grads[i].shape);
                for (int j = 0; j < gL2.data.length; j++) gL2.data[j] = grads[i].data[j] + wd * l2[i].p.data[j];
                adamW(l2[i], gL2, lr, 0, 3);
            }
            for (int i = 0; i < expected.length; i++) {
                assertClose(g.params[i], expected[i].p, 1e-12, 1e-12, "aten::_fused_adamw_ f64 param " + i);
                assertClose(g.expAvgs[i], expected[i].m, 1e-12, 1e-12, "aten::_fused_adamw_ f64 exp_avg " + i);
                assertClose(g.expAvgSqs[i], expected[i].v, 1e-12, 1e-12, "aten::_fused_adamw_ f64 exp_avg_sq " + i);
                assertThat(maxAbsDiff(decayAfter[i].p, expected[i].p)).as("decay-after-update differs").isGreaterThan(1e-4);
                assertThat(maxAbsDiff(l2[i].p, expected[i].p)).as("L2 decay differs").isGreaterThan(1e-4);
            }
        }
    }

    @Test
    void fusedAdamWUnscalesGradsByGradScaleAndSkipsTheStepOnFoundInf() {
        try (TensorScope s = TensorScope.open()) {
            double lr = 1e-2, wd = 0.1;
            Tensor lrTensor = Tensor.scalar((float) lr);

            // found_inf = 1: the whole step is skipped, nothing changes.
            Group skipped = Group.of(DType.F32, 480, 0.3);
            Ref[] skippedGrads = skipped.newGrads(490, 2);
            State[] before = skipped.readState();
            skipped.step(lrTensor, wd, Tensor.full(4, DType.F32, Device.CPU, 1), Tensor.full(1, DType.F32, Device.CPU, 1));
            for (int i = 0; i < before.length; i++) {
                assertExact(skipped.params[i], before[i].p, "skipped step: param " + i);
                assertExact(skipped.expAvgs[i], before[i].m, "skipped step: exp_avg " + i);
                assertExact(skipped.expAvgSqs[i], before[i].v, "skipped step: exp_avg_sq " + i);
                assertExact(skipped.grads[i], skippedGrads[i], "skipped step: grad " + i);
            }

            // grad_scale = 4, found_inf = 0: grads are divided by 4 in place and the step uses them.
            Group scaled = Group.of(DType.F32, 480, 0.3);
            Ref[] grads = scaled.newGrads(490, 2);
            State[] expected = scaled.readState();
            scaled.step(lrTensor, wd, Tensor.full(4, DType.F32, Device.CPU, 1), Tensor.zeros(DType.F32, Device.CPU, 1));
            for (int i = 0; i < expected.length; i++) {
                Ref unscaled = grads[i].map(x -> x / 4);
                adamW(expected[i], unscaled, (float) lr, wd, 2);
                assertExact(scaled.grads[i], unscaled, "grad_scale: grads unscaled in place " + i);
            }
            assertState(scaled, expected, DType.F32, "aten::_fused_adamw_ with grad_scale");
        }
    }

    private static double maxAbsDiff(Ref a, Ref b) {
        double m = 0;
        for (int i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
        return m;
    }

    // ================================================================ aten::_amp_foreach_non_finite_check_and_unscale_

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void unscaleMultipliesEveryGradAndLeavesFoundInfZeroWhenFinite(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(500, 100, dtype, 3, 4);
            var b = randn(501, 100, dtype, 7);
            Tensor foundInf = Tensor.zeros(DType.F32, Device.CPU, 1);
            // 0.3 is not a power of two, so the products round; the op multiplies in float32.
            float inv = 0.3f;
            OptimizerKernels.unscaleAndCheckFinite(new Tensor[]{a.tensor(), b.tensor()}, foundInf, Tensor.full(inv, DType.F32, Device.CPU, 1));
            assertClose(a.tensor(), a.values().map(x -> x * inv), dtype, "aten::_amp_foreach_non_finite_check_and_unscale_ grad 0");
            assertClose(b.tensor(), b.values().map(x -> x * inv), dtype, "aten::_amp_foreach_non_finite_check_and_unscale_ grad 1");
            assertThat(foundInf.item()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void unscaleSetsFoundInfForAnInfOrANaN(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            for (double bad : new double[]{Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN}) {
                try (TensorScope inner = TensorScope.open()) {
                    Tensor ok = randn(510, 1, dtype, 4).tensor();
                    Ref badValues = Ref.randn(511, 1, 2, 3);
                    badValues.set(bad, 1, 2);
                    Tensor withBad = badValues.toTensor(dtype);
                    Tensor foundInf = Tensor.zeros(DType.F32, Device.CPU, 1);
                    OptimizerKernels.unscaleAndCheckFinite(new Tensor[]{ok, withBad}, foundInf, Tensor.full(0.5, DType.F32, Device.CPU, 1));
                    assertThat(foundInf.item()).as("found_inf after a grad holding " + bad).isEqualTo(1.0);
                    // The grads are still multiplied (by 0.5, exactly), the bad value stays non-finite.
                    Ref after = Ref.of(withBad);
                    assertThat(after.get(0, 0)).isEqualTo(Ref.round(badValues.get(0, 0), dtype) * 0.5);
                    assertThat(Double.isFinite(after.get(1, 2))).isFalse();
                }
            }
        }
    }

    // ================================================================ aten::_amp_update_scale_

    @Test
    void updateLossScaleFollowsGradScalerRules() {
        try (TensorScope s = TensorScope.open()) {
            double growth = 2, backoff = 0.5;
            long interval = 3;
            Tensor scale = Tensor.full(1024, DType.F32, Device.CPU, 1);
            Tensor tracker = Tensor.of(new int[]{0}, 1);
            // Three clean steps grow the scale; an overflow halves it and restarts the count; a growth in
            // the middle of a count is impossible.
            boolean[] overflow = {false, false, false, true, false, false, true, false, false, false, false};
            double expectedScale = 1024;
            int expectedTracker = 0;
            for (int t = 0; t < overflow.length; t++) {
                try (TensorScope inner = TensorScope.open()) {
                    Tensor foundInf = Tensor.full(overflow[t] ? 1 : 0, DType.F32, Device.CPU, 1);
                    OptimizerKernels.updateLossScale(scale, tracker, foundInf, growth, backoff, interval);
                }
                // GradScaler: on overflow scale *= backoff and tracker = 0; otherwise tracker += 1 and when
                // it reaches growth_interval, scale *= growth and tracker = 0.
                if (overflow[t]) {
                    expectedScale *= backoff;
                    expectedTracker = 0;
                } else if (++expectedTracker == interval) {
                    expectedScale *= growth;
                    expectedTracker = 0;
                }
                assertThat(scale.item()).as("scale after step " + t).isEqualTo(expectedScale);
                assertThat(tracker.toIntArray()[0]).as("growth tracker after step " + t).isEqualTo(expectedTracker);
            }
        }
    }

    // ================================================================ aten::_foreach_mul_.Tensor

    @Test
    void multiplyAllScalesEveryTensorInPlaceIncludingAView() {
        try (TensorScope s = TensorScope.open()) {
            var f = randn(520, 1, DType.F32, 3, 4);
            var h = randn(521, 1, DType.BF16, 5);
            var baseOfView = randn(522, 1, DType.F32, 4, 3);
            Tensor view = baseOfView.tensor().transpose(0, 1); // non-contiguous: writes must land in the base
            float factor = 0.3f;
            OptimizerKernels.multiplyAll(new Tensor[]{f.tensor(), h.tensor(), view}, Tensor.scalar(factor));
            assertClose(f.tensor(), f.values().map(x -> x * factor), DType.F32, "aten::_foreach_mul_.Tensor f32");
            assertClose(h.tensor(), h.values().map(x -> x * factor), DType.BF16, "aten::_foreach_mul_.Tensor bf16");
            assertClose(baseOfView.tensor(), baseOfView.values().map(x -> x * factor), DType.F32, "aten::_foreach_mul_.Tensor through a transposed view");
        }
    }
}
