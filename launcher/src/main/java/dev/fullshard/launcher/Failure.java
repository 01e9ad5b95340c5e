package dev.fullshard.launcher;

import java.time.Instant;
import java.util.List;

/** The first rank failure of an attempt, with what the root-cause report needs. */
record Failure(Instant time, String host, int nodeRank, int rank, int localRank, int exitCode, String logPath,
               List<String> logTail, String errorFile, String note) {

    /** Java reports a death by signal S as 128+S. */
    String signalName() {
        return exitCode > 128 && exitCode < 128 + 65 ? Signals.name(exitCode - 128) : null;
    }

    String describeExit() {
        String sig = signalName();
        return sig != null ? "killed by signal " + sig + " (exit code " + exitCode + ")" : "exit code " + exitCode;
    }
}
