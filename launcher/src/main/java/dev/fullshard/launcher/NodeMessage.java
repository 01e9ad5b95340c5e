package dev.fullshard.launcher;

import dev.fullshard.launcher.PmiMessage.ProtocolException;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A message on the node channel between the master launcher and a node launcher: one PMI-style line of
 * {@code key=value} pairs (see {@link PmiMessage}), as it shares the master's PMI port. This is the one place
 * that knows how each message is written; {@link #encode} and {@link #decode} are inverses.
 *
 * <p>Node → master: {@link Join}, then one {@link Result} per attempt. Master → node: {@link Welcome} or
 * {@link Refused}, then {@link Start}, {@link DumpThreads}, {@link StopAfterFailure}, {@link ForwardSignal} and
 * finally {@link Finish}. Both ways, every {@code --heartbeat-interval}: {@link Heartbeat}.
 */
sealed interface NodeMessage {
    /** A node launcher asks to join; {@code host} is only shown ("?" when it sent none). */
    record Join(String secret, int node, int nproc, String host) implements NodeMessage {
        static final String COMMAND = "fs_join";

        /** The secret of a join message, checked before the rest of it is read. */
        static String secret(Map<String, String> fields) { return fields.getOrDefault("secret", ""); }
    }

    record Welcome() implements NodeMessage { }

    /** The master turned a node launcher away; {@code reason} is one word, e.g. {@code wrong_secret}. */
    record Refused(String reason) implements NodeMessage { }

    record Start(int attempt) implements NodeMessage { }

    /** The hang watchdog fired: thread dumps of the JVM ranks into their logs. */
    record DumpThreads() implements NodeMessage { }

    /** A rank failed or hung somewhere: stop the local ranks with the failure grace period. */
    record StopAfterFailure() implements NodeMessage { }

    /** The master got a signal (short name, e.g. {@code TERM}): forward it to the local ranks. */
    record ForwardSignal(String signal) implements NodeMessage { }

    /** The run is over: the node launcher exits with {@code exitCode}. */
    record Finish(int exitCode) implements NodeMessage { }

    /**
     * How an attempt ended on a node: {@code failure} null when every local rank exited 0. The log tail and
     * error file are cut to keep the line under {@link PmiMessage#MAX_LINE}; the failure's time is when it arrives.
     */
    record Result(int attempt, Failure failure) implements NodeMessage {
        private static final int MAX_TAIL = 1800, MAX_ERROR_FILE = 400;
    }

    /** I am still here: a peer silent for {@code --node-timeout} is lost (see {@link KeepAlive}). */
    record Heartbeat() implements NodeMessage { }

    /** A message this launcher does not know (a newer peer's): receivers ignore it. */
    record Unknown(Map<String, String> fields) implements NodeMessage {
        String command() { return fields.get("cmd"); }
    }

    /** The line to send, without the newline. */
    default String encode() {
        return switch (this) {
            case Join j -> "cmd=" + Join.COMMAND + " secret=" + j.secret() + " node=" + j.node() + " nproc=" + j.nproc()
                    + " host=" + j.host();
            case Welcome _ -> "cmd=fs_welcome";
            case Refused r -> "cmd=fs_refused msg=" + r.reason();
            case Start s -> "cmd=fs_start attempt=" + s.attempt();
            case DumpThreads _ -> "cmd=fs_dump";
            case StopAfterFailure _ -> "cmd=fs_stop failure=1";
            case ForwardSignal f -> "cmd=fs_stop signal=" + f.signal();
            case Finish f -> "cmd=fs_finish rc=" + f.exitCode();
            case Heartbeat _ -> "cmd=fs_heartbeat";
            case Result r when r.failure() == null -> "cmd=fs_result attempt=" + r.attempt() + " ok=1";
            case Result r -> "cmd=fs_result attempt=" + r.attempt() + " ok=0 " + encode(r.failure());
            case Unknown u -> {
                StringBuilder b = new StringBuilder("cmd=").append(u.command());
                u.fields().forEach((k, v) -> { if (!k.equals("cmd")) b.append(' ').append(k).append('=').append(v); });
                yield b.toString();
            }
        };
    }

    private static String encode(Failure f) {
        String tail = String.join("\n", f.logTail());
        if (tail.length() > Result.MAX_TAIL) tail = tail.substring(tail.length() - Result.MAX_TAIL);
        String err = f.errorFile() == null ? "" : f.errorFile().length() > Result.MAX_ERROR_FILE
                ? f.errorFile().substring(0, Result.MAX_ERROR_FILE) : f.errorFile();
        return "rank=" + f.rank() + " local=" + f.localRank() + " node=" + f.nodeRank() + " code=" + f.exitCode() + " host="
                + b64(f.host()) + " log=" + b64(orEmpty(f.logPath())) + " tail=" + b64(tail) + " err=" + b64(err) + " note="
                + b64(orEmpty(f.note())) + " notstarted=" + (f.notStarted() ? 1 : 0);
    }

    /** The message on {@code line}; a line that is not one says which and why. */
    static NodeMessage decode(String line) throws ProtocolException {
        Map<String, String> fields;
        try {
            fields = PmiMessage.parse(line);
        } catch (ProtocolException e) {
            throw new ProtocolException("malformed node channel message (" + e.getMessage() + "): " + line);
        }
        return decode(fields);
    }

    /** The message whose fields {@link PmiMessage#parse} read. */
    static NodeMessage decode(Map<String, String> fields) throws ProtocolException {
        Fields m = new Fields(fields);
        return switch (fields.get("cmd")) {
            case Join.COMMAND -> new Join(Join.secret(fields), m.integer("node"), m.integer("nproc"), fields.getOrDefault("host", "?"));
            case "fs_welcome" -> new Welcome();
            case "fs_refused" -> new Refused(fields.getOrDefault("msg", ""));
            case "fs_start" -> new Start(m.integer("attempt"));
            case "fs_dump" -> new DumpThreads();
            case "fs_stop" -> "1".equals(fields.get("failure")) ? new StopAfterFailure()
                    : new ForwardSignal(fields.getOrDefault("signal", "TERM"));
            case "fs_finish" -> new Finish(fields.containsKey("rc") ? m.integer("rc") : 1);
            case "fs_heartbeat" -> new Heartbeat();
            case "fs_result" -> new Result(m.integer("attempt"), "1".equals(fields.get("ok")) ? null : failure(m));
            default -> new Unknown(fields);
        };
    }

    private static Failure failure(Fields m) throws ProtocolException {
        String tail = m.text("tail"), err = m.text("err"), log = m.text("log"), note = m.text("note");
        return new Failure(Instant.now(), m.text("host"), m.integer("node"), m.integer("rank"), m.integer("local"),
                m.integer("code"), log.isEmpty() ? null : log, tail.isEmpty() ? List.of() : Arrays.asList(tail.split("\n")),
                err.isEmpty() ? null : err, note.isEmpty() ? null : note, "1".equals(m.fields().get("notstarted")));
    }

    /** Typed reads of a message's fields, failing with the command, the key and the value. */
    record Fields(Map<String, String> fields) {
        int integer(String key) throws ProtocolException {
            String v = fields.get(key);
            try {
                return Integer.parseInt(v == null ? "" : v);
            } catch (NumberFormatException e) {
                throw new ProtocolException("malformed node channel message " + fields.get("cmd") + ": " + key + "="
                        + (v == null ? " is missing" : v + " is not a whole number"));
            }
        }

        /** A free-text field, sent base64url-encoded as values cannot hold spaces. */
        String text(String key) throws ProtocolException {
            try {
                return new String(Base64.getUrlDecoder().decode(fields.getOrDefault(key, "")), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ProtocolException("malformed node channel message " + fields.get("cmd") + ": " + key
                        + " is not base64url (" + e.getMessage() + ")");
            }
        }
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String orEmpty(String s) { return s == null ? "" : s; }
}
