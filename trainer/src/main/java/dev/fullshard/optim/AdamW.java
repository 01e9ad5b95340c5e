package dev.fullshard.optim;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.OptimizerKernels;
import dev.fullshard.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * AdamW (torch.optim.AdamW with {@code fused=True}) over named master parameters, updated in place
 * by libtorch's {@code _fused_adamw_}: decoupled weight decay p ← p·(1 − lr·wd) on the parameter
 * before the step, then the bias-corrected Adam update.
 *
 * <p>Two groups, as Hugging Face Trainer's default: parameters whose name ends in
 * {@code norm.weight} (RMSNorm/LayerNorm scales: {@code input_layernorm}, {@code model.norm},
 * {@code q_norm}, …) or {@code .bias} get no weight decay; all others get {@code weightDecay}.
 * Decaying a norm scale towards 0 would shrink the activations it scales, and a bias has no
 * capacity to regularise. One fused call per (group, dtype), since a fused call takes one weight
 * decay and its kernels one dtype.
 *
 * <p>Ownership: the moments and the small lr/step tensors are made, zero, on the parameters' device
 * in the {@code TensorScope} open when the AdamW is constructed, and belong to it (like
 * {@code Parameters.zeros}). The parameters stay the caller's.
 */
public final class AdamW {
    public static final double DEFAULT_BETA1 = 0.9, DEFAULT_BETA2 = 0.999, DEFAULT_EPS = 1e-8;
    /** The fused op reads the step number from a float32 tensor, which holds integers exactly up to 2²⁴. */
    private static final long MAX_STEPS = 1L << 24;

    /** Tensors of one fused call, in parameter order; {@code steps} repeats the one shared step tensor. */
    private record Group(String[] names, Tensor[] params, Tensor[] expAvgs, Tensor[] expAvgSqs, Tensor[] steps, double weightDecay) {
    }

    private final double beta1, beta2, eps, weightDecay;
    private final Map<String, Tensor> params;
    private final Map<String, Tensor> state;
    private final List<Group> groups;
    /** Filled before each fused call: the op takes lr and the step number as tensors. */
    private final Tensor lr, step;
    private long stepCount;

    /** AdamW with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8. */
    public AdamW(Map<String, Tensor> params, double weightDecay) {
        this(params, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, weightDecay);
    }

    public AdamW(Map<String, Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        if (params.isEmpty()) throw new IllegalArgumentException("AdamW needs at least one parameter");
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps >= 0) || !(weightDecay >= 0)) throw new IllegalArgumentException("AdamW eps and weight decay must be >= 0, got " + eps + ", " + weightDecay);
        Device device = null;
        for (var e : params.entrySet()) {
            Tensor p = e.getValue();
            if (!p.dtype().isFloatingPoint()) throw new IllegalArgumentException("parameter " + e.getKey() + " is " + p.dtype() + ", AdamW needs a floating dtype");
            if (device == null) device = p.device();
            else if (!device.equals(p.device())) {
                throw new IllegalArgumentException("AdamW needs every parameter on one device: " + e.getKey() + " is on " + p.device() + ", others on " + device);
            }
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        this.lr = Tensor.zeros(DType.F32, device);
        this.step = Tensor.zeros(DType.F32, device);
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("step", step);
        for (var e : params.entrySet()) s.put("exp_avg." + e.getKey(), Copies.zerosLike(e.getValue()));
        for (var e : params.entrySet()) s.put("exp_avg_sq." + e.getKey(), Copies.zerosLike(e.getValue()));
        this.state = Collections.unmodifiableMap(s);
        this.groups = group();
    }

    /** Whether {@code name} gets weight decay: not norm scales ({@code …norm.weight}) nor biases. */
    public static boolean decays(String name) {
        return !name.endsWith("norm.weight") && !name.endsWith(".bias");
    }

    private List<Group> group() {
        Map<String, List<String>> byKey = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            String key = decays(e.getKey()) + " " + e.getValue().dtype();
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(e.getKey());
        }
        List<Group> out = new ArrayList<>();
        for (List<String> names : byKey.values()) {
            int n = names.size();
            Tensor[] steps = new Tensor[n];
            Arrays.fill(steps, step);
            out.add(new Group(names.toArray(String[]::new),
                    names.stream().map(params::get).toArray(Tensor[]::new),
                    names.stream().map(name -> state.get("exp_avg." + name)).toArray(Tensor[]::new),
                    names.stream().map(name -> state.get("exp_avg_sq." + name)).toArray(Tensor[]::new),
                    steps, decays(names.getFirst()) ? weightDecay : 0));
        }
        return out;
    }

    /** Optimizer steps taken so far (skipped fp16 steps not counted). */
    public long stepCount() {
        return stepCount;
    }

    /** One AdamW step with learning rate {@code lr} and a gradient for every parameter, same names, shapes and dtypes. */
    public void step(Map<String, Tensor> grads, double lr) {
        step(grads, lr, null, null);
    }

    /**
     * One step that the fused op itself unscales and may skip, for fp16 without clipping: the gradients
     * are divided by {@code gradScale} (1 element, float32) in place, and when {@code foundInf}
     * (1 element, float32) is non-zero nothing is updated. A skipped step is not counted, as with
     * PyTorch's GradScaler (it does not call {@code optimizer.step()} on inf; its fused path
     * subtracts found_inf from the step again), so bias correction continues from the last real step.
     * Reads {@code foundInf} once (a device synchronisation). Returns whether the step was taken.
     * {@code gradScale} and {@code foundInf} are both null, or both set.
     */
    public boolean step(Map<String, Tensor> grads, double lr, Tensor gradScale, Tensor foundInf) {
        if ((gradScale == null) != (foundInf == null)) throw new IllegalArgumentException("gradScale and foundInf go together: pass both or neither");
        if (!Double.isFinite(lr) || lr < 0) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        if (stepCount + 1 >= MAX_STEPS) throw new IllegalStateException("AdamW step " + (stepCount + 1) + " does not fit the float32 step tensor exactly");
        checkGrads(grads);
        Copies.fill(this.lr, lr);
        Copies.fill(step, stepCount + 1);
        for (Group g : groups) {
            Tensor[] gradArray = new Tensor[g.names.length];
            for (int i = 0; i < gradArray.length; i++) gradArray[i] = grads.get(g.names[i]);
            OptimizerKernels.fusedAdamW(g.params, gradArray, g.expAvgs, g.expAvgSqs, g.steps, this.lr, beta1, beta2, g.weightDecay, eps, gradScale, foundInf);
        }
        if (foundInf != null && foundInf.item() != 0) {
            // The step tensor is also the checkpointed step: put back the count of steps really taken.
            Copies.fill(step, stepCount);
            return false;
        }
        stepCount++;
        return true;
    }

    private void checkGrads(Map<String, Tensor> grads) {
        List<String> problems = new ArrayList<>();
        for (var e : params.entrySet()) {
            Tensor g = grads.get(e.getKey());
            if (g == null) problems.add("no gradient for " + e.getKey());
            else if (g.dtype() != e.getValue().dtype()) problems.add(e.getKey() + " gradient is " + g.dtype() + ", parameter " + e.getValue().dtype());
        }
        for (String name : new TreeSet<>(grads.keySet())) if (!params.containsKey(name)) problems.add("gradient " + name + " has no parameter");
        if (!problems.isEmpty()) throw new IllegalArgumentException("AdamW gradients do not match the parameters: " + String.join("; ", problems));
    }

    /**
     * The optimizer state by name, for a checkpoint: {@code step} (0-dim float32, the steps taken),
     * {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} in parameter order. These are this
     * optimizer's own tensors, not copies: write them out before the next step and do not close them.
     */
    public Map<String, Tensor> state() {
        return state;
    }

    /**
     * Replaces the state with {@code saved} (as {@link #state} names it; any dtype and device, copied and
     * converted). Checks everything before changing anything: the error lists every missing,
     * unexpected and misshapen tensor and a bad step.
     */
    public void load(Map<String, Tensor> saved) {
        List<String> problems = new ArrayList<>();
        for (var e : state.entrySet()) {
            Tensor t = saved.get(e.getKey());
            if (t == null) problems.add("missing " + e.getKey() + " " + Arrays.toString(e.getValue().shape()));
            else if (!Arrays.equals(t.shape(), e.getValue().shape()) && !(e.getValue() == step && t.numel() == 1)) {
                problems.add(e.getKey() + " is " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue().shape()));
            } else if (!t.dtype().isFloatingPoint() && e.getValue() != step) problems.add(e.getKey() + " is " + t.dtype() + ", expected a floating dtype");
        }
        for (String name : new TreeSet<>(saved.keySet())) if (!state.containsKey(name)) problems.add("unexpected " + name);
        long savedStep = -1;
        if (saved.get("step") != null && saved.get("step").numel() == 1) {
            double v = saved.get("step").item();
            if (v >= 0 && v < MAX_STEPS && v == Math.rint(v)) savedStep = (long) v;
            else problems.add("step is " + v + ", expected a whole number in [0, " + MAX_STEPS + ")");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("AdamW state does not match the parameters (" + problems.size() + " problems): " + String.join("; ", problems));
        }
        for (var e : state.entrySet()) if (e.getValue() != step) Copies.copyInto(e.getValue(), saved.get(e.getKey()));
        stepCount = savedStep;
        Copies.fill(step, savedStep);
    }
}
