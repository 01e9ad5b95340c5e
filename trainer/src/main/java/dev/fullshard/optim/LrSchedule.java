package dev.fullshard.optim;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The learning rate for each optimizer step: linear warmup from 0, then cosine or linear decay to a
 * floor, or constant. A closed form of the step number, so resuming needs no scheduler state.
 *
 * <p>{@code step} is the number of optimizer steps already taken (0-based): {@code lr(s)} is the rate
 * the (s+1)-th optimizer step uses, as Hugging Face's {@code LambdaLR} schedules do (its first step
 * runs with lr 0 when there is warmup). With W = {@code warmupSteps}, T = {@code totalSteps},
 * r = {@code minLrRatio}:
 *
 * <pre>
 *   s &lt; W:   lr(s) = peakLr · s / W
 *   s ≥ W:   p = (s − W) / max(1, T − W)
 *            cosine:   lr(s) = peakLr · (r + (1 − r) · ½ · (1 + cos(π · p)))
 *            linear:   lr(s) = peakLr · (r + (1 − r) · (1 − p))
 *            constant: lr(s) = peakLr
 * </pre>
 *
 * Cosine is Hugging Face's {@code get_cosine_with_min_lr_schedule_with_warmup} (num_cycles 0.5,
 * {@code min_lr_rate} = r; r = 0 gives {@code get_cosine_schedule_with_warmup}); linear with r = 0 is
 * {@code get_linear_schedule_with_warmup}; constant is {@code get_constant_schedule_with_warmup}. The
 * floor r·peakLr is reached at s = T, i.e. after the last of T steps; step T−1 still runs slightly
 * above it. The warmup does not start at the floor: it starts at 0, like Hugging Face's.
 */
public record LrSchedule(Kind kind, double peakLr, long totalSteps, long warmupSteps, double minLrRatio) {

    public enum Kind { COSINE, LINEAR, CONSTANT }

    public LrSchedule {
        if (kind == null) throw new IllegalArgumentException("lr schedule kind is null");
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + peakLr);
        if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmup steps must be in [0, total steps = " + totalSteps + "], got " + warmupSteps);
        }
        if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw new IllegalArgumentException("min lr ratio must be in [0, 1], got " + minLrRatio);
    }

    public static LrSchedule cosine(double peakLr, long totalSteps, long warmupSteps, double minLrRatio) {
        return new LrSchedule(Kind.COSINE, peakLr, totalSteps, warmupSteps, minLrRatio);
    }

    public static LrSchedule linear(double peakLr, long totalSteps, long warmupSteps, double minLrRatio) {
        return new LrSchedule(Kind.LINEAR, peakLr, totalSteps, warmupSteps, minLrRatio);
    }

    public static LrSchedule constant(double peakLr, long totalSteps, long warmupSteps) {
        return new LrSchedule(Kind.CONSTANT, peakLr, totalSteps, warmupSteps, 0);
    }

    /**
     * Warmup steps for a {@code warmup_ratio}: ⌈ratio · totalSteps⌉, as Hugging Face's
     * {@code get_warmup_steps}, but with the product taken in decimal, on the ratio as written. Hugging
     * Face multiplies binary doubles, so 0.1 · 30 = 3.0000000000000004 rounds up to 4 warmup steps;
     * here it is 3. Where the double product is not pushed across an integer the two agree.
     */
    public static long warmupSteps(double warmupRatio, long totalSteps) {
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("warmup ratio must be in [0, 1], got " + warmupRatio);
        if (totalSteps < 0) throw new IllegalArgumentException("total steps must be >= 0, got " + totalSteps);
        // BigDecimal.valueOf goes through Double.toString: the shortest decimal that reads back as this
        // double, which is what the user wrote in the config.
        return BigDecimal.valueOf(warmupRatio).multiply(BigDecimal.valueOf(totalSteps)).setScale(0, RoundingMode.CEILING).longValueExact();
    }

    /** The multiplier of {@link #peakLr} for step {@code step} in [0, totalSteps] (see the class comment). */
    public double factor(long step) {
        if (step < 0 || step > totalSteps) throw new IllegalArgumentException("step " + step + " is outside [0, " + totalSteps + "]");
        if (step < warmupSteps) return (double) step / warmupSteps;
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case COSINE -> minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
            case LINEAR -> minLrRatio + (1 - minLrRatio) * (1 - progress);
            case CONSTANT -> 1;
        };
    }

    /** The learning rate of the optimizer step that follows {@code step} steps already taken. */
    public double lr(long step) {
        return peakLr * factor(step);
    }
}
