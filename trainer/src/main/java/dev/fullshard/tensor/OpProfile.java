package dev.fullshard.tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Time spent in each libtorch operator, measured around the calls into libtorch (the dispatcher and the
 * shim functions), when {@code FULLSHARD_PROFILE_OPS=1} is set (or {@code -Dfullshard.profileOps=true}).
 * Off, it costs one branch per call. On CPU the calls are synchronous, so the time is the operator's own;
 * on a GPU it is only the time to queue the kernel.
 */
public final class OpProfile {
    /** Whether operators are being timed, decided once at start-up. */
    public static final boolean ON = "1".equals(System.getenv("FULLSHARD_PROFILE_OPS")) || Boolean.getBoolean("fullshard.profileOps");

    /** One operator's calls and total nanoseconds since the last {@link #reset}. */
    public record Row(String op, long calls, long nanos) {
    }

    private record Counter(LongAdder calls, LongAdder nanos) {
    }

    private static final Map<String, Counter> COUNTERS = new ConcurrentHashMap<>();

    private OpProfile() {
    }

    /** Adds one call of {@code op} that started at {@code startNanos} ({@link System#nanoTime}). */
    static void record(String op, long startNanos) {
        long elapsed = System.nanoTime() - startNanos;
        Counter c = COUNTERS.computeIfAbsent(op, k -> new Counter(new LongAdder(), new LongAdder()));
        c.calls.increment();
        c.nanos.add(elapsed);
    }

    /** Every operator timed since the last reset, the most time first. */
    public static List<Row> rows() {
        List<Row> out = new ArrayList<>();
        COUNTERS.forEach((op, c) -> out.add(new Row(op, c.calls.sum(), c.nanos.sum())));
        out.sort(Comparator.comparingLong(Row::nanos).reversed());
        return out;
    }

    public static void reset() {
        COUNTERS.clear();
    }

    /**
     * The {@code top} operators by time over {@code steps} steps that took {@code stepNanos} in all: per step,
     * their milliseconds, share of the step and calls; then all operators together, and what is left (Java,
     * allocation and the calls not timed).
     */
    public static String table(int top, int steps, long stepNanos) {
        List<Row> rows = rows();
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-44s %10s %7s %8s%n", "operator (per step)", "ms", "share", "calls"));
        long all = 0, calls = 0;
        for (Row r : rows) {
            all += r.nanos();
            calls += r.calls();
        }
        for (Row r : rows.subList(0, Math.min(top, rows.size()))) out.append(line(r.op(), r.nanos(), r.calls(), steps, stepNanos));
        out.append(line("all " + rows.size() + " operators", all, calls, steps, stepNanos));
        out.append(line("outside the operators", stepNanos - all, 0, steps, stepNanos));
        return out.toString();
    }

    private static String line(String what, long nanos, long calls, int steps, long stepNanos) {
        return String.format(Locale.ROOT, "%-44s %10.1f %6.1f%% %8s%n", what, nanos / 1e6 / steps, 100.0 * nanos / stepNanos,
                calls == 0 ? "" : Long.toString(calls / steps));
    }
}
