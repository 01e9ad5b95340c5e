package dev.fullshard.launcher;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The node channel's keep-alive: each side sends {@link NodeMessage.Heartbeat} every {@code --heartbeat-interval}
 * and takes a peer silent for {@code --node-timeout} as lost. A host that vanishes (power, network, a frozen
 * machine) closes no connection, so silence is the only sign of it.
 */
final class KeepAlive implements AutoCloseable {
    private final ScheduledExecutorService timer;

    /** Runs {@code send} every interval and {@code check} several times per interval, so a silence is seen soon after the timeout. */
    KeepAlive(String name, LaunchSpec spec, Runnable send, Runnable check) {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        long sendMillis = millis(spec.heartbeatInterval());
        long checkMillis = Math.max(1, millis(Math.min(spec.heartbeatInterval(), spec.nodeTimeout()) / 4));
        timer.scheduleAtFixedRate(keepGoing(send), 0, sendMillis, TimeUnit.MILLISECONDS);
        timer.scheduleAtFixedRate(keepGoing(check), checkMillis, checkMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() { timer.shutdownNow(); }

    private static long millis(double seconds) { return Math.max(1, (long) (seconds * 1000)); }

    /** A scheduled task that throws is silently never run again; the heartbeat must outlive one bad send. */
    private static Runnable keepGoing(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                System.err.println("launcher: heartbeat: " + e);
            }
        };
    }

    /** When a peer was last heard from: any line it sends counts. */
    static final class LastHeard {
        private volatile long nanos = System.nanoTime();
        private volatile Instant at = Instant.now();

        void now() {
            nanos = System.nanoTime();
            at = Instant.now();
        }

        boolean silentFor(double seconds) { return System.nanoTime() - nanos > (long) (seconds * 1e9); }

        /** For example {@code last heard from at 2026-12-07T02:10:03.123Z (3.3 s ago)}. */
        String describe() {
            double ago = Duration.ofNanos(System.nanoTime() - nanos).toMillis() / 1000.0;
            return "last heard from at " + at.truncatedTo(ChronoUnit.MILLIS) + " (" + ago + " s ago)";
        }
    }
}
