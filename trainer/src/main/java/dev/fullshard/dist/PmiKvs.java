package dev.fullshard.dist;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * This rank's client of the launcher's PMI-1 key-value space ({@code PMI_PORT}, {@code PMI_ID}): the same
 * server and wire protocol MPICH ranks use, here for what NCCL needs before it can talk at all (rank 0's
 * unique id). Every call waits for the server's answer; a launcher that goes away, or a barrier that
 * some rank never reaches within {@code timeoutMillis}, is an error naming the key or the barrier.
 */
public final class PmiKvs implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final BufferedReader in;
    private final String kvsname;
    private final String where;

    private PmiKvs(Socket socket, String where, String pmiId) throws IOException {
        this.socket = socket;
        this.where = where;
        this.out = socket.getOutputStream();
        this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        send("cmd=initack pmiid=" + pmiId);
        expect("initack");
        for (int i = 0; i < 3; i++) expect("set");                 // size, rank, debug
        send("cmd=init pmi_version=1 pmi_subversion=1");
        expect("response_to_init");
        send("cmd=get_my_kvsname");
        kvsname = expect("my_kvsname").get("kvsname");
    }

    /** Connects to the server {@code PMI_PORT} (host:port) names, as rank {@code PMI_ID}. */
    public static PmiKvs connect(Map<String, String> env, int timeoutMillis) {
        String port = env.get("PMI_PORT"), id = env.get("PMI_ID");
        if (port == null || id == null || port.lastIndexOf(':') < 1) {
            throw new IllegalStateException("no launcher key-value server: PMI_PORT and PMI_ID are not set (start the ranks with "
                    + "fullshard's launcher, which serves it)");
        }
        int colon = port.lastIndexOf(':');
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(port.substring(0, colon), Integer.parseInt(port.substring(colon + 1))), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            return new PmiKvs(s, port, id);
        } catch (IOException | NumberFormatException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // the connection is being abandoned anyway
            }
            throw new IllegalStateException("cannot use the launcher's key-value server at PMI_PORT=" + port + ": " + e.getMessage(), e);
        }
    }

    public void put(String key, String value) {
        call("put", "cmd=put kvsname=" + kvsname + " key=" + key + " value=" + value, "put_result", key);
    }

    /** The value some rank put under {@code key} before the last barrier. */
    public String get(String key) {
        return call("get", "cmd=get kvsname=" + kvsname + " key=" + key, "get_result", key).get("value");
    }

    /** Returns when every rank of the job has called it. */
    public void barrier() {
        call("barrier", "cmd=barrier_in", "barrier_out", null);
    }

    @Override
    public void close() {
        try {
            send("cmd=finalize");
            expect("finalize_ack");
        } catch (IOException ignored) {
            // the launcher may already be gone; nothing is lost
        } finally {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is best effort
            }
        }
    }

    private Map<String, String> call(String what, String line, String answer, String key) {
        try {
            send(line);
            Map<String, String> reply = expect(answer);
            String rc = reply.get("rc");
            if (rc != null && !rc.equals("0")) {
                throw new IllegalStateException("launcher key-value server " + where + ": " + what + (key == null ? "" : " of '" + key + "'")
                        + " failed: " + reply.getOrDefault("msg", "rc=" + rc));
            }
            return reply;
        } catch (SocketTimeoutException e) {
            throw new IllegalStateException("launcher key-value server " + where + ": no answer to " + what
                    + (key == null ? "" : " of '" + key + "'") + " in time (a rank that never arrives?)", e);
        } catch (IOException e) {
            throw new UncheckedIOException("launcher key-value server " + where + ": " + what + " failed: " + e.getMessage(), e);
        }
    }

    private void send(String line) throws IOException {
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Reads the next line, which must be {@code cmd=<cmd> ...}; returns its key=value pairs. */
    private Map<String, String> expect(String cmd) throws IOException {
        String line = in.readLine();
        if (line == null) throw new IOException("the launcher closed the connection (waiting for " + cmd + ")");
        Map<String, String> m = new HashMap<>();
        for (String token : line.strip().split(" +")) {
            int eq = token.indexOf('=');
            if (eq > 0) m.put(token.substring(0, eq), token.substring(eq + 1));
        }
        if ("error".equals(m.get("cmd"))) throw new IOException("the launcher refused: " + m.getOrDefault("msg", line));
        if (!cmd.equals(m.get("cmd"))) throw new IOException("expected cmd=" + cmd + ", got: " + line);
        return m;
    }
}
