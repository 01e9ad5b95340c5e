package dev.fullshard.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;

/**
 * A non-master node launcher: joins the master with the job secret, then starts and stops its local ranks as
 * the master says ({@link NodeMessage.Start}, {@link NodeMessage.StopAfterFailure}, {@link NodeMessage.Finish},
 * ...) and reports one {@link NodeMessage.Result} per attempt. Its ranks talk PMI to the master directly.
 */
final class NodeAgent {
    private final LaunchSpec spec;
    private final PrintStream console;
    private final BlockingQueue<Event> events;
    private final LauncherLog log;
    private boolean masterSilent;   // only the keep-alive timer reads and writes it

    NodeAgent(LaunchSpec spec, PrintStream console, BlockingQueue<Event> events) {
        this.spec = spec;
        this.console = console;
        this.events = events;
        this.log = new LauncherLog(console, "[launcher node " + spec.nodeRank() + "] ");
    }

    int run() throws Exception {
        Socket s = connectWithRetry();
        if (s == null) return 1;
        try (s) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            PmiServer.send(out, new NodeMessage.Join(spec.secret(), spec.nodeRank(), spec.nprocPerNode(), spec.hostname()).encode());
            String reply = PmiMessage.readLine(in);
            NodeMessage answer = reply == null ? new NodeMessage.Refused("connection_closed") : NodeMessage.decode(reply);
            if (!(answer instanceof NodeMessage.Welcome)) {
                String why = switch (answer) {
                    case NodeMessage.Refused r -> r.reason();
                    case NodeMessage.Unknown u -> u.fields().getOrDefault("msg", reply);
                    default -> reply;
                };
                log.say("error: the master refused this node: " + why
                        + ("wrong_secret".equals(why) ? " (--rdzv-id / FULLSHARD_RDZV_SECRET differ)" : ""));
                return 1;
            }
            log.say("joined the master at " + spec.masterAddr() + ":" + spec.masterPort());
            KeepAlive.LastHeard heard = new KeepAlive.LastHeard();
            Thread reader = new Thread(() -> {
                try {
                    String line;
                    while ((line = PmiMessage.readLine(in)) != null) {
                        heard.now();
                        NodeMessage m = NodeMessage.decode(line);
                        if (!(m instanceof NodeMessage.Heartbeat)) events.add(new Event.FromMaster(m));
                    }
                } catch (IOException ignored) { }
                events.add(new Event.MasterLost("the connection to the master closed"));
            }, "master-link");
            reader.setDaemon(true);
            reader.start();
            try (KeepAlive _ = new KeepAlive("master-heartbeat", spec, () -> sendHeartbeat(out), () -> watchMaster(heard))) {
                return followMaster(out);
            }
        }
    }

    private static void sendHeartbeat(OutputStream out) {
        try {
            PmiServer.send(out, new NodeMessage.Heartbeat().encode());
        } catch (IOException ignored) {
            // the reader sees the connection end
        }
    }

    /** A master silent for the node timeout is lost, even though its connection looks open (a vanished host closes nothing). */
    private void watchMaster(KeepAlive.LastHeard heard) {
        if (masterSilent || !heard.silentFor(spec.nodeTimeout())) return;
        masterSilent = true;
        events.add(new Event.MasterLost("the master at " + spec.masterAddr() + ":" + spec.masterPort()
                + " was silent for longer than --node-timeout " + spec.nodeTimeout() + " s; " + heard.describe()));
    }

    /** Does what the master says until it finishes the run, the connection is lost or a signal comes; returns the exit code. */
    private int followMaster(OutputStream out) throws InterruptedException {
        WorkerGroup group = null;
        Thread waiter = null;
        while (true) {
            switch (events.take()) {
                case Event.Signal sig -> {
                    log.say("got SIG" + sig.signal() + ": forwarding to local ranks");
                    if (group != null) { group.requestStop(sig.signal()); waiter.join(); }
                    return 128 + Signals.number(sig.signal());
                }
                case Event.MasterLost(String why) -> {
                    log.say("error: lost the master: " + why + "; stopping local ranks");
                    if (group != null) { group.requestFailureStop(); waiter.join(); }
                    return 1;
                }
                case Event.FromMaster(NodeMessage m) -> {
                    switch (m) {
                        case NodeMessage.Start(int attempt) -> {
                            WorkerGroup g = new WorkerGroup(spec, attempt, console);
                            group = g;
                            g.start();
                            waiter = new Thread(() -> {
                                try {
                                    PmiServer.send(out, new NodeMessage.Result(attempt, g.await().failure()).encode());
                                } catch (InterruptedException | IOException ignored) { }
                            }, "local-ranks");
                            waiter.setDaemon(true);
                            waiter.start();
                        }
                        case NodeMessage.DumpThreads _ -> { if (group != null) group.dumpThreads(); }
                        case NodeMessage.StopAfterFailure _ -> { if (group != null) group.requestFailureStop(); }
                        case NodeMessage.ForwardSignal(String signal) -> { if (group != null) group.requestStop(signal); }
                        case NodeMessage.Finish(int exitCode) -> {
                            if (waiter != null) waiter.join();
                            return exitCode;
                        }
                        case NodeMessage.Unknown u -> log.say("ignoring unknown message from the master: " + u.command());
                        case NodeMessage.Join _, NodeMessage.Welcome _, NodeMessage.Refused _, NodeMessage.Result _,
                             NodeMessage.Heartbeat _ ->
                                log.say("ignoring unknown message from the master: " + m.encode());
                    }
                }
                case Event.LocalDone _, Event.NodeDone _, Event.NodeLost _ -> { }   // the master's events
            }
        }
    }

    private Socket connectWithRetry() throws InterruptedException {
        long deadline = System.nanoTime() + (long) (spec.joinTimeout() * 1e9);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            InetSocketAddress master = new InetSocketAddress(spec.masterAddr(), spec.masterPort());
            if (master.isUnresolved()) {
                // A name this node cannot resolve will not start resolving by waiting; and no other address
                // (least of all this node's own) may stand in for it: a node that joins itself hangs.
                log.say(spec.unresolvableMaster());
                return null;
            }
            try {
                Socket s = new Socket();
                s.connect(master, 2000);
                return s;
            } catch (IOException e) {
                last = e;
                Thread.sleep(200);
            }
        }
        log.say("error: could not reach the master at " + spec.masterAddr() + ":" + spec.masterPort() + " within "
                + spec.joinTimeout() + " s" + (last != null ? " (" + last.getMessage() + ")" : ""));
        return null;
    }
}
