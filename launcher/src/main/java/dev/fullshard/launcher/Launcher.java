package dev.fullshard.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Runs the job. The master launcher ({@code --node-rank 0}) serves the PMI key-value space and the node channel
 * on {@code --master-addr:--master-port}, waits for the other node launchers, and runs {@link Attempt}s until
 * one succeeds, is stopped by a signal, or fails with no restart left (see {@link AttemptState}). Ranks on every
 * node talk PMI to the master directly ({@code PMI_PORT}); node launchers ({@link NodeAgent}) only start/stop
 * their local ranks and report each attempt's outcome over the authenticated node channel ({@link NodeMessage}).
 */
final class Launcher {
    private final LaunchSpec spec0;
    private final PrintStream console;
    private final LauncherLog log;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

    Launcher(LaunchSpec spec, PrintStream console) {
        this.spec0 = spec;
        this.console = console;
        this.log = new LauncherLog(console, "[launcher] ");
    }

    /** Called from a signal handler: forward to the ranks, then stop. */
    void signal(String name) { events.add(new Event.Signal(name)); }

    int run() throws Exception {
        return spec0.nodeRank() == 0 ? runMaster() : new NodeAgent(spec0, console, events).run();
    }

    private int runMaster() throws Exception {
        InetAddress bind;
        try {
            bind = InetAddress.getByName(spec0.masterAddr());
        } catch (UnknownHostException e) {
            log.say(spec0.unresolvableMaster());
            return 1;
        }
        NodeLinks nodes = new NodeLinks(spec0, events, log);
        PmiServer server;
        try {
            server = new PmiServer(bind, spec0.masterPort(), spec0.secret(), nodes::joined);
        } catch (IOException e) {
            log.say("error: " + e.getMessage());
            return 1;
        }
        try (server) {
            LaunchSpec spec = spec0.withMasterPort(server.port());
            log.say("run " + spec.runId() + ": " + spec.nnodes() + " node(s) x " + spec.nprocPerNode()
                    + " rank(s), PMI on " + spec.masterAddr() + ":" + spec.masterPort() + ", logs in " + spec.logDir());
            if (spec.nnodes() > 1) {
                nodes.keepAlive();
                if (!nodes.awaitAll()) return 1;
            }
            for (int attempt = 0; ; attempt++) {
                AttemptResult result = new Attempt(attempt, spec, server, nodes, events, console, log).run();
                if (result.state() == AttemptState.STOPPED) {
                    nodes.finish(1);
                    return 128 + Signals.number(result.signal());
                }
                if (result.state() == AttemptState.SUCCEEDED) {
                    log.say("run " + spec.runId() + " succeeded (attempt " + attempt + ")");
                    nodes.finish(0);
                    return 0;
                }
                if (!restart(result, spec, nodes)) {
                    Failure first = result.firstFailure();
                    FailureReport.print(console, spec.runId(), first, attempt);
                    int rc = first.exitCode() == 0 ? 1 : first.exitCode();
                    nodes.finish(rc);
                    return rc;
                }
                log.say("restarting the gang (restart " + (attempt + 1) + " of " + spec.maxRestarts() + ")");
            }
        }
    }

    /**
     * Whether a failed attempt is retried: while restarts are left and every node is still there, unless a rank
     * could not be started at all (it would not be on a retry either).
     */
    private boolean restart(AttemptResult failed, LaunchSpec spec, NodeLinks nodes) {
        Failure first = failed.firstFailure();
        boolean restartsLeft = failed.attempt() < spec.maxRestarts();
        if (first.notStarted() && restartsLeft) {
            log.say("not restarting: rank " + first.rank() + " could not be started, and would not be on a retry");
        }
        return nodes.count() >= spec.nnodes() - 1 && restartsLeft && !first.notStarted();
    }
}
