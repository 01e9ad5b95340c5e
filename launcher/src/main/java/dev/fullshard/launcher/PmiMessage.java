package dev.fullshard.launcher;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One line of the PMI-1 "simple" wire protocol: {@code cmd=get kvsname=k key=x}, bounded in size. */
final class PmiMessage {
    static final int MAX_LINE = 4096;

    private PmiMessage() {}

    static final class ProtocolException extends IOException {
        ProtocolException(String msg) { super(msg); }
    }

    /** Reads one line (without the newline); null at end of stream; throws when longer than {@link #MAX_LINE}. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(128);
        while (true) {
            int b = in.read();
            if (b < 0) return buf.size() == 0 ? null : buf.toString(StandardCharsets.UTF_8);
            if (b == '\n') return buf.toString(StandardCharsets.UTF_8);
            if (buf.size() >= MAX_LINE) throw new ProtocolException("line_too_long");
            buf.write(b);
        }
    }

    /** Parses space separated key=value pairs; the first must be cmd=... . */
    static Map<String, String> parse(String line) throws ProtocolException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String tok : line.strip().split(" +")) {
            if (tok.isEmpty()) continue;
            int eq = tok.indexOf('=');
            if (eq <= 0) throw new ProtocolException("malformed_token");
            m.put(tok.substring(0, eq), tok.substring(eq + 1));
        }
        if (!m.containsKey("cmd")) throw new ProtocolException("missing_cmd");
        return m;
    }
}
