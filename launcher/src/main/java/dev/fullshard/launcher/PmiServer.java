package dev.fullshard.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The PMI-1 "simple" key-value server (wire protocol as MPICH 4.0.2 speaks it over {@code PMI_PORT}), one thread
 * per connection. The same port takes the launcher-to-launcher channel: a connection whose first line is a
 * {@link NodeMessage.Join} ({@code cmd=fs_join secret=S ...}) is a node launcher; it must carry the job secret
 * (MPICH ranks cannot send one, which is why the port is bound to the master address only). Lines over 4 KiB, values over 1024 bytes and
 * malformed input get {@code cmd=error msg=...} and that connection is closed; the job goes on.
 */
final class PmiServer implements AutoCloseable {
    static final int MAX_VALUE = 1024, MAX_KEY = 64, MAX_KVSNAME = 256;

    /** Receives authenticated node launchers; it owns the socket from then on. */
    interface NodeHandler {
        void joined(Map<String, String> joinMessage, Socket socket) throws IOException;
    }

    private final ServerSocket server;
    private final byte[] secret;
    private final NodeHandler nodes;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile Job job;

    PmiServer(InetAddress bind, int port, String secret, NodeHandler nodes) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        try {
            s.bind(new InetSocketAddress(bind, port), 128);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen on " + bind.getHostAddress() + ":" + port + " ("
                    + e.getMessage() + "); is another job using that port? Pick another --master-port", e);
        }
        this.server = s;
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.nodes = nodes;
        Thread t = new Thread(this::acceptLoop, "pmi-accept");
        t.setDaemon(true);
        t.start();
    }

    int port() { return server.getLocalPort(); }

    /** Starts a fresh key-value space for a new attempt; ranks still talking to the old one are cut off. */
    void newJob(String kvsname, int size, int nnodes, int perNode) {
        Job old = job;
        job = new Job(kvsname, size, "(vector,(0," + nnodes + "," + perNode + "))");
        if (old != null) old.cancel();
    }

    /** See {@link Job#stalledRank}. */
    int stalledRank(long timeoutNanos) {
        Job j = job;
        return j == null ? -1 : j.stalledRank(timeoutNanos);
    }

    @Override
    public void close() throws IOException {
        Job j = job;
        if (j != null) j.cancel();
        server.close();
        for (Socket s : open) try { s.close(); } catch (IOException ignored) { }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                open.add(s);
                Thread t = new Thread(() -> serve(s), "pmi-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (server.isClosed()) return;
            }
        }
    }

    private void serve(Socket s) {
        boolean handedOver = false;
        try {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            String first = PmiMessage.readLine(in);
            if (first == null) return;
            Map<String, String> m = PmiMessage.parse(first);
            if (NodeMessage.Join.COMMAND.equals(m.get("cmd"))) {
                byte[] given = NodeMessage.Join.secret(m).getBytes(StandardCharsets.UTF_8);
                if (!MessageDigest.isEqual(given, secret)) {
                    send(out, new NodeMessage.Refused("wrong_secret").encode());
                    return;
                }
                open.remove(s);
                handedOver = true;
                nodes.joined(m, s);
                return;
            }
            Job j = job;
            if (j == null) { send(out, "cmd=error msg=no_job_running"); return; }
            Session session = new Session(j, out, secret);
            Map<String, String> msg = m;
            while (msg != null) {
                if (!session.handle(msg)) return;
                String line = PmiMessage.readLine(in);
                msg = line == null ? null : PmiMessage.parse(line);
            }
        } catch (PmiMessage.ProtocolException e) {
            try { send(s.getOutputStream(), "cmd=error msg=" + e.getMessage()); } catch (IOException ignored) { }
        } catch (IOException | InterruptedException e) {
            // connection gone or job replaced: nothing to do for the others
        } finally {
            if (!handedOver) {
                open.remove(s);
                try { s.close(); } catch (IOException ignored) { }
            }
        }
    }

    static void send(OutputStream out, String line) throws IOException {
        synchronized (out) {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    /** One rank's conversation. */
    private static final class Session {
        private final Job job;
        private final OutputStream out;
        private final byte[] secret;
        private int rank = -1;

        Session(Job job, OutputStream out, byte[] secret) { this.job = job; this.out = out; this.secret = secret; }

        /** Returns false when the connection should close. */
        boolean handle(Map<String, String> m) throws IOException, InterruptedException {
            String cmd = m.get("cmd");
            switch (cmd) {
                case "initack" -> {
                    rank = intArg(m, "pmiid");
                    if (rank < 0 || rank >= job.size) throw new PmiMessage.ProtocolException("bad_pmiid");
                    send(out, "cmd=initack\ncmd=set size=" + job.size + "\ncmd=set rank=" + rank + "\ncmd=set debug=0");
                }
                case "init" -> send(out, "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0");
                case "get_maxes" -> send(out, "cmd=maxes kvsname_max=" + MAX_KVSNAME + " keylen_max=" + MAX_KEY
                        + " vallen_max=" + MAX_VALUE);
                case "get_appnum" -> send(out, "cmd=appnum appnum=0");
                case "get_universe_size" -> send(out, "cmd=universe_size size=" + job.size);
                case "get_my_kvsname" -> send(out, "cmd=my_kvsname kvsname=" + job.kvsname);
                case "put" -> {
                    String key = m.get("key"), value = m.getOrDefault("value", "");
                    if (key == null || key.length() > MAX_KEY) throw new PmiMessage.ProtocolException("bad_key");
                    if (value.length() > MAX_VALUE) throw new PmiMessage.ProtocolException("value_too_long");
                    if (!job.put(key, value)) {
                        send(out, "cmd=put_result rc=-1 msg=kvs_full");
                    } else {
                        send(out, "cmd=put_result rc=0 msg=success");
                    }
                }
                case "get" -> {
                    String key = m.get("key");
                    if (key == null) throw new PmiMessage.ProtocolException("bad_key");
                    String v = "PMI_process_mapping".equals(key) ? job.mapping : job.kvs.get(key);
                    send(out, v == null ? "cmd=get_result rc=-1 msg=key_" + key + "_not_found"
                            : "cmd=get_result rc=0 msg=success value=" + v);
                }
                case "barrier_in" -> {
                    job.barrier();
                    send(out, "cmd=barrier_out");
                }
                case "finalize" -> {
                    send(out, "cmd=finalize_ack");
                    return false;
                }
                case "fs_progress" -> {  // fullshard's own: a rank says it advanced (hang watchdog)
                    byte[] given = m.getOrDefault("secret", "").getBytes(StandardCharsets.UTF_8);
                    if (!MessageDigest.isEqual(given, secret)) throw new PmiMessage.ProtocolException("wrong_secret");
                    int r = intArg(m, "rank");
                    if (r < 0 || r >= job.size) throw new PmiMessage.ProtocolException("bad_rank");
                    job.progress(r, m.getOrDefault("step", ""));
                    send(out, "cmd=fs_progress_ack");
                }
                case "abort" -> {
                    job.aborted(rank, m.getOrDefault("exitcode", "1"));
                    return false;
                }
                default -> throw new PmiMessage.ProtocolException("unknown_cmd");
            }
            return true;
        }

        private static int intArg(Map<String, String> m, String k) throws PmiMessage.ProtocolException {
            try { return Integer.parseInt(m.getOrDefault(k, "")); } catch (NumberFormatException e) {
                throw new PmiMessage.ProtocolException("bad_" + k);
            }
        }
    }

    /** One attempt's key-value space and barrier. */
    static final class Job {
        private static final int MAX_KEYS = 1 << 20;
        final String kvsname, mapping;
        final int size;
        final Map<String, String> kvs = new ConcurrentHashMap<>();
        private int arrived;
        private long generation;
        private boolean cancelled;

        Job(String kvsname, int size, String mapping) { this.kvsname = kvsname; this.size = size; this.mapping = mapping; }

        private final Map<Integer, String> lastStep = new ConcurrentHashMap<>();
        private final Map<Integer, Long> lastChange = new ConcurrentHashMap<>();

        void progress(int rank, String step) {
            if (!step.equals(lastStep.put(rank, step))) lastChange.put(rank, System.nanoTime());
        }

        /** A rank that reported progress once and then none for {@code timeoutNanos}, or -1. */
        int stalledRank(long timeoutNanos) {
            long now = System.nanoTime();
            for (var e : lastChange.entrySet()) if (now - e.getValue() > timeoutNanos) return e.getKey();
            return -1;
        }

        boolean put(String k, String v) {
            if (kvs.size() >= MAX_KEYS && !kvs.containsKey(k)) return false;
            kvs.put(k, v);
            return true;
        }

        synchronized void barrier() throws InterruptedException {
            if (cancelled) throw new InterruptedException("job replaced");
            long gen = generation;
            if (++arrived == size) {
                arrived = 0;
                generation++;
                notifyAll();
                return;
            }
            while (gen == generation && !cancelled) wait();
            if (cancelled) throw new InterruptedException("job replaced");
        }

        synchronized void cancel() { cancelled = true; notifyAll(); }

        void aborted(int rank, String code) {
            System.err.println("[launcher] rank " + rank + " called PMI abort (exit code " + code + ")");
        }
    }
}
