package dev.fullshard.launcher;

import java.io.PrintStream;

/** The root-cause report a run that failed for good ends with: its first failure, with the rank's log tail. */
final class FailureReport {
    private FailureReport() {}

    static void print(PrintStream console, String runId, Failure f, int attempt) {
        StringBuilder b = new StringBuilder();
        b.append("[launcher] ===== run ").append(runId).append(" FAILED after ").append(attempt + 1)
                .append(" attempt(s); root cause (first failure) =====\n");
        b.append("[launcher]   time : ").append(f.time()).append('\n');
        b.append("[launcher]   host : ").append(f.host()).append(" (node rank ").append(f.nodeRank()).append(")\n");
        if (f.note() != null) b.append("[launcher]   what : ").append(f.note()).append('\n');
        if (f.rank() >= 0) {
            b.append("[launcher]   rank : ").append(f.rank()).append(" (local rank ").append(f.localRank()).append(")\n");
            b.append("[launcher]   exit : ").append(f.describeExit()).append('\n');
            if (f.logPath() != null) {
                b.append("[launcher]   log  : ").append(f.logPath()).append('\n');
                b.append("[launcher]   last ").append(f.logTail().size()).append(" log line(s):\n");
                for (String l : f.logTail()) b.append("    ").append(l).append('\n');
            }
        }
        if (f.errorFile() != null) {
            b.append("[launcher]   error file:\n");
            for (String l : f.errorFile().split("\n")) b.append("    ").append(l).append('\n');
        }
        b.append("[launcher] =====");
        synchronized (console) { console.println(b); }
    }
}
