package dev.fullshard.dist;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Tells the launcher's hang watchdog that this rank is advancing: after every step, one line
 * {@code cmd=fs_progress rank=R step=N secret=S} on the launcher's PMI port (see the launcher's
 * {@code PmiServer}). Without a launcher (no {@code PMI_PORT} or secret) it does nothing. A beacon
 * that cannot reach the launcher switches itself off with one warning: losing the watchdog must never
 * stop training.
 */
public final class ProgressBeacon implements AutoCloseable {
    private static final int TIMEOUT_MILLIS = 5_000;

    private final String rank;
    private final String secret;
    private final PrintWriter warnings;
    private Socket socket;
    private PrintWriter out;
    private BufferedReader in;

    private ProgressBeacon(String rank, String secret, Socket socket, PrintWriter warnings) throws IOException {
        this.rank = rank;
        this.secret = secret;
        this.warnings = warnings;
        this.socket = socket;
        if (socket != null) {
            OutputStream os = socket.getOutputStream();
            out = new PrintWriter(os, true, StandardCharsets.UTF_8);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }
    }

    /** A beacon for the launcher named by the environment, or a silent one when there is none. */
    public static ProgressBeacon fromEnvironment(Map<String, String> env, PrintWriter warnings) {
        String port = env.get("PMI_PORT"), secret = env.get("FULLSHARD_PMI_SECRET");
        String rank = env.getOrDefault("RANK", env.get("PMI_ID"));
        try {
            if (port == null || secret == null || rank == null || !port.contains(":")) return new ProgressBeacon(rank, secret, null, warnings);
            Socket s = new Socket();
            int colon = port.lastIndexOf(':');
            s.connect(new InetSocketAddress(port.substring(0, colon), Integer.parseInt(port.substring(colon + 1))), TIMEOUT_MILLIS);
            s.setSoTimeout(TIMEOUT_MILLIS);
            return new ProgressBeacon(rank, secret, s, warnings);
        } catch (IOException | RuntimeException e) {
            warnings.println("progress beacon: cannot reach the launcher at " + port + " (" + e.getMessage() + "); the hang watchdog will not see this rank");
            try {
                return new ProgressBeacon(rank, secret, null, warnings);
            } catch (IOException impossible) {
                throw new IllegalStateException(impossible);
            }
        }
    }

    /** Reports that {@code step} steps are done. */
    public void report(long step) {
        if (socket == null) return;
        try {
            out.println("cmd=fs_progress rank=" + rank + " step=" + step + " secret=" + secret);
            String ack = in.readLine();
            if (ack == null || !ack.startsWith("cmd=fs_progress_ack")) throw new IOException("launcher answered " + ack);
        } catch (IOException e) {
            warnings.println("progress beacon: " + e.getMessage() + "; the hang watchdog will not see this rank any more");
            close();
        }
    }

    @Override
    public void close() {
        if (socket == null) return;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
        socket = null;
    }
}
