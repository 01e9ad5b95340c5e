package dev.fullshard.tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of an ATen schema such as {@code aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt?
 * start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)}, read once per operator so that
 * {@link Dispatch} knows how many stack slots a call takes, which of them are optional, and the
 * stack value of each default it can fill in itself.
 *
 * <p>Only defaults whose stack value is a plain number are fillable: None (a null optional), False,
 * True, integers and floats. Others (lists such as {@code []}, enum names such as
 * {@code contiguous_format}) must be passed by the caller.
 */
record OpSchema(String name, String overload, List<Arg> args) {
    /** One schema argument; {@code fillable} says whether {@code defaultValue} is its stack value. */
    record Arg(String type, String name, boolean optional, boolean fillable, long defaultValue) {
    }

    static OpSchema parse(String schema) {
        int open = schema.indexOf('('), close = open < 0 ? -1 : matchingParenthesis(schema, open);
        if (close < 0 || !schema.startsWith("aten::") || !schema.substring(close + 1).strip().startsWith("->")) {
            throw new IllegalArgumentException("not an ATen schema: " + schema);
        }
        String qualified = schema.substring(0, open).strip();
        int dot = qualified.indexOf('.');
        String name = dot < 0 ? qualified : qualified.substring(0, dot);
        String overload = dot < 0 ? "" : qualified.substring(dot + 1);
        List<Arg> args = new ArrayList<>();
        for (String text : splitTopLevel(schema.substring(open + 1, close))) {
            if (text.equals("*")) continue; // keyword-only marker: the stack is positional all the same
            args.add(parseArg(text, schema));
        }
        return new OpSchema(name, overload, List.copyOf(args));
    }

    private static Arg parseArg(String text, String schema) {
        int eq = text.indexOf('=');
        String declaration = (eq < 0 ? text : text.substring(0, eq)).strip();
        int space = declaration.lastIndexOf(' ');
        if (space < 0) throw new IllegalArgumentException("argument without a name: '" + text + "' in " + schema);
        String type = declaration.substring(0, space).strip(), argName = declaration.substring(space + 1);
        // "Tensor(a!)?" is not a form ATen uses; the '?' that makes an argument optional ends its type.
        boolean optional = type.endsWith("?");
        if (eq < 0) return new Arg(type, argName, optional, false, 0);
        String value = text.substring(eq + 1).strip();
        Long encoded = encodeDefault(type, value);
        return new Arg(type, argName, optional, encoded != null, encoded == null ? 0 : encoded);
    }

    /** The stack value of a default, or null where the caller must pass the argument. */
    private static Long encodeDefault(String type, String value) {
        if (value.equals("None")) return 0L;
        if (type.endsWith("?")) return null; // a present optional is a boxed cell, made per call
        if (value.equals("False")) return 0L;
        if (value.equals("True")) return 1L;
        if (type.equals("float")) return Double.doubleToRawLongBits(Double.parseDouble(value));
        if (type.equals("int") || type.equals("SymInt")) return Long.parseLong(value);
        return null;
    }

    /** The index of the ')' closing the '(' at {@code open} (aliases such as {@code Tensor(a -> *)} nest), or -1. */
    private static int matchingParenthesis(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            if (s.charAt(i) == '(') depth++;
            else if (s.charAt(i) == ')' && --depth == 0) return i;
        }
        return -1;
    }

    /** Splits on commas outside brackets (so {@code int[2] x=[0, 1]} stays whole). */
    private static List<String> splitTopLevel(String list) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == '(' || c == '[') depth++;
            else if (c == ')' || c == ']') depth--;
            else if (c == ',' && depth == 0) {
                parts.add(list.substring(start, i).strip());
                start = i + 1;
            }
        }
        String last = list.substring(start).strip();
        if (!last.isEmpty()) parts.add(last);
        return parts;
    }
}
