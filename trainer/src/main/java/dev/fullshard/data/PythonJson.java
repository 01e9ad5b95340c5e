package dev.fullshard.data;

import java.util.Map;
import java.util.TreeMap;

/**
 * JSON text exactly as Python's {@code json.dumps(value, ensure_ascii=..., indent=..., sort_keys=...)} writes it, which
 * is what chat templates' {@code tojson} produces in {@code transformers}: {@code ", "} and {@code ": "}
 * between items without an indent, one item per line with one. Tool schemas rendered into a prompt must
 * be the same characters, or the model is trained on other tokens than it is asked with.
 */
final class PythonJson {
    /** {@code indent} < 0: on one line; {@code ascii}: characters above 127 as \\uXXXX; {@code sortKeys}: object keys sorted. */
    static String dumps(Object value, int indent, boolean ascii, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        new PythonJson(indent, ascii, sortKeys).write(value, 0, out);
        return out.toString();
    }

    private final int indent;
    private final boolean ascii, sortKeys;

    private PythonJson(int indent, boolean ascii, boolean sortKeys) {
        this.indent = indent;
        this.ascii = ascii;
        this.sortKeys = sortKeys;
    }

    private void write(Object value, int depth, StringBuilder out) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(s, out);
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d when d.isNaN() -> out.append("NaN");
            case Double d when d.isInfinite() -> out.append(d > 0 ? "Infinity" : "-Infinity");
            case Number n -> out.append(n);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append('{');
                boolean first = true;
                Map<?, ?> ordered = sortKeys ? new TreeMap<>(map) : map;
                for (Map.Entry<?, ?> e : ordered.entrySet()) {
                    separate(first, depth + 1, out);
                    first = false;
                    string(String.valueOf(e.getKey()), out);
                    out.append(": ");
                    write(e.getValue(), depth + 1, out);
                }
                close(depth, out).append('}');
            }
            case Iterable<?> list -> {
                if (!list.iterator().hasNext()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    separate(first, depth + 1, out);
                    first = false;
                    write(item, depth + 1, out);
                }
                close(depth, out).append(']');
            }
            default -> string(value.toString(), out);
        }
    }

    private void separate(boolean first, int depth, StringBuilder out) {
        if (indent < 0) {
            if (!first) out.append(", ");
            return;
        }
        if (!first) out.append(',');
        out.append('\n').append(" ".repeat(indent * depth));
    }

    private StringBuilder close(int depth, StringBuilder out) {
        if (indent >= 0) out.append('\n').append(" ".repeat(indent * depth));
        return out;
    }

    private void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || ascii && c > 0x7f) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
