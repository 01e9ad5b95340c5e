package dev.fullshard.train;

/**
 * When a run evaluates and saves between steps: after every {@code evalSteps}-th and {@code saveSteps}-th
 * step (0: never), except after the last step, which the end of the run covers. How often the console
 * shows a step is {@link Progress}'s to decide.
 *
 * @param totalSteps the steps of the whole run
 * @param evaluate   whether the run has evaluation data
 */
record Cadence(long totalSteps, boolean evaluate, int evalSteps, int saveSteps) {
    static Cadence of(TrainConfig config, long totalSteps, boolean evaluate) {
        return new Cadence(totalSteps, evaluate, config.logging().evalSteps(), config.logging().saveSteps());
    }

    /** A fresh run's baseline before its first step, so the eval curve shows what training changed. */
    boolean evaluateBefore(long step) {
        return evaluate && step == 0;
    }

    boolean evaluateAfter(long step) {
        return evaluate && every(evalSteps, step);
    }

    boolean saveAfter(long step) {
        return every(saveSteps, step);
    }

    private boolean every(int interval, long step) {
        return interval > 0 && step % interval == 0 && step < totalSteps;
    }
}
