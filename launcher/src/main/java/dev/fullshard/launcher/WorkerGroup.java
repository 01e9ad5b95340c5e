package dev.fullshard.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The local ranks of one attempt: starts them with the torchrun environment, copies each one's output to its
 * log file and (prefixed {@code [rankN]:}) to the console, and stops all of them when one fails or a stop is
 * requested (the signal to each rank and its descendants, a grace period, then SIGKILL).
 */
final class WorkerGroup {
    /** How an attempt ended on this node: failure null means every local rank exited 0. */
    record Outcome(Failure failure, boolean stopped) { }

    private final LaunchSpec spec;
    private final int attempt;
    private final PrintStream console;
    private final Path attemptDir;
    private final List<Process> procs = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();
    private final AtomicReference<Stop> stop = new AtomicReference<>();
    private volatile Failure startFailure;

    WorkerGroup(LaunchSpec spec, int attempt, PrintStream console) {
        this.spec = spec;
        this.attempt = attempt;
        this.console = console;
        this.attemptDir = spec.logDir().resolve("attempt_" + attempt);
    }

    /**
     * Starts the local ranks. One that cannot start (no such program, not executable, no log folder) is this
     * attempt's failure, which {@link #await} returns after stopping the ranks already started.
     */
    void start() {
        try {
            Files.createDirectories(attemptDir);
        } catch (IOException e) {
            startFailure = notStarted(0, "cannot create the log folder: " + e);
            return;
        }
        for (int l = 0; l < spec.nprocPerNode(); l++) {
            final int local = l;
            int rank = spec.nodeRank() * spec.nprocPerNode() + local;
            ProcessBuilder pb = new ProcessBuilder(spec.rankCommand());
            pb.redirectErrorStream(true);
            pb.environment().putAll(environment(rank, local));
            Path log = logFile(rank);
            Process p;
            try {
                Files.deleteIfExists(errorFile(rank));
                p = pb.start();
            } catch (IOException e) {
                startFailure = notStarted(local, "cannot start rank " + rank + ": " + e.getMessage().strip());
                return;
            }
            procs.add(p);
            Thread t = new Thread(() -> pump(p, rank, local, log), "rank" + rank + "-log");
            t.setDaemon(true);
            t.start();
            pumps.add(t);
        }
    }

    Path logFile(int rank) { return attemptDir.resolve("rank_" + rank + ".log"); }

    Path errorFile(int rank) { return attemptDir.resolve("rank_" + rank + "_error.json"); }

    Map<String, String> environment(int rank, int local) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(local));
        env.put("WORLD_SIZE", Integer.toString(spec.worldSize()));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(spec.nprocPerNode()));
        env.put("GROUP_RANK", Integer.toString(spec.nodeRank()));
        env.put("GROUP_WORLD_SIZE", Integer.toString(spec.nnodes()));
        env.put("ROLE_RANK", Integer.toString(rank));
        env.put("ROLE_WORLD_SIZE", Integer.toString(spec.worldSize()));
        env.put("MASTER_ADDR", spec.masterAddr());
        env.put("MASTER_PORT", Integer.toString(spec.masterPort()));
        env.put("TORCHELASTIC_RESTART_COUNT", Integer.toString(attempt));
        env.put("FULLSHARD_RESTART_COUNT", Integer.toString(attempt));
        env.put("TORCHELASTIC_MAX_RESTARTS", Integer.toString(spec.maxRestarts()));
        env.put("TORCHELASTIC_RUN_ID", spec.runId());
        env.put("TORCHELASTIC_ERROR_FILE", errorFile(rank).toAbsolutePath().toString());
        env.put("PMI_PORT", spec.masterAddr() + ":" + spec.masterPort());
        env.put("PMI_ID", Integer.toString(rank));
        env.put("FULLSHARD_PMI_SECRET", spec.secret());
        env.put("UCX_ERROR_SIGNALS", "");
        env.putAll(NetworkInterfaceVariables.of(spec.networkInterface(), spec.env()));
        String threads = Integer.toString(Math.max(1, Runtime.getRuntime().availableProcessors() / spec.nprocPerNode()));
        for (String k : List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")) {
            String v = spec.env().get(k);
            env.put(k, v != null && !v.isEmpty() ? v : threads);
        }
        return env;
    }

    private void pump(Process p, int rank, int local, Path log) {
        boolean show = spec.localRanksFilter().isEmpty() || spec.localRanksFilter().contains(local);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             Writer w = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                w.write(line);
                w.write('\n');
                w.flush();
                if (show) {
                    synchronized (console) { console.println("[rank" + rank + "]:" + line); }
                }
            }
        } catch (IOException e) {
            synchronized (console) { console.println("[launcher] log of rank " + rank + ": " + e.getMessage()); }
        }
    }

    /** Thread dumps of the JVM ranks into their logs (SIGQUIT makes HotSpot print one to stdout). */
    void dumpThreads() {
        for (Process p : procs) {
            boolean jvm = p.info().command().map(c -> c.endsWith("/java")).orElse(false);
            if (p.isAlive() && jvm) signal(p.toHandle(), "QUIT");
        }
    }

    /** How the ranks are stopped: the signal, then SIGKILL after {@code graceSeconds}. */
    private record Stop(String signal, double graceSeconds) { }

    /**
     * Forwards a signal from the user or the scheduler (from another thread); {@link #await} then stops every
     * rank and returns. The full grace period: trainer ranks save a checkpoint at their next step boundary.
     */
    void requestStop(String signal) { stop.compareAndSet(null, new Stop(signal, spec.gracePeriod())); }

    /**
     * Stops the ranks because a rank failed or hung, here or on another node. Only the short failure grace
     * period: a rank whose peer is gone is usually blocked in a collective that never completes, and it
     * cannot save a checkpoint without that peer anyway.
     */
    void requestFailureStop() { stop.compareAndSet(null, failureStop()); }

    private Stop failureStop() { return new Stop("TERM", spec.failureGracePeriod()); }

    /** Waits until every rank exited 0, or the first failure / a stop request; then stops the rest. */
    Outcome await() throws InterruptedException {
        long pollMs = Math.max(10, (long) (spec.monitorInterval() * 1000));
        Failure first = startFailure;
        while (true) {
            boolean allDone = true;
            for (int i = 0; i < procs.size(); i++) {
                Process p = procs.get(i);
                if (p.isAlive()) { allDone = false; continue; }
                if (first == null && p.exitValue() != 0 && stop.get() == null) {
                    first = failure(i, p.exitValue());
                }
            }
            if (allDone) break;
            Stop requested = stop.get();
            if (first != null || requested != null) {
                stopAll(requested != null ? requested : failureStop());
                break;
            }
            Thread.sleep(pollMs);
        }
        for (Process p : procs) p.waitFor();
        for (Thread t : pumps) t.join(5000);
        if (first == null && stop.get() == null) {
            for (int i = 0; i < procs.size(); i++) {
                if (procs.get(i).exitValue() != 0) { first = failure(i, procs.get(i).exitValue()); break; }
            }
        }
        return new Outcome(first, stop.get() != null);
    }

    private Failure failure(int local, int code) {
        int rank = spec.nodeRank() * spec.nprocPerNode() + local;
        try { pumps.get(local).join(2000); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
        List<String> tail = List.of();
        String errorFile = null;
        try {
            List<String> lines = Files.readAllLines(logFile(rank), StandardCharsets.UTF_8);
            tail = List.copyOf(lines.subList(Math.max(0, lines.size() - 20), lines.size()));
            if (Files.exists(errorFile(rank))) errorFile = Files.readString(errorFile(rank));
        } catch (IOException | RuntimeException ignored) { }
        return new Failure(Instant.now(), spec.hostname(), spec.nodeRank(), rank, local, code,
                logFile(rank).toString(), tail, errorFile, null, false);
    }

    private Failure notStarted(int local, String why) {
        return new Failure(Instant.now(), spec.hostname(), spec.nodeRank(), spec.nodeRank() * spec.nprocPerNode() + local,
                local, Failure.NOT_STARTED, null, List.of(), null, why, true);
    }

    /** Sends the stop's signal to every live rank and its descendants, waits its grace period, then SIGKILLs. */
    private void stopAll(Stop how) throws InterruptedException {
        for (Process p : procs) {
            if (!p.isAlive()) continue;
            List<ProcessHandle> targets = new ArrayList<>();
            targets.add(p.toHandle());
            p.toHandle().descendants().forEach(targets::add);
            for (ProcessHandle h : targets) signal(h, how.signal());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos((long) (how.graceSeconds() * 1000));
        for (Process p : procs) {
            long left = deadline - System.nanoTime();
            if (left > 0) p.waitFor(left, TimeUnit.NANOSECONDS);
        }
        for (Process p : procs) {
            if (p.isAlive()) {
                synchronized (console) {
                    console.println("[launcher] rank pid " + p.pid() + " still running " + how.graceSeconds() + " s after SIG"
                            + how.signal() + ": SIGKILL");
                }
                p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }

    private static void signal(ProcessHandle h, String signal) {
        if ("TERM".equals(signal)) { h.destroy(); return; }
        try {
            new ProcessBuilder("kill", "-s", signal, Long.toString(h.pid())).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            h.destroy();
        }
    }

    static Set<Integer> parseFilter(String s) {
        if (s == null || s.isBlank()) return Set.of();
        Set<Integer> out = new java.util.TreeSet<>();
        for (String p : s.split(",")) if (!p.isBlank()) out.add(Integer.parseInt(p.strip()));
        return out;
    }
}
