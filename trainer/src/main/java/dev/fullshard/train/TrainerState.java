package dev.fullshard.train;

/**
 * Everything besides tensors that a resumed run needs to continue exactly: saved as
 * {@code trainer_state.json} in each checkpoint. There is no random-number state to save: the only
 * randomness in training is the data order, which is a function of the seed and the epoch.
 *
 * @param step            optimizer steps completed
 * @param epoch           the epoch the next micro-batch comes from
 * @param nextSequence    index, in that epoch's shuffled order, of the next sequence to train on
 * @param tokensSeen      target tokens (not −100) trained on so far
 * @param skippedSteps    fp16 steps skipped because gradients overflowed
 * @param lossScale       the fp16 loss scale (1 when not scaling)
 * @param growthTracker   fp16 steps since the scale last changed
 * @param lastLoss        the loss of the last completed step (NaN before the first)
 */
public record TrainerState(long step, long epoch, long nextSequence, long tokensSeen, long skippedSteps, double lossScale,
                           long growthTracker, double lastLoss) {
    public static TrainerState start() {
        return new TrainerState(0, 0, 0, 0, 0, 1.0, 0, Double.NaN);
    }
}
