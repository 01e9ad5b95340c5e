package dev.fullshard.train;

import dev.fullshard.data.DataPosition;
import dev.fullshard.data.MicroBatch;
import dev.fullshard.data.TrainingData;
import dev.fullshard.dist.Communicator;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.CrossEntropy;
import dev.fullshard.optim.AdamW;
import dev.fullshard.optim.GradientClipping;
import dev.fullshard.optim.LossScaler;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One optimizer step: the next {@code gradient_accumulation_steps} micro-batches are taken from the data
 * stream; their loss is normalised by the number of target tokens in all of them together (so every
 * target token of the accumulated batch weighs the same, whatever micro-batch it fell into, as if the
 * whole batch had been one); forward and backward add into fp32 gradient buffers; fp16 gradients are
 * unscaled and checked for inf/NaN (the step is skipped, and the scale backed off, if any); the global
 * gradient norm is clipped; fused AdamW updates the fp32 master weights.
 *
 * <p>Every rank reads the same data stream; of a step's micro-batches, rank {@code r} of {@code N}
 * computes those with index {@code i % N == r}; the loss is still divided by the target tokens of all of them.
 */
final class TrainStep {
    /**
     * One step's outcome; {@code skipped} says why the optimizer did not run (null when it did). The time
     * split: communication is the time spent waiting for collectives (what overlap did not hide),
     * optimizer is clipping plus AdamW; the rest of the step is compute.
     */
    record Result(double loss, double lr, double gradNorm, long tokens, long positions, String skipped, DataPosition next,
                  double communicationSeconds, double optimizerSeconds, long activationBytes) {
    }

    private final Communicator comm;
    private final ShardedModel model;
    private final CausalLm lm;
    private final AdamW optimizer;
    private final LossScaler scaler;
    private final int gradientAccumulationSteps;
    private final double maxGradNorm;

    /** {@code scaler} is null unless training in fp16. */
    TrainStep(Communicator comm, ShardedModel model, CausalLm lm, AdamW optimizer, LossScaler scaler, TrainConfig.Training t) {
        this.comm = comm;
        this.model = model;
        this.lm = lm;
        this.optimizer = optimizer;
        this.scaler = scaler;
        this.gradientAccumulationSteps = t.gradientAccumulationSteps();
        this.maxGradNorm = t.maxGradNorm();
    }

    Result run(TrainingData data, DataPosition at, double lr) {
        // Every rank takes the same micro-batches from the (identical) data stream and computes its share.
        List<MicroBatch> batches = data.step(at, gradientAccumulationSteps);
        long tokens = batches.stream().mapToLong(MicroBatch::targetTokens).sum();
        long positions = batches.stream().mapToLong(mb -> (long) mb.batchSize() * mb.seqLen()).sum();
        DataPosition next = batches.getLast().next();
        if (tokens == 0) return new Result(Double.NaN, lr, 0, 0, positions, "no target tokens in the batch", next, 0, 0, 0);
        model.zeroGradients();
        model.resetCommunicationTime();
        double scale = scaler == null ? 1.0 : scaler.scale();
        double lossSum = 0;
        long activations = 0;
        List<MicroBatch> mine = new ArrayList<>();
        for (int i = comm.rank(); i < batches.size(); i += comm.size()) mine.add(batches.get(i));
        // A rank with fewer micro-batches than the passes it must join (the last step of an epoch may be
        // short) runs the first one again with every target ignored (no loss, zero gradients).
        int passes = model.passesPerStep(mine.size(), batches.size());
        for (int k = 0; k < passes; k++) {
            model.beginMicroBatch(k == passes - 1);
            try (TensorScope ignored = TensorScope.open()) {
                MicroBatch mb = k < mine.size() ? mine.get(k) : batches.getFirst();
                Tensor targets = k < mine.size() ? mb.targetsTensor()
                        : Tensor.full(CrossEntropy.IGNORE_INDEX, DType.I64, Device.CPU, mb.targetsTensor().shape());
                // Σℓ·scale / tokens: each micro-batch's share of the whole accumulated batch's mean, scaled for fp16.
                CausalLm.Loss l = lm.forwardBackward(mb.tokensTensor(), targets, tokens / scale);
                lossSum += l.sum();
                activations = Math.max(activations, l.activationBytes());
            }
        }
        model.finishGradients();
        long collectivesStart = System.nanoTime();
        double[] sum = {lossSum};
        comm.allReduceSum(sum);
        long collectives = System.nanoTime() - collectivesStart;
        double loss = sum[0] / tokens;
        Map<String, Tensor> grads = model.gradientPieces();
        if (scaler != null) {
            // Each rank checks its own shard; a step is skipped everywhere when any shard overflowed.
            boolean found = scaler.unscaleAndCheck(grads);
            long agreeStart = System.nanoTime();
            boolean overflow = comm.anyRank(found);
            collectives += System.nanoTime() - agreeStart;
            scaler.update(overflow);
            if (overflow) {
                return new Result(loss, lr, Double.NaN, tokens, positions, "inf/NaN in the fp16 gradients", next,
                        communicationSeconds(collectives), 0, activations);
            }
        }
        double mySquares = GradientClipping.sumOfSquares(grads);
        long normStart = System.nanoTime();
        double norm = Math.sqrt(model.sumOverShards(mySquares));
        collectives += System.nanoTime() - normStart;
        double communication = communicationSeconds(collectives);
        if (!Double.isFinite(norm)) {
            return new Result(loss, lr, norm, tokens, positions, "non-finite gradient norm", next, communication, 0, activations);
        }
        long optimizerStart = System.nanoTime();
        if (maxGradNorm > 0) GradientClipping.clip(grads, norm, maxGradNorm);
        optimizer.step(grads, lr);
        Cuda.synchronize(comm.device());           // a GPU runs behind the host: time the work, not its queueing
        return new Result(loss, lr, norm, tokens, positions, null, next, communication, (System.nanoTime() - optimizerStart) / 1e9,
                activations);
    }

    /** The collectives' exposed time: the model's waits, plus {@code stepCollectives} ns of the step's small all-reduces. */
    private double communicationSeconds(long stepCollectives) {
        return (model.exposedCommunicationNanos() + stepCollectives) / 1e9;
    }
}
