package dev.fullshard.train;

import sun.misc.Signal;

import java.util.concurrent.atomic.AtomicReference;

/**
 * SIGTERM, SIGINT, SIGHUP or SIGUSR1 (which some schedulers send as an early warning) asks the run to stop: the current step finishes, a checkpoint is saved and the
 * process exits non-zero. (Slurm sends SIGTERM some time before SIGKILL; a second signal while the
 * checkpoint is written is ignored rather than killing the write.) The JDK has no public API for
 * catching signals, so this uses {@code sun.misc.Signal} from the jdk.unsupported module.
 */
public final class StopRequest {
    private final AtomicReference<String> signal = new AtomicReference<>();

    private StopRequest() {
    }

    /** Installs the handlers for this process; call once before training starts. */
    public static StopRequest install() {
        StopRequest request = new StopRequest();
        for (String name : new String[] {"TERM", "INT", "HUP", "USR1"}) {
            Signal.handle(new Signal(name), s -> request.signal.compareAndSet(null, "SIG" + s.getName()));
        }
        return request;
    }

    /** A request that never fires (tests, library use). */
    public static StopRequest none() {
        return new StopRequest();
    }

    public boolean requested() {
        return signal.get() != null;
    }

    /** The signal that asked to stop, e.g. "SIGTERM", or null. */
    public String signalName() {
        return signal.get();
    }
}
