package dev.fullshard.train;

import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.Device;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a training step writes: its line in {@code metrics.jsonl} (loss, learning rate, gradient norm,
 * throughput, the compute/communication/optimizer time split), the memory report after the run's first
 * step, a skipped step's event, and the console's progress line.
 */
final class StepLog {
    private final MetricsLog metrics;
    private final Progress progress;
    private final MemoryReport memory;
    private final PrintWriter out;
    private final Device device;
    private final long firstStep;
    private final int sequencesPerEpoch;

    /** {@code firstStep}: the number of the run's first step (one past the step it resumed at). */
    StepLog(MetricsLog metrics, Progress progress, MemoryReport memory, PrintWriter out, Device device, long firstStep, int sequencesPerEpoch) {
        this.metrics = metrics;
        this.progress = progress;
        this.memory = memory;
        this.out = out;
        this.device = device;
        this.firstStep = firstStep;
        this.sequencesPerEpoch = sequencesPerEpoch;
    }

    /** Every rank calls this after each step ({@code state} already past it) at the same moment: the memory report is a collective. */
    void log(TrainerState state, TrainStep.Result r, long stepStartNanos) {
        double stepSeconds = (System.nanoTime() - stepStartNanos) / 1e9;
        // Throughput counts every position of the batch (as Hugging Face's tokens/s does), not only targets.
        double tokensPerSecond = r.positions() / stepSeconds;
        double epoch = state.epoch() + state.nextSequence() / (double) sequencesPerEpoch;
        Map<String, Object> split = new LinkedHashMap<>(Map.of("compute_s", stepSeconds - r.communicationSeconds() - r.optimizerSeconds(),
                "communication_s", r.communicationSeconds(), "optimizer_s", r.optimizerSeconds()));
        if (device.type() == Device.Type.CUDA) split.put("device_memory_used_bytes", Cuda.memory(device).used());
        metrics.train(state.step(), epoch, r.loss(), r.lr(), r.gradNorm(), tokensPerSecond, state.tokensSeen(), split);
        if (state.step() == firstStep) memory.log("first_step", metrics, out);
        if (r.skipped() != null) {
            progress.message(String.format(Locale.ROOT, "step %d skipped: %s (loss scale %.0f)", state.step(), r.skipped(),
                    state.lossScale()));
            metrics.event("skipped_step", Map.of("step", state.step(), "reason", r.skipped(), "loss_scale", state.lossScale()));
        }
        progress.step(state.step(), r.loss(), r.lr(), r.gradNorm(), tokensPerSecond);
    }
}
