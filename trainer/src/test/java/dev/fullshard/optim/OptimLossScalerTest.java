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

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** LossScaler against GradScaler's state machine written out here. */
@ExtendWith(NoLeakedTensors.class)
class OptimLossScalerTest {

    @Test
    void defaultsAreGradScalers() {
        try (TensorScope s = TensorScope.open()) {
            LossScaler scaler = new LossScaler(Device.CPU);
            assertThat(scaler.scale()).isEqualTo(65536.0);
            assertThat(scaler.growthTracker()).isZero();
            // 1999 clean steps: no growth yet; the 2000th doubles the scale.
            for (int i = 0; i < 1999; i++) scaler.update(false);
            assertThat(scaler.scale()).isEqualTo(65536.0);
            assertThat(scaler.growthTracker()).isEqualTo(1999);
            scaler.update(false);
            assertThat(scaler.scale()).isEqualTo(131072.0);
            assertThat(scaler.growthTracker()).isZero();
        }
    }

    @Test
    void trainingLoopGrowsBacksOffAndSkipsOverflowingSteps() {
        try (TensorScope s = TensorScope.open()) {
            long interval = 3;
            LossScaler scaler = new LossScaler(Device.CPU, 1024, 2, 0.5, interval);
            boolean[] overflow = {false, false, false, true, false, true, true, false, false, false, false};
            double expectedScale = 1024;
            long expectedTracker = 0, skipped = 0, taken = 0;
            for (int t = 0; t < overflow.length; t++) {
                try (TensorScope inner = TensorScope.open()) {
                    double scale = scaler.scale();
                    assertThat(scale).as("scale before step %d", t).isEqualTo(expectedScale);
                    // Gradients as backward would leave them: true gradient × scale, or an inf.
                    float[] trueGrad = {0.25f, -3f, 1e-3f};
                    float[] scaled = new float[3];
                    for (int i = 0; i < 3; i++) scaled[i] = (float) (trueGrad[i] * scale);
                    if (overflow[t]) scaled[1] = Float.POSITIVE_INFINITY;
                    Map<String, Tensor> grads = new LinkedHashMap<>();
                    grads.put("a", Tensor.of(scaled, 3));
                    grads.put("b", Tensor.of(new float[]{(float) scale}, 1));
                    boolean found = scaler.unscaleAndCheck(grads);
                    assertThat(found).as("found inf at step %d", t).isEqualTo(overflow[t]);
                    if (found) skipped++;
                    else {
                        taken++;
                        // Power-of-two scales: unscaling is exact.
                        assertThat(grads.get("a").toFloatArray()).containsExactly(trueGrad);
                        assertThat(grads.get("b").toFloatArray()).containsExactly(1f);
                    }
                    scaler.update(found);
                }
                // GradScaler: overflow → scale × backoff, tracker 0; else tracker + 1, growth at the interval.
                if (overflow[t]) {
                    expectedScale *= 0.5;
                    expectedTracker = 0;
                } else if (++expectedTracker == interval) {
                    expectedScale *= 2;
                    expectedTracker = 0;
                }
                assertThat(scaler.scale()).as("scale after step %d", t).isEqualTo(expectedScale);
                assertThat(scaler.growthTracker()).as("tracker after step %d", t).isEqualTo(expectedTracker);
            }
            assertThat(skipped).isEqualTo(3);
            assertThat(taken).isEqualTo(8);
        }
    }

    @Test
    void nanCountsAsOverflow() {
        try (TensorScope s = TensorScope.open()) {
            LossScaler scaler = new LossScaler(Device.CPU);
            assertThat(scaler.unscaleAndCheck(Map.of("g", Tensor.of(new float[]{1, Float.NaN}, 2)))).isTrue();
            // found_inf is reset for each check.
            assertThat(scaler.unscaleAndCheck(Map.of("g", Tensor.of(new float[]{1, 2}, 2)))).isFalse();
        }
    }

    @Test
    void stateRoundTripsAndLoadIsChecked() {
        try (TensorScope s = TensorScope.open()) {
            LossScaler a = new LossScaler(Device.CPU, 1024, 2, 0.5, 5);
            a.update(true);
            a.update(false);
            a.update(false);
            Map<String, Tensor> saved = new LinkedHashMap<>();
            for (var e : a.state().entrySet()) saved.put(e.getKey(), e.getValue().to(e.getValue().dtype() == DType.F32 ? DType.F64 : DType.I64));
            LossScaler b = new LossScaler(Device.CPU, 1024, 2, 0.5, 5);
            b.load(saved);
            assertThat(b.scale()).isEqualTo(512.0);
            assertThat(b.growthTracker()).isEqualTo(2);
            for (int i = 0; i < 3; i++) {
                a.update(false);
                b.update(false);
            }
            assertThat(b.scale()).isEqualTo(a.scale()).isEqualTo(1024.0);

            assertThatThrownBy(() -> b.load(Map.of("scale", Tensor.full(-1, DType.F32, Device.CPU, 1), "growth_tracker", Tensor.full(7, DType.I32, Device.CPU, 1))))
                    .hasMessageContaining("scale is -1.0").hasMessageContaining("growth_tracker is 7.0");
            assertThatThrownBy(() -> b.load(Map.of("scale", Tensor.full(8, DType.F32, Device.CPU, 1), "extra", Tensor.scalar(1f))))
                    .hasMessageContaining("missing growth_tracker").hasMessageContaining("unexpected extra");
            assertThat(b.scale()).isEqualTo(1024.0);
        }
    }
}
