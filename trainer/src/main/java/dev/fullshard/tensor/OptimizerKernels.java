package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

/**
 * The fused multi-tensor kernels of AdamW and of mixed-precision loss scaling (PyTorch's GradScaler).
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class OptimizerKernels {
    private OptimizerKernels() {
    }

    private static final Op FUSED_ADAMW = Op.of("aten::_fused_adamw_.tensor_lr(Tensor(a!)[] self, Tensor(b!)[] grads, Tensor(c!)[] exp_avgs, Tensor(d!)[] exp_avg_sqs, Tensor(e!)[] max_exp_avg_sqs, Tensor[] state_steps, *, Tensor lr, float beta1, float beta2, float weight_decay, float eps, bool amsgrad, bool maximize, Tensor? grad_scale=None, Tensor? found_inf=None) -> ()");
    /**
     * One AdamW step on every parameter, in place: {@code _fused_adamw_.tensor_lr(self, grads, exp_avgs, exp_avg_sqs,
     * max_exp_avg_sqs=[], state_steps, *, Tensor lr, beta1, beta2, weight_decay, eps, amsgrad=False, maximize=False,
     * grad_scale, found_inf)}. {@code steps} are 0-dim float tensors holding the step number to use (the op does not
     * increment them); {@code lr} is a 0-dim float tensor; gradScale and foundInf may be null.
     */
    public static void fusedAdamW(Tensor[] params, Tensor[] grads, Tensor[] expAvgs, Tensor[] expAvgSqs, Tensor[] steps,
                                  Tensor lr, double beta1, double beta2, double weightDecay, double eps,
                                  Tensor gradScale, Tensor foundInf) {
        int n = params.length;
        if (grads.length != n || expAvgs.length != n || expAvgSqs.length != n || steps.length != n) {
            throw new IllegalArgumentException("fused AdamW needs equally many params, grads, moments and steps, got "
                    + n + ", " + grads.length + ", " + expAvgs.length + ", " + expAvgSqs.length + ", " + steps.length);
        }
        for (int i = 0; i < n; i++) {
            Checks.sameShape("fused AdamW grad " + i, grads[i], params[i]);
            Checks.sameShape("fused AdamW exp_avg " + i, expAvgs[i], params[i]);
            Checks.sameShape("fused AdamW exp_avg_sq " + i, expAvgSqs[i], params[i]);
        }
        Checks.writable("fused AdamW", Dispatch.inputs(params, grads, expAvgs, expAvgSqs));
        Tensor[] inputs = Dispatch.inputs(params, grads, expAvgs, expAvgSqs, steps, new Tensor[]{lr, gradScale, foundInf});
        Dispatch.call(FUSED_ADAMW, inputs).tensors(params).tensors(grads).tensors(expAvgs).tensors(expAvgSqs).tensors()
                .tensors(steps).tensor(lr).f64(beta1).f64(beta2).f64(weightDecay).f64(eps).bool(false).bool(false)
                .optTensor(gradScale).optTensor(foundInf).run();
    }

    private static final Op NON_FINITE_CHECK = Op.of("aten::_amp_foreach_non_finite_check_and_unscale_(Tensor(a!)[] self, Tensor(b!) found_inf, Tensor inv_scale) -> ()");
    /** Multiplies every gradient by invScale and sets foundInf (1-element float) to 1 if any value is inf or NaN. */
    public static void unscaleAndCheckFinite(Tensor[] grads, Tensor foundInf, Tensor invScale) {
        Checks.writable("unscale", Dispatch.inputs(grads, new Tensor[]{foundInf}));
        Dispatch.call(NON_FINITE_CHECK, Dispatch.inputs(grads, new Tensor[]{foundInf, invScale})).tensors(grads).tensor(foundInf)
                .tensor(invScale).run();
    }

    private static final Op UPDATE_SCALE = Op.of("aten::_amp_update_scale_(Tensor(a!) self, Tensor(b!) growth_tracker, Tensor found_inf, float scale_growth_factor, float scale_backoff_factor, int growth_interval) -> Tensor(a!)");
    /** GradScaler's update, in place on scale and tracker. */
    public static void updateLossScale(Tensor scale, Tensor growthTracker, Tensor foundInf, double growthFactor,
                                       double backoffFactor, long growthInterval) {
        Checks.writable("update loss scale", scale, growthTracker);
        Dispatch.call(UPDATE_SCALE, scale, growthTracker, foundInf).tensor(scale).tensor(growthTracker).tensor(foundInf)
                .f64(growthFactor).f64(backoffFactor).i64(growthInterval).runInPlace();
    }

    private static final Op FOREACH_MUL = Op.of("aten::_foreach_mul_.Tensor(Tensor(a!)[] self, Tensor other) -> ()");
    /** Every tensor ← tensor · factor (0-dim). */
    public static void multiplyAll(Tensor[] tensors, Tensor factor) {
        Checks.writable("_foreach_mul_", tensors);
        Dispatch.call(FOREACH_MUL, Dispatch.inputs(tensors, new Tensor[]{factor})).tensors(tensors).tensor(factor).run();
    }
}
