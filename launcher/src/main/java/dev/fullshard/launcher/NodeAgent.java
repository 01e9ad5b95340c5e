package dev.fullshard.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;

/**
 * A non-master node launcher: joins the master with the job secret, then starts and stops its local ranks as
 * the master says ({@code fs_start}, {@code fs_stop}, {@code fs_finish}) and reports one {@code fs_result} per
 * attempt. Its ranks talk PMI to the master directly.
 */
final class NodeAgent {
    private final LaunchSpec spec;
    private final PrintStream console;
    private final BlockingQueue<Launcher.Event> events;

    NodeAgent(LaunchSpec spec, PrintStream console, BlockingQueue<Launcher.Event> events) {
        this.spec = spec;
        this.console = console;
        this.events = events;
    }

    private void say(String s) { synchronized (console) { console.println("[launcher node " + spec.nodeRank() + "] " + s); } }

    int run() throws Exception {
        Socket s = connectWithRetry();
        if (s == null) return 1;
        try (s) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            PmiServer.send(out, "cmd=fs_join secret=" + spec.secret() + " node=" + spec.nodeRank() + " nproc="
                    + spec.nprocPerNode() + " host=" + spec.hostname());
            String reply = PmiMessage.readLine(in);
            Map<String, String> r = reply == null ? Map.of("cmd", "fs_refused", "msg", "connection_closed")
                    : PmiMessage.parse(reply);
            if (!"fs_welcome".equals(r.get("cmd"))) {
                say("error: the master refused this node: " + r.getOrDefault("msg", reply)
                        + (("wrong_secret".equals(r.get("msg"))) ? " (--rdzv-id / FULLSHARD_RDZV_SECRET differ)" : ""));
                return 1;
            }
            say("joined the master at " + spec.masterAddr() + ":" + spec.masterPort());
            Thread reader = new Thread(() -> {
                try {
                    String line;
                    while ((line = PmiMessage.readLine(in)) != null) events.add(new Launcher.MasterMsg(PmiMessage.parse(line)));
                } catch (IOException ignored) { }
                events.add(new Launcher.MasterMsg(Map.of("cmd", "fs_lost")));
            }, "master-link");
            reader.setDaemon(true);
            reader.start();

            WorkerGroup group = null;
            Thread waiter = null;
            while (true) {
                Launcher.Event e = events.take();
                if (e instanceof Launcher.SignalEvent sig) {
                    say("got SIG" + sig.signal() + ": forwarding to local ranks");
                    if (group != null) { group.requestStop(sig.signal()); waiter.join(); }
                    return 128 + Signals.number(sig.signal());
                }
                if (!(e instanceof Launcher.MasterMsg(Map<String, String> m))) continue;
                switch (m.get("cmd")) {
                    case "fs_start" -> {
                        int attempt = Integer.parseInt(m.get("attempt"));
                        WorkerGroup g = new WorkerGroup(spec, attempt, console);
                        group = g;
                        g.start();
                        waiter = new Thread(() -> {
                            try {
                                WorkerGroup.Outcome o = g.await();
                                PmiServer.send(out, encodeResult(attempt, o.failure()));
                            } catch (InterruptedException | IOException ignored) { }
                        }, "local-ranks");
                        waiter.setDaemon(true);
                        waiter.start();
                    }
                    case "fs_dump" -> { if (group != null) group.dumpThreads(); }
                    case "fs_stop" -> {
                        if (group != null && "1".equals(m.get("failure"))) group.requestFailureStop();
                        else if (group != null) group.requestStop(m.getOrDefault("signal", "TERM"));
                    }
                    case "fs_finish" -> {
                        if (waiter != null) waiter.join();
                        return Integer.parseInt(m.getOrDefault("rc", "1"));
                    }
                    case "fs_lost" -> {
                        say("lost the connection to the master: stopping local ranks");
                        if (group != null) { group.requestFailureStop(); waiter.join(); }
                        return 1;
                    }
                    default -> say("ignoring unknown message from the master: " + m.get("cmd"));
                }
            }
        }
    }

    private Socket connectWithRetry() throws InterruptedException {
        long deadline = System.nanoTime() + (long) (spec.joinTimeout() * 1e9);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return Launcher.connect(spec.masterAddr(), spec.masterPort(), 2000);
            } catch (IOException e) {
                last = e;
                Thread.sleep(200);
            }
        }
        say("error: could not reach the master at " + spec.masterAddr() + ":" + spec.masterPort() + " within "
                + spec.joinTimeout() + " s" + (last != null ? " (" + last.getMessage() + ")" : ""));
        return null;
    }

    static String encodeResult(int attempt, Failure f) {
        if (f == null) return "cmd=fs_result attempt=" + attempt + " ok=1";
        String tail = String.join("\n", f.logTail());
        if (tail.length() > 1800) tail = tail.substring(tail.length() - 1800);
        String err = f.errorFile() == null ? "" : f.errorFile().length() > 400 ? f.errorFile().substring(0, 400) : f.errorFile();
        return "cmd=fs_result attempt=" + attempt + " ok=0 rank=" + f.rank() + " local=" + f.localRank() + " node="
                + f.nodeRank() + " code=" + f.exitCode() + " host=" + Launcher.b64(f.host()) + " log="
                + Launcher.b64(f.logPath() == null ? "" : f.logPath()) + " tail=" + Launcher.b64(tail) + " err=" + Launcher.b64(err)
                + " note=" + Launcher.b64(f.note() == null ? "" : f.note()) + " notstarted=" + (f.notStarted() ? 1 : 0);
    }

    static Failure decodeFailure(Map<String, String> r) {
        if ("1".equals(r.get("ok"))) return null;
        String tail = Launcher.unb64(r.getOrDefault("tail", ""));
        String err = Launcher.unb64(r.getOrDefault("err", ""));
        String log = Launcher.unb64(r.getOrDefault("log", ""));
        String note = Launcher.unb64(r.getOrDefault("note", ""));
        return new Failure(Instant.now(), Launcher.unb64(r.getOrDefault("host", "")), Integer.parseInt(r.get("node")),
                Integer.parseInt(r.get("rank")), Integer.parseInt(r.get("local")), Integer.parseInt(r.get("code")),
                log.isEmpty() ? null : log, tail.isEmpty() ? List.of() : Arrays.asList(tail.split("\n")),
                err.isEmpty() ? null : err, note.isEmpty() ? null : note, "1".equals(r.get("notstarted")));
    }
}
