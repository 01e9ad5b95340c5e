package dev.fullshard.launcher;

import java.time.Instant;
import java.util.List;

/**
 * The first rank failure of an attempt, with what the root-cause report needs. {@code notStarted}: the rank's
 * program could not be started at all (the note says why); the launcher then exits {@link #NOT_STARTED}.
 */
record Failure(Instant time, String host, int nodeRank, int rank, int localRank, int exitCode, String logPath,
               List<String> logTail, String errorFile, String note, boolean notStarted) {
    /** The launcher's exit code when a rank could not be started: a shell's "command not found". */
    static final int NOT_STARTED = 127;

    /** Java reports a death by signal S as 128+S. */
    String signalName() {
        return exitCode > 128 && exitCode < 128 + 65 ? Signals.name(exitCode - 128) : null;
    }

    String describeExit() {
        if (notStarted) return "never started";
        String sig = signalName();
        return sig != null ? "killed by signal " + sig + " (exit code " + exitCode + ")" : "exit code " + exitCode;
    }
}
