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

/**
 * The master's node channel: the other node launchers that joined, messages to all of them, and their
 * {@link NodeMessage.Result}s and lost connections as {@link Event}s.
 */
final class NodeLinks {
    private record Link(Socket socket, OutputStream out) { }

    private final LaunchSpec spec;
    private final BlockingQueue<Event> events;
    private final LauncherLog log;
    private final Map<Integer, Link> links = new TreeMap<>();

    NodeLinks(LaunchSpec spec, BlockingQueue<Event> events, LauncherLog log) {
        this.spec = spec;
        this.events = events;
        this.log = log;
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
        synchronized (links) {
            String why = node <= 0 || node >= spec.nnodes() ? "node_rank_out_of_range"
                    : links.containsKey(node) ? "node_rank_taken"
                    : join.nproc() != spec.nprocPerNode() ? "nproc_differs_from_master_" + spec.nprocPerNode() : null;
            if (why != null) {
                PmiServer.send(out, new NodeMessage.Refused(why).encode());
                s.close();
                return;
            }
            links.put(node, new Link(s, out));
            PmiServer.send(out, new NodeMessage.Welcome().encode());
            links.notifyAll();
        }
        log.say("node " + node + " (" + join.host() + ") joined");
        InputStream in = s.getInputStream();
        try {
            String line;
            while ((line = PmiMessage.readLine(in)) != null) {
                if (NodeMessage.decode(line) instanceof NodeMessage.Result r) events.add(new Event.NodeDone(node, r.attempt(), r.failure()));
            }
        } catch (IOException | RuntimeException e) {
            // treated as lost below
        }
        boolean known;
        synchronized (links) { known = links.get(node) != null && links.get(node).socket() == s; }
        if (known) events.add(new Event.NodeLost(node));
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
    }
}
