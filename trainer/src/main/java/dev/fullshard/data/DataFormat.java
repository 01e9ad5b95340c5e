package dev.fullshard.data;

import java.util.Arrays;
import java.util.Locale;

/** The JSONL layouts fullshard trains on; every line is one JSON object. */
public enum DataFormat {
    /** {@code {"text": ...}}: every token is a target. */
    TEXT,
    /** {@code {"instruction": ..., "input": ... (optional), "output": ...}}: loss only on the output. */
    INSTRUCTION,
    /** {@code {"messages": [{"role": "system|user|assistant", "content": ...}, ...]}}: loss only on assistant turns. */
    CHAT;

    /** "text", "instruction" or "chat". */
    public static DataFormat parse(String name) {
        for (DataFormat f : values()) if (f.name().equalsIgnoreCase(name)) return f;
        throw new IllegalArgumentException("unknown data format \"" + name + "\": expected one of "
                + Arrays.stream(values()).map(f -> f.name().toLowerCase(Locale.ROOT)).toList());
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
