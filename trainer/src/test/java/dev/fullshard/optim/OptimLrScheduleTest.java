package dev.fullshard.optim;

import dev.fullshard.tensor.NoLeakedTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** LrSchedule against the closed forms written out independently here, at every step. */
@ExtendWith(NoLeakedTensors.class)
class OptimLrScheduleTest {
    private static final double PEAK = 3e-4;
    /** (total, warmup, floor) cases: no warmup, warmup of 1, all warmup, warmup = total − 1, a floor of 1. */
    private static final double[][] CASES = {{10, 0, 0}, {10, 1, 0.1}, {100, 7, 0.1}, {57, 13, 0}, {5, 5, 0.2}, {6, 5, 0.1}, {1, 0, 0.3}, {20, 4, 1}};

    private static double warmupOr(long s, long w, double otherwise) {
        return s < w ? (double) s / w : otherwise;
    }

    @Test
    void cosineMatchesTheClosedFormAtEveryStep() {
        for (double[] c : CASES) {
            long total = (long) c[0], warmup = (long) c[1];
            double floor = c[2];
            LrSchedule sched = LrSchedule.cosine(PEAK, total, warmup, floor);
            for (long s = 0; s <= total; s++) {
                double p = (double) (s - warmup) / Math.max(1, total - warmup);
                double expected = PEAK * warmupOr(s, warmup, floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * p)));
                assertThat(sched.lr(s)).as("cosine %s step %d", java.util.Arrays.toString(c), s).isCloseTo(expected, within(1e-15));
            }
            assertThat(sched.lr(0)).as("warmup starts at 0").isEqualTo(warmup > 0 ? 0 : PEAK);
            assertThat(sched.lr(total)).as("floor at step total").isCloseTo(warmup == total ? PEAK : PEAK * floor, within(1e-18));
        }
    }

    @Test
    void linearMatchesTheClosedFormAndHuggingFaceWithoutAFloor() {
        for (double[] c : CASES) {
            long total = (long) c[0], warmup = (long) c[1];
            double floor = c[2];
            LrSchedule sched = LrSchedule.linear(PEAK, total, warmup, floor);
            LrSchedule noFloor = LrSchedule.linear(PEAK, total, warmup, 0);
            for (long s = 0; s <= total; s++) {
                double p = (double) (s - warmup) / Math.max(1, total - warmup);
                assertThat(sched.lr(s)).isCloseTo(PEAK * warmupOr(s, warmup, floor + (1 - floor) * (1 - p)), within(1e-15));
                // get_linear_schedule_with_warmup: max(0, (T − s) / max(1, T − W)). Differs from the closed
                // form only when all steps are warmup, at s = T, which no step uses.
                if (warmup == total && s == total) continue;
                double hf = Math.max(0, (double) (total - s) / Math.max(1, total - warmup));
                assertThat(noFloor.lr(s)).isCloseTo(PEAK * warmupOr(s, warmup, hf), within(1e-15));
            }
        }
    }

    @Test
    void constantIsPeakAfterWarmup() {
        LrSchedule sched = LrSchedule.constant(PEAK, 10, 4);
        double[] expected = {0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1};
        for (int s = 0; s <= 10; s++) assertThat(sched.lr(s)).isCloseTo(PEAK * expected[s], within(1e-18));
    }

    @Test
    void warmupRatioRoundsUpTheDecimalProduct() {
        // 0.1·30 and 0.07·100 are 3.0000000000000004 and 7.000000000000001 in doubles; as written they are 3 and 7.
        assertThat(LrSchedule.warmupSteps(0.1, 30)).isEqualTo(3);
        assertThat(LrSchedule.warmupSteps(0.07, 100)).isEqualTo(7);
        assertThat(LrSchedule.warmupSteps(0.15, 10)).isEqualTo(2);   // 1.5 → 2
        assertThat(LrSchedule.warmupSteps(0.03, 1000)).isEqualTo(30);
        assertThat(LrSchedule.warmupSteps(0.001, 999)).isEqualTo(1); // 0.999 → 1
        assertThat(LrSchedule.warmupSteps(0, 1000)).isZero();
        assertThat(LrSchedule.warmupSteps(1, 17)).isEqualTo(17);
    }

    @Test
    void rejectsStepsOutsideTheScheduleAndBadArguments() {
        LrSchedule sched = LrSchedule.cosine(PEAK, 10, 2, 0.1);
        assertThatThrownBy(() -> sched.lr(11)).hasMessageContaining("outside [0, 10]");
        assertThatThrownBy(() -> sched.lr(-1)).hasMessageContaining("outside");
        assertThatThrownBy(() -> LrSchedule.cosine(PEAK, 10, 11, 0)).hasMessageContaining("warmup steps");
        assertThatThrownBy(() -> LrSchedule.cosine(PEAK, 10, 2, 1.5)).hasMessageContaining("min lr ratio");
        assertThatThrownBy(() -> LrSchedule.warmupSteps(-0.1, 10)).hasMessageContaining("warmup ratio");
    }
}
