package dev.fullshard.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One attempt of the gang, run by the master: a fresh PMI key-value space, the local ranks and every other
 * node's started, then each node's outcome collected. The first failure (a rank's exit, a hang, a lost node)
 * stops the whole gang with the failure grace period; a signal to the launcher is forwarded to every rank.
 */
final class Attempt {
    private final int number;
    private final LaunchSpec spec;
    private final PmiServer server;
    private final NodeLinks nodes;
    private final BlockingQueue<Event> events;
    private final PrintStream console;
    private final LauncherLog log;
    private AttemptState state = AttemptState.INIT;

    private WorkerGroup group;
    private final List<Failure> failures = new ArrayList<>();
    private Failure first;
    private String signal;
    private boolean stopping;

    Attempt(int number, LaunchSpec spec, PmiServer server, NodeLinks nodes, BlockingQueue<Event> events, PrintStream console,
            LauncherLog log) {
        this.number = number;
        this.spec = spec;
        this.server = server;
        this.nodes = nodes;
        this.events = events;
        this.console = console;
        this.log = log;
    }

    /** Runs the attempt until every node, this one included, reported its ranks done or was lost. */
    AttemptResult run() throws IOException, InterruptedException {
        start();
        int pending = 1 + nodes.count();
        while (pending > 0) {
            Event e = spec.hangTimeout() > 0 ? events.poll(200, TimeUnit.MILLISECONDS) : events.take();
            if (e == null) {
                watchForHang();
                continue;
            }
            switch (e) {
                case Event.LocalDone d -> {
                    pending--;
                    failed(d.outcome().failure());
                }
                case Event.NodeDone d -> {
                    if (d.attempt() != number) continue;   // a late report of an earlier attempt
                    pending--;
                    failed(d.failure());
                }
                case Event.NodeLost l -> {
                    pending--;
                    nodes.forget(l.node());
                    failed(new Failure(Instant.now(), l.host(), l.node(), -1, -1, 1, null, List.of(), null, l.why(), false));
                }
                case Event.Signal s -> signalled(s.signal());
                case Event.FromMaster _, Event.MasterLost _ -> { }   // a node launcher's events
            }
        }
        state = state.moveTo(signal != null ? AttemptState.STOPPED : first == null ? AttemptState.SUCCEEDED : AttemptState.FAILED);
        return new AttemptResult(number, state, failures, first, signal);
    }

    private void start() throws IOException {
        server.newJob("kvs_" + spec.runId().replaceAll("[^A-Za-z0-9_]", "_") + "_" + number,
                spec.worldSize(), spec.nnodes(), spec.nprocPerNode());
        log.say("attempt " + number + ": starting " + spec.worldSize() + " rank(s)");
        nodes.start(number);
        WorkerGroup g = new WorkerGroup(spec, number, console);
        group = g;
        g.start();
        Thread waiter = new Thread(() -> {
            try { events.add(new Event.LocalDone(g.await())); } catch (InterruptedException ignored) { }
        }, "local-ranks");
        waiter.setDaemon(true);
        waiter.start();
        state = state.moveTo(AttemptState.RUNNING);
    }

    /** A rank that reports progress and stopped making it is this attempt's failure: dump threads, stop the gang. */
    private void watchForHang() throws InterruptedException {
        int stalled = stopping ? -1 : server.stalledRank((long) (spec.hangTimeout() * 1e9));
        if (stalled < 0) return;
        String why = "hang: rank " + stalled + " made no progress for " + spec.hangTimeout()
                + " s (--hang-timeout); thread dumps of JVM ranks are in their logs";
        log.say(why);
        group.dumpThreads();
        nodes.tell(new NodeMessage.DumpThreads());
        Thread.sleep(1000);
        int node = stalled / spec.nprocPerNode();
        Failure f = new Failure(Instant.now(), node == 0 ? spec.hostname() : "?", node, -1, -1, 1, null,
                List.of(), null, why, false);
        failures.add(f);
        if (first == null) first = f;
        stopGang();
    }

    /** The first failure, unless a signal came first, is the root cause; it stops every rank on every node. */
    private void failed(Failure f) {
        if (f == null) return;
        failures.add(f);
        if (first != null || signal != null) return;
        first = f;
        if (stopping) return;
        String what = f.rank() >= 0 ? "rank " + f.rank() + " on node " + f.nodeRank() + " failed (" + f.describeExit() + ")"
                : f.note();
        log.say(what + ": stopping all ranks (SIGKILL after --failure-grace-period " + spec.failureGracePeriod() + " s)");
        stopGang();
    }

    private void stopGang() {
        group.requestFailureStop();
        nodes.tell(new NodeMessage.StopAfterFailure());
        stopping = true;
    }

    private void signalled(String name) {
        if (signal == null) signal = name;
        log.say("got SIG" + name + ": forwarding to all ranks");
        group.requestStop(name);
        nodes.tell(new NodeMessage.ForwardSignal(name));
        stopping = true;
    }
}
