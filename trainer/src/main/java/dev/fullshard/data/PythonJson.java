package dev.fullshard.data;

import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps(value, ensure_ascii=False, indent=...)} writes it, which
 * is what chat templates' {@code tojson} produces in {@code transformers}: {@code ", "} and {@code ": "}
 * between items without an indent, one item per line with one. Tool schemas rendered into a prompt must
 * be the same characters, or the model is trained on other tokens than it is asked with.
 */
final class PythonJson {
    private PythonJson() {
    }

    /** {@code indent} < 0: on one line. */
    static String dumps(Object value, int indent) {
        StringBuilder out = new StringBuilder();
        write(value, indent, 0, out);
        return out.toString();
    }

    private static void write(Object value, int indent, int depth, StringBuilder out) {
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
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    separate(first, indent, depth + 1, out);
                    first = false;
                    string(String.valueOf(e.getKey()), out);
                    out.append(": ");
                    write(e.getValue(), indent, depth + 1, out);
                }
                close(indent, depth, out).append('}');
            }
            case Iterable<?> list -> {
                if (!list.iterator().hasNext()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    separate(first, indent, depth + 1, out);
                    first = false;
                    write(item, indent, depth + 1, out);
                }
                close(indent, depth, out).append(']');
            }
            default -> string(value.toString(), out);
        }
    }

    private static void separate(boolean first, int indent, int depth, StringBuilder out) {
        if (indent < 0) {
            if (!first) out.append(", ");
            return;
        }
        if (!first) out.append(',');
        out.append('\n').append(" ".repeat(indent * depth));
    }

    private static StringBuilder close(int indent, int depth, StringBuilder out) {
        if (indent >= 0) out.append('\n').append(" ".repeat(indent * depth));
        return out;
    }

    private static void string(String s, StringBuilder out) {
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
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
