package dev.fullshard.launcher;

import java.util.List;

/**
 * How an attempt ended, as torchelastic's {@code RunResult}: its final state; every failure reported, in the
 * order they arrived (one per node at most, plus a hang or a lost node); the first of them, which caused the
 * gang to stop and is the root cause reported; and for STOPPED, the signal (short name, e.g. {@code TERM}).
 */
record AttemptResult(int attempt, AttemptState state, List<Failure> failures, Failure firstFailure, String signal) {
    AttemptResult {
        if (!state.isFinal()) throw new IllegalArgumentException("an attempt's result needs a final state, not " + state);
        failures = List.copyOf(failures);
    }
}
