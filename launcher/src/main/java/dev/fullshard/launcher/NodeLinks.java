package dev.fullshard.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The master's node channel: the other node launchers that joined, messages to all of them, and their
 * {@link NodeMessage.Result}s and lost connections (closed, or silent for {@code --node-timeout}) as {@link Event}s.
 */
final class NodeLinks {
    /** A joined node launcher; {@code silence} is set once it has been silent past the node timeout. */
    private record Link(Socket socket, OutputStream out, String host, KeepAlive.LastHeard heard, AtomicReference<String> silence) { }

    private final LaunchSpec spec;
    private final BlockingQueue<Event> events;
    private final LauncherLog log;
    private final Map<Integer, Link> links = new TreeMap<>();
    private KeepAlive heartbeats;

    NodeLinks(LaunchSpec spec, BlockingQueue<Event> events, LauncherLog log) {
        this.spec = spec;
        this.events = events;
        this.log = log;
    }

    /** Starts sending heartbeats to the joined nodes and watching theirs; {@link #finish} stops it. */
    void keepAlive() {
        heartbeats = new KeepAlive("node-heartbeat", spec, () -> tell(new NodeMessage.Heartbeat()), this::findSilentNodes);
    }

    /**
     * Closes the connection of a node silent for the node timeout, so that its reader reports it lost: a vanished
     * host closes nothing itself, and the ranks here would wait for its ranks forever.
     */
    private void findSilentNodes() {
        synchronized (links) {
            links.forEach((node, l) -> {
                if (!l.heard().silentFor(spec.nodeTimeout())) return;
                String why = "node " + node + " (" + l.host() + ") lost: silent for longer than --node-timeout "
                        + spec.nodeTimeout() + " s; " + l.heard().describe();
                if (!l.silence().compareAndSet(null, why)) return;
                log.say(why);
                try { l.socket().close(); } catch (IOException ignored) { }
            });
        }
    }

    /** The node launchers connected now. */
    int count() {
        synchronized (links) { return links.size(); }
    }

    /** Waits for every other node's launcher; at the join timeout says which never came and finishes the others. */
    boolean awaitAll() throws InterruptedException {
        long deadline = System.nanoTime() + (long) (spec.joinTimeout() * 1e9);
        synchronized (links) {
            while (links.size() < spec.nnodes() - 1) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    TreeSet<Integer> missing = new TreeSet<>();
                    for (int n = 1; n < spec.nnodes(); n++) if (!links.containsKey(n)) missing.add(n);
                    log.say("error: join timeout after " + spec.joinTimeout() + " s: node rank(s) " + missing
                            + " never joined (started with the same --master-addr/--master-port and secret?)");
                    finish(1);
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(links, left);
            }
        }
        log.say("all " + spec.nnodes() + " nodes joined");
        return true;
    }

    /**
     * The {@link PmiServer.NodeHandler}: an authenticated node launcher. Welcomes or refuses it, then turns what it
     * sends into events until its connection ends.
     */
    void joined(Map<String, String> fields, Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        NodeMessage.Join join;
        try {
            join = (NodeMessage.Join) NodeMessage.decode(fields);
        } catch (PmiMessage.ProtocolException e) {
            PmiServer.send(out, new NodeMessage.Refused("bad_join").encode());
            s.close();
            return;
        }
        int node = join.node();
        Link link;
        synchronized (links) {
            String why = node <= 0 || node >= spec.nnodes() ? "node_rank_out_of_range"
                    : links.containsKey(node) ? "node_rank_taken"
                    : join.nproc() != spec.nprocPerNode() ? "nproc_differs_from_master_" + spec.nprocPerNode() : null;
            if (why != null) {
                PmiServer.send(out, new NodeMessage.Refused(why).encode());
                s.close();
                return;
            }
            links.put(node, link = new Link(s, out, join.host(), new KeepAlive.LastHeard(), new AtomicReference<>()));
            PmiServer.send(out, new NodeMessage.Welcome().encode());
            links.notifyAll();
        }
        log.say("node " + node + " (" + join.host() + ") joined");
        InputStream in = s.getInputStream();
        try {
            String line;
            while ((line = PmiMessage.readLine(in)) != null) {
                link.heard().now();
                if (NodeMessage.decode(line) instanceof NodeMessage.Result r) events.add(new Event.NodeDone(node, r.attempt(), r.failure()));
            }
        } catch (IOException | RuntimeException e) {
            // treated as lost below
        }
        boolean known;
        synchronized (links) { known = links.get(node) == link; }
        if (known) {
            String silence = link.silence().get();
            events.add(new Event.NodeLost(node, join.host(), silence != null ? silence : "node " + node + " (" + join.host()
                    + ") lost: its launcher closed the connection to the master; " + link.heard().describe()));
        }
        s.close();
    }

    void forget(int node) {
        synchronized (links) { links.remove(node); }
    }

    /** Starts an attempt on every node; throws when one cannot be told, which ends the master's run. */
    void start(int attempt) throws IOException {
        synchronized (links) {
            for (Link l : links.values()) PmiServer.send(l.out(), new NodeMessage.Start(attempt).encode());
        }
    }

    /** To every node; one whose connection is gone is reported by its reader as lost. */
    void tell(NodeMessage message) {
        synchronized (links) {
            for (Link l : links.values()) {
                try { PmiServer.send(l.out(), message.encode()); } catch (IOException ignored) { }
            }
        }
    }

    /** Tells every node the run's exit code and lets them go. */
    void finish(int exitCode) {
        synchronized (links) {
            for (Link l : new ArrayList<>(links.values())) {
                try {
                    PmiServer.send(l.out(), new NodeMessage.Finish(exitCode).encode());
                    l.socket().shutdownOutput();
                } catch (IOException ignored) { }
            }
            links.clear();
        }
        if (heartbeats != null) heartbeats.close();
    }
}
