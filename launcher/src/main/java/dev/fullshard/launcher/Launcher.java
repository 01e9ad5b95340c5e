package dev.fullshard.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the job. The master launcher ({@code --node-rank 0}) serves the PMI key-value space and the node channel
 * on {@code --master-addr:--master-port}, waits for the other node launchers, and drives the attempts:
 * INIT → RUNNING → SUCCEEDED, or FAILED → stop the whole gang → restart with a fresh key-value space while
 * restarts remain. Ranks on every node talk PMI to the master directly ({@code PMI_PORT}); node launchers
 * only start/stop their local ranks and report each attempt's outcome over the authenticated node channel.
 */
final class Launcher {
    private final LaunchSpec spec0;
    private final PrintStream console;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Map<Integer, NodeConn> nodes = new TreeMap<>();

    /** Something the master's loop reacts to. */
    sealed interface Event permits LocalDone, NodeDone, NodeLost, SignalEvent, MasterMsg { }
    record MasterMsg(Map<String, String> msg) implements Event { }
    record LocalDone(WorkerGroup.Outcome outcome) implements Event { }
    record NodeDone(int node, int attempt, Failure failure) implements Event { }
    record NodeLost(int node) implements Event { }
    record SignalEvent(String signal) implements Event { }

    private record NodeConn(int node, Socket socket, OutputStream out) { }

    Launcher(LaunchSpec spec, PrintStream console) {
        this.spec0 = spec;
        this.console = console;
    }

    /** Called from a signal handler: forward to the ranks, then stop. */
    void signal(String name) { events.add(new SignalEvent(name)); }

    private void say(String s) { synchronized (console) { console.println("[launcher] " + s); } }

    int run() throws Exception {
        return spec0.nodeRank() == 0 ? runMaster() : new NodeAgent(spec0, console, events).run();
    }

    // ---------------------------------------------------------------- master

    private int runMaster() throws Exception {
        InetAddress bind = InetAddress.getByName(spec0.masterAddr());
        PmiServer server;
        try {
            server = new PmiServer(bind, spec0.masterPort(), spec0.secret(), this::nodeJoined);
        } catch (IOException e) {
            say("error: " + e.getMessage());
            return 1;
        }
        try (server) {
            LaunchSpec spec = spec0.withMasterPort(server.port());
            say("run " + spec.runId() + ": " + spec.nnodes() + " node(s) x " + spec.nprocPerNode()
                    + " rank(s), PMI on " + spec.masterAddr() + ":" + spec.masterPort() + ", logs in " + spec.logDir());
            if (spec.nnodes() > 1 && !awaitNodes(spec)) return 1;
            for (int attempt = 0; ; attempt++) {
                server.newJob("kvs_" + spec.runId().replaceAll("[^A-Za-z0-9_]", "_") + "_" + attempt,
                        spec.worldSize(), spec.nnodes(), spec.nprocPerNode());
                say("attempt " + attempt + ": starting " + spec.worldSize() + " rank(s)");
                synchronized (nodes) {
                    for (NodeConn n : nodes.values()) PmiServer.send(n.out(), "cmd=fs_start attempt=" + attempt);
                }
                WorkerGroup group = new WorkerGroup(spec, attempt, console);
                group.start();
                Thread waiter = new Thread(() -> {
                    try { events.add(new LocalDone(group.await())); } catch (InterruptedException ignored) { }
                }, "local-ranks");
                waiter.setDaemon(true);
                waiter.start();

                int pending = 1 + nodes.size();
                Failure first = null;
                String signal = null;
                boolean stopping = false;
                while (pending > 0) {
                    Event e = spec.hangTimeout() > 0 ? events.poll(200, TimeUnit.MILLISECONDS) : events.take();
                    Failure f = null;
                    if (e == null) {
                        int stalled = stopping ? -1 : server.stalledRank((long) (spec.hangTimeout() * 1e9));
                        if (stalled < 0) continue;
                        String why = "hang: rank " + stalled + " made no progress for " + spec.hangTimeout()
                                + " s (--hang-timeout); thread dumps of JVM ranks are in their logs";
                        say(why);
                        group.dumpThreads();
                        sendToNodes("cmd=fs_dump");
                        Thread.sleep(1000);
                        int node = stalled / spec.nprocPerNode();
                        f = new Failure(Instant.now(), node == 0 ? spec.hostname() : "?", node, -1, -1, 1, null,
                                List.of(), null, why, false);
                        first = first == null ? f : first;
                        group.requestFailureStop();
                        sendToNodes("cmd=fs_stop failure=1");
                        stopping = true;
                        continue;
                    }
                    switch (e) {
                        case LocalDone d -> { pending--; f = d.outcome().failure(); }
                        case NodeDone d -> { if (d.attempt() != attempt) continue; pending--; f = d.failure(); }
                        case NodeLost l -> {
                            pending--;
                            synchronized (nodes) { nodes.remove(l.node()); }
                            f = new Failure(Instant.now(), "?", l.node(), -1, -1, 1, null, List.of(), null,
                                    "node " + l.node() + " launcher lost its connection to the master", false);
                        }
                        case SignalEvent s -> {
                            if (signal == null) signal = s.signal();
                            say("got SIG" + s.signal() + ": forwarding to all ranks");
                            group.requestStop(s.signal());
                            sendToNodes("cmd=fs_stop signal=" + s.signal());
                            stopping = true;
                        }
                        case MasterMsg m -> { }
                    }
                    if (f != null && first == null && signal == null) {
                        first = f;
                        if (!stopping) {
                            say("rank " + f.rank() + " on node " + f.nodeRank() + " failed (" + f.describeExit()
                                    + "): stopping all ranks (SIGKILL after --failure-grace-period " + spec.failureGracePeriod()
                                    + " s)");
                            group.requestFailureStop();
                            sendToNodes("cmd=fs_stop failure=1");
                            stopping = true;
                        }
                    }
                }
                if (signal != null) {
                    finishNodes(1);
                    return 128 + Signals.number(signal);
                }
                if (first == null) {
                    say("run " + spec.runId() + " succeeded (attempt " + attempt + ")");
                    finishNodes(0);
                    return 0;
                }
                if (first.notStarted() && attempt < spec.maxRestarts()) {
                    say("not restarting: rank " + first.rank() + " could not be started, and would not be on a retry");
                }
                if (nodes.size() < spec.nnodes() - 1 || attempt >= spec.maxRestarts() || first.notStarted()) {
                    report(first, attempt);
                    int rc = first.exitCode() == 0 ? 1 : first.exitCode();
                    finishNodes(rc);
                    return rc;
                }
                say("restarting the gang (restart " + (attempt + 1) + " of " + spec.maxRestarts() + ")");
            }
        }
    }

    private boolean awaitNodes(LaunchSpec spec) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (spec.joinTimeout() * 1e9);
        synchronized (nodes) {
            while (nodes.size() < spec.nnodes() - 1) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    TreeSet<Integer> missing = new TreeSet<>();
                    for (int n = 1; n < spec.nnodes(); n++) if (!nodes.containsKey(n)) missing.add(n);
                    say("error: join timeout after " + spec.joinTimeout() + " s: node rank(s) " + missing
                            + " never joined (started with the same --master-addr/--master-port and secret?)");
                    finishNodes(1);
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(nodes, left);
            }
        }
        say("all " + spec.nnodes() + " nodes joined");
        return true;
    }

    /** The PMI server hands us an authenticated node launcher. */
    private void nodeJoined(Map<String, String> m, Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        int node, nproc;
        try {
            node = Integer.parseInt(m.getOrDefault("node", ""));
            nproc = Integer.parseInt(m.getOrDefault("nproc", ""));
        } catch (NumberFormatException e) {
            PmiServer.send(out, "cmd=fs_refused msg=bad_join");
            s.close();
            return;
        }
        synchronized (nodes) {
            String why = node <= 0 || node >= spec0.nnodes() ? "node_rank_out_of_range"
                    : nodes.containsKey(node) ? "node_rank_taken"
                    : nproc != spec0.nprocPerNode() ? "nproc_differs_from_master_" + spec0.nprocPerNode() : null;
            if (why != null) {
                PmiServer.send(out, "cmd=fs_refused msg=" + why);
                s.close();
                return;
            }
            nodes.put(node, new NodeConn(node, s, out));
            PmiServer.send(out, "cmd=fs_welcome");
            nodes.notifyAll();
        }
        say("node " + node + " (" + m.getOrDefault("host", "?") + ") joined");
        InputStream in = s.getInputStream();
        try {
            String line;
            while ((line = PmiMessage.readLine(in)) != null) {
                Map<String, String> r = PmiMessage.parse(line);
                if ("fs_result".equals(r.get("cmd"))) events.add(new NodeDone(node, Integer.parseInt(r.get("attempt")),
                        NodeAgent.decodeFailure(r)));
            }
        } catch (IOException | RuntimeException e) {
            // treated as lost below
        }
        boolean known;
        synchronized (nodes) { known = nodes.get(node) != null && nodes.get(node).socket() == s; }
        if (known) events.add(new NodeLost(node));
        s.close();
    }

    /** To every node launcher: {@code fs_stop signal=S} forwards a signal, {@code fs_stop failure=1} stops after a failure. */
    private void sendToNodes(String line) {
        synchronized (nodes) {
            for (NodeConn n : nodes.values()) {
                try { PmiServer.send(n.out(), line); } catch (IOException ignored) { }
            }
        }
    }

    private void finishNodes(int rc) {
        synchronized (nodes) {
            for (NodeConn n : new ArrayList<>(nodes.values())) {
                try {
                    PmiServer.send(n.out(), "cmd=fs_finish rc=" + rc);
                    n.socket().shutdownOutput();
                } catch (IOException ignored) { }
            }
            nodes.clear();
        }
    }

    private void report(Failure f, int attempt) {
        StringBuilder b = new StringBuilder();
        b.append("[launcher] ===== run ").append(spec0.runId()).append(" FAILED after ").append(attempt + 1)
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

    // ---------------------------------------------------------------- wire helpers for failures

    static String b64(String s) { return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

    static String unb64(String s) { return new String(Base64.getUrlDecoder().decode(s), StandardCharsets.UTF_8); }

    static Socket connect(String host, int port, int timeoutMs) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(host, port), timeoutMs);
        return s;
    }
}
