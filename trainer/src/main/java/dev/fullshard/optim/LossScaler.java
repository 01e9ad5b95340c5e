package dev.fullshard.optim;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.OptimizerKernels;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Dynamic loss scaling for fp16, PyTorch's GradScaler state machine: the loss is multiplied by
 * {@link #scale} so small fp16 gradients do not flush to zero; before the optimizer the gradients are
 * unscaled and checked ({@link #unscaleAndCheck}); then {@link #update}: on inf/NaN the scale is
 * multiplied by {@code backoffFactor} and the growth count restarts, otherwise after
 * {@code growthInterval} clean steps in a row it is multiplied by {@code growthFactor}.
 *
 * <p>One step of the trainer:
 * <pre>{@code
 * loss divisor ← tokens / scaler.scale();  backward
 * if (scaler.unscaleAndCheck(grads)) { skipped++; log; }      // no optimizer step, not counted
 * else { clip; adamW.step(grads, lr); }
 * scaler.update(found);
 * }</pre>
 *
 * <p>Ownership: its four one-element tensors are made on {@code device} in the {@code TensorScope}
 * open at construction and belong to it. bf16 needs no loss scaling (its range is float32's).
 */
public final class LossScaler {
    public static final double DEFAULT_INIT_SCALE = 65536, DEFAULT_GROWTH_FACTOR = 2, DEFAULT_BACKOFF_FACTOR = 0.5;
    public static final long DEFAULT_GROWTH_INTERVAL = 2000;

    private final double growthFactor, backoffFactor;
    private final long growthInterval;
    /** GradScaler's layout: scale float32 [1], growth tracker int32 [1], found_inf float32 [1]. */
    private final Tensor scale, growthTracker, foundInf, invScale;

    /** GradScaler's defaults: scale 65536, growth ×2 after 2000 clean steps, backoff ×0.5. */
    public LossScaler(Device device) {
        this(device, DEFAULT_INIT_SCALE, DEFAULT_GROWTH_FACTOR, DEFAULT_BACKOFF_FACTOR, DEFAULT_GROWTH_INTERVAL);
    }

    public LossScaler(Device device, double initScale, double growthFactor, double backoffFactor, long growthInterval) {
        if (!(initScale > 0) || Double.isInfinite(initScale)) throw new IllegalArgumentException("initial loss scale must be finite and > 0, got " + initScale);
        if (!(growthFactor > 1)) throw new IllegalArgumentException("loss scale growth factor must be > 1, got " + growthFactor);
        if (!(backoffFactor > 0 && backoffFactor < 1)) throw new IllegalArgumentException("loss scale backoff factor must be in (0, 1), got " + backoffFactor);
        if (growthInterval < 1) throw new IllegalArgumentException("loss scale growth interval must be >= 1, got " + growthInterval);
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
        this.scale = Tensor.full(initScale, DType.F32, device, 1);
        this.growthTracker = Tensor.full(0, DType.I32, device, 1);
        this.foundInf = Tensor.zeros(DType.F32, device, 1);
        this.invScale = Tensor.zeros(DType.F32, device, 1);
    }

    /** The current scale (reads the device). */
    public double scale() {
        return scale.item();
    }

    /** The scale as a float32 [1] tensor on the device (this scaler's own; do not close). */
    public Tensor scaleTensor() {
        return scale;
    }

    /**
     * Multiplies every gradient by 1/scale in place and returns whether any gradient holds an inf or
     * NaN (then the caller skips the optimizer step). All gradients on the scaler's device; one
     * device-to-host read.
     */
    public boolean unscaleAndCheck(Map<String, Tensor> grads) {
        Copies.zero(foundInf);
        try (TensorScope scope = TensorScope.open()) {
            // GradScaler takes the reciprocal in float64 then rounds to float32; for the power-of-two
            // scales the state machine produces from a power-of-two start, both are exact.
            Copies.copyInto(invScale, Elementwise.reciprocal(scale.to(DType.F64)));
        }
        if (!grads.isEmpty()) OptimizerKernels.unscaleAndCheckFinite(grads.values().toArray(Tensor[]::new), foundInf, invScale);
        return foundInf.item() != 0;
    }

    /** Advances the state machine after a step: backoff when {@code foundInf}, else count towards growth. */
    public void update(boolean foundInf) {
        Copies.fill(this.foundInf, foundInf ? 1 : 0);
        OptimizerKernels.updateLossScale(scale, growthTracker, this.foundInf, growthFactor, backoffFactor, growthInterval);
    }

    /** Clean steps since the last growth or backoff. */
    public long growthTracker() {
        return growthTracker.toIntArray()[0];
    }

    /**
     * State for a checkpoint: {@code scale} (float32 [1]) and {@code growth_tracker} (int32 [1]), this
     * scaler's own tensors (do not close). The factors and interval are configuration, not state.
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("scale", scale);
        s.put("growth_tracker", growthTracker);
        return s;
    }

    /** Replaces scale and growth tracker with {@code saved}'s, after checking both are present and valid. */
    public void load(Map<String, Tensor> saved) {
        List<String> problems = new ArrayList<>();
        for (String name : state().keySet()) {
            Tensor t = saved.get(name);
            if (t == null) problems.add("missing " + name);
            else if (t.numel() != 1) problems.add(name + " has shape " + Arrays.toString(t.shape()) + ", expected one element");
        }
        for (String name : new TreeSet<>(saved.keySet())) if (!state().containsKey(name)) problems.add("unexpected " + name);
        if (problems.isEmpty()) {
            double s = saved.get("scale").item(), tracker = saved.get("growth_tracker").item();
            if (!(s > 0) || Double.isInfinite(s)) problems.add("scale is " + s + ", expected finite and > 0");
            if (!(tracker >= 0 && tracker < growthInterval && tracker == Math.rint(tracker))) {
                problems.add("growth_tracker is " + tracker + ", expected a whole number in [0, " + growthInterval + ")");
            }
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("loss scaler state is invalid (" + problems.size() + " problems): " + String.join("; ", problems));
        try (TensorScope scope = TensorScope.open()) {
            Copies.copyInto(scale, saved.get("scale").reshape(1));
            Copies.copyInto(growthTracker, saved.get("growth_tracker").reshape(1));
        }
    }
}
