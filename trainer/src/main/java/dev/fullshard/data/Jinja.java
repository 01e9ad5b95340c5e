package dev.fullshard.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HubSpot's jinjava, set up to render Hugging Face chat templates as {@code transformers} does (Jinja2
 * with {@code trim_blocks}, {@code lstrip_blocks} and loop controls). What jinjava lacks, and the
 * templates of Llama, Qwen and Mistral use, is added here:
 * <ul>
 *   <li>Python's string methods ({@code strip}, {@code split}, {@code startswith}, ...) and dict methods
 *       ({@code items}, {@code keys}, {@code values}); a Java {@code String.split} would take a regex and
 *       drop trailing empty parts;</li>
 *   <li>{@code tojson} as Python's {@code json.dumps(ensure_ascii=False)} writes it (see {@link PythonJson});</li>
 *   <li>{@code raise_exception(message)}, with which templates reject a conversation;</li>
 *   <li>{@code {% generation %}...{% endgeneration %}}, which marks what the assistant says (TRL's
 *       convention): its output is wrapped in {@link #GENERATION_START} and {@link #GENERATION_END};</li>
 *   <li>the tests {@code iterable}, {@code sequence} and {@code mapping} as Python means them (a string is
 *       iterable), the {@code items} filter, and booleans printed as {@code True} and {@code False};</li>
 *   <li>rewrites of the source where jinjava's parser reads Jinja2 otherwise: {@code x[::-1]} becomes
 *       {@code x|reverse|list}; a keyword argument's value is parenthesised, since jinjava parses
 *       {@code namespace(i=messages|length - 1)} as {@code (i=messages|length) - 1}; {@code not x is defined}
 *       becomes {@code not (x is defined)}; and {@code lstrip_blocks} is applied here, as Jinja2 does it
 *       (only whitespace between the start of a line and a block, and not before {@code {%+}).</li>
 * </ul>
 * Nested interpretation is off, so text in a message that looks like template code stays text.
 * {@code strftime_now} is deliberately not defined: templates then take their fixed fallback date, so that
 * the same data gives the same tokens on every day (a resumed run must see the tokens it started with).
 */
final class Jinja {
    /** Private-use characters around a {@code {% generation %}} block's output; input text must not contain them. */
    static final char GENERATION_START = '\uE000', GENERATION_END = '\uE001';

    private final Jinjava jinjava;

    Jinja() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        // lstrip_blocks is done in rewrite(): jinjava's also strips whitespace in the middle of a line.
        // Nested interpretation off: text in a message that looks like {{ ... }} must stay text, never run.
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true).withLstripBlocks(false).withElResolver(resolver)
                .withNestedInterpretationEnabled(false)
                .withEnableRecursiveMacroCalls(true)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true).build())
                .build();
        jinjava = new Jinjava(config);
        Context global = jinjava.getGlobalContext();
        global.registerFilter(new ToJson());
        global.registerFilter(new Items());
        global.registerTag(new Generation());
        global.registerExpTest(new PythonTest("iterable", v -> v instanceof String || v instanceof Iterable<?> || v instanceof Map<?, ?>));
        global.registerExpTest(new PythonTest("sequence", v -> v instanceof String || v instanceof List<?> || v instanceof Map<?, ?>));
        global.registerExpTest(new PythonTest("mapping", v -> v instanceof Map<?, ?>));
        try {
            Method raise = Jinja.class.getDeclaredMethod("raiseException", String.class);
            raise.setAccessible(true); // this class is not public
            global.registerFunction(new ELFunctionDefinition("", "raise_exception", raise));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A parsed template, rendered many times. */
    final class Template {
        private final Node root;
        private final String name;

        private Template(Node root, String name) {
            this.root = root;
            this.name = name;
        }

        /** The output for these variables; a template error or a {@code raise_exception} is thrown as {@link TemplateException}. */
        String render(Map<String, Object> variables) {
            JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava, new Context(jinjava.getGlobalContext(), variables),
                    jinjava.getGlobalConfig()) {
                @Override
                public String getAsString(Object value) {
                    return value instanceof Boolean b ? (b ? "True" : "False") : super.getAsString(value);
                }
            };
            JinjavaInterpreter.pushCurrent(interpreter);
            try {
                String out = interpreter.render(root);
                fail(interpreter.getErrors(), name);
                return out;
            } finally {
                JinjavaInterpreter.popCurrent();
            }
        }
    }

    /** Parses {@code source}; {@code name} says where it came from, in errors. */
    Template parse(String source, String name) {
        JinjavaInterpreter interpreter = jinjava.newInterpreter();
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            // Jinja2 (keep_trailing_newline off) drops one newline at the end of a template file.
            String body = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
            Node root = interpreter.parse(rewrite(body));
            fail(interpreter.getErrors(), name);
            return new Template(root, name);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    static final class TemplateException extends IllegalArgumentException {
        TemplateException(String message) {
            super(message);
        }
    }

    private static void fail(List<TemplateError> errors, String name) {
        for (TemplateError e : errors) {
            if (e.getSeverity() != TemplateError.ErrorType.FATAL) continue;
            Throwable cause = e.getException();
            while (cause != null && !(cause instanceof Raised)) cause = cause.getCause();
            if (cause != null) throw new TemplateException("the chat template " + name + " rejected the conversation: " + cause.getMessage());
            throw new TemplateException("the chat template " + name + (e.getLineno() > 0 ? " line " + e.getLineno() : "") + ": "
                    + e.getMessage());
        }
    }

    /** What {@code raise_exception} throws: the template's own message, passed through jinjava's error list. */
    private static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }

    static String raiseException(String message) {
        throw new Raised(message);
    }

    // ---------------------------------------------------------------- source rewrites

    /**
     * Applies the two rewrites of the class comment inside {@code {{ }}} and {@code {% %}} only, skipping
     * string literals.
     */
    static String rewrite(String source) {
        StringBuilder out = new StringBuilder(source.length() + 64);
        int i = 0, n = source.length();
        while (i < n) {
            int open = nextTag(source, i);
            if (open < 0) {
                out.append(source, i, n);
                break;
            }
            char kind = source.charAt(open + 1);
            boolean keepSpace = open + 2 < n && source.charAt(open + 2) == '+';
            int textEnd = open;
            if (kind != '{' && !keepSpace) {
                // lstrip_blocks: spaces and tabs from the start of a line (in the source) up to a block or comment.
                int cut = open;
                while (cut > i && (source.charAt(cut - 1) == ' ' || source.charAt(cut - 1) == '\t')) cut--;
                if (cut == 0 || cut > i && source.charAt(cut - 1) == '\n' || cut == i && i == 0) textEnd = cut;
            }
            out.append(source, i, textEnd).append(source, open, open + 2);
            int body = open + 2 + (keepSpace ? 1 : 0);
            if (kind == '#') {
                int end = source.indexOf("#}", body);
                end = end < 0 ? n : end + 2;
                out.append(source, body, end);
                i = end;
            } else {
                i = rewriteCode(source, body, kind == '{' ? "}}" : "%}", out);
            }
        }
        return out.toString();
    }

    private static int nextTag(String s, int from) {
        int best = -1;
        for (String open : new String[] {"{{", "{%", "{#"}) {
            int at = s.indexOf(open, from);
            if (at >= 0 && (best < 0 || at < best)) best = at;
        }
        return best;
    }

    /** Jinja2 reads {@code not x is defined} as {@code not (x is defined)}; jinjava as {@code (not x) is defined}. */
    private static final Pattern NOT_IS = Pattern.compile("not\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*\\])*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)");

    /** Copies one code region up to and including {@code close}, rewriting it; returns the index after it. */
    private static int rewriteCode(String s, int i, String close, StringBuilder out) {
        // Per open bracket: whether a keyword argument's value is open (and so needs its ')').
        List<Boolean> kwargOpen = new ArrayList<>();
        List<Character> brackets = new ArrayList<>();
        boolean argStart = false;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (s.startsWith(close, i) && brackets.isEmpty()) {
                out.append(close);
                return i + close.length();
            }
            if (c == '\'' || c == '"') {
                int end = i + 1;
                while (end < n && s.charAt(end) != c) end += s.charAt(end) == '\\' ? 2 : 1;
                end = Math.min(end + 1, n);
                out.append(s, i, end);
                i = end;
                argStart = false;
                continue;
            }
            if (s.startsWith("not", i) && (i == 0 || !Character.isJavaIdentifierPart(s.charAt(i - 1)))) {
                Matcher m = NOT_IS.matcher(s).region(i, n);
                if (m.lookingAt()) {
                    out.append("not (").append(m.group(1)).append(" is ").append(m.group(2) == null ? "" : "not ").append(m.group(3)).append(')');
                    i = m.end();
                    argStart = false;
                    continue;
                }
            }
            if (s.startsWith("[::-1]", i)) {
                out.append("|reverse|list");
                i += 6;
                continue;
            }
            if (argStart && Character.isJavaIdentifierStart(c)) {
                int end = i;
                while (end < n && Character.isJavaIdentifierPart(s.charAt(end))) end++;
                int eq = end;
                while (eq < n && s.charAt(eq) == ' ') eq++;
                if (eq + 1 < n && s.charAt(eq) == '=' && s.charAt(eq + 1) != '=') {
                    out.append(s, i, eq + 1).append('(');
                    kwargOpen.set(kwargOpen.size() - 1, true);
                    i = eq + 1;
                    argStart = false;
                    continue;
                }
            }
            if (c == '(' || c == '[' || c == '{') {
                brackets.add(c);
                kwargOpen.add(false);
                argStart = c == '(';
            } else if ((c == ')' || c == ']' || c == '}') && !brackets.isEmpty()) {
                if (kwargOpen.removeLast()) out.append(')');
                brackets.removeLast();
                argStart = false;
            } else if (c == ',' && !brackets.isEmpty()) {
                if (kwargOpen.getLast()) {
                    out.append(')');
                    kwargOpen.set(kwargOpen.size() - 1, false);
                }
                argStart = brackets.getLast() == '(';
            } else if (!Character.isWhitespace(c)) {
                argStart = false;
            }
            out.append(c);
            i++;
        }
        return n;
    }

    // ---------------------------------------------------------------- additions

    /** Python's str and dict methods on Java strings and maps; anything else falls through to jinjava. */
    static final class PythonMethods extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            Object result = null;
            if (base instanceof String s) result = stringMethod(s, String.valueOf(method), params == null ? new Object[0] : params);
            else if (base instanceof Map<?, ?> m) result = dictMethod(m, String.valueOf(method));
            if (result != null) context.setPropertyResolved(true);
            return result;
        }

        private static Object stringMethod(String s, String method, Object[] p) {
            return switch (method) {
                case "strip" -> strip(s, chars(p), true, true);
                case "lstrip" -> strip(s, chars(p), true, false);
                case "rstrip" -> strip(s, chars(p), false, true);
                case "startswith" -> p.length == 1 ? affixes(p[0]).stream().anyMatch(s::startsWith) : null;
                case "endswith" -> p.length == 1 ? affixes(p[0]).stream().anyMatch(s::endsWith) : null;
                case "split" -> p.length == 0 || p[0] == null ? splitWhitespace(s)
                        : p[0] instanceof String sep && !sep.isEmpty() ? split(s, sep, p.length > 1 ? ((Number) p[1]).intValue() : -1) : null;
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "count" -> p.length == 1 && p[0] instanceof String x && !x.isEmpty() ? (long) (split(s, x, -1).size() - 1) : null;
                case "replace" -> p.length == 2 ? s.replace(String.valueOf(p[0]), String.valueOf(p[1])) : null;
                case "find" -> p.length == 1 ? (long) s.indexOf(String.valueOf(p[0])) : null;
                case "join" -> p.length == 1 && p[0] instanceof Iterable<?> parts ? join(s, parts) : null;
                default -> null;
            };
        }

        static Object dictMethod(Map<?, ?> m, String method) {
            return switch (method) {
                case "items" -> {
                    List<List<Object>> items = new ArrayList<>();
                    m.forEach((k, v) -> items.add(java.util.Arrays.asList(k, v)));
                    yield items;
                }
                case "keys" -> new ArrayList<>(m.keySet());
                case "values" -> new ArrayList<>(m.values());
                default -> null;
            };
        }

        private static String chars(Object[] p) {
            return p.length > 0 && p[0] != null ? String.valueOf(p[0]) : null;
        }

        /** Python's strip: whitespace, or any of {@code chars}. */
        static String strip(String s, String chars, boolean left, boolean right) {
            int a = 0, b = s.length();
            while (left && a < b && stripped(s.charAt(a), chars)) a++;
            while (right && b > a && stripped(s.charAt(b - 1), chars)) b--;
            return s.substring(a, b);
        }

        private static boolean stripped(char c, String chars) {
            return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
        }

        /** A string, or Python's tuple of strings (a list here). */
        private static List<String> affixes(Object p) {
            if (p instanceof String x) return List.of(x);
            List<String> out = new ArrayList<>();
            if (p instanceof Iterable<?> items) for (Object item : items) out.add(String.valueOf(item));
            return out;
        }

        private static String title(String s) {
            StringBuilder b = new StringBuilder(s.length());
            boolean previousLetter = false;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                b.append(previousLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
                previousLetter = Character.isLetter(c);
            }
            return b.toString();
        }

        /** Python's {@code s.split(separator, maxsplit)}; {@code maxsplit} < 0: no limit. */
        static List<String> split(String s, String separator, int maxsplit) {
            List<String> parts = new ArrayList<>();
            int from = 0, at;
            while ((maxsplit < 0 || parts.size() < maxsplit) && (at = s.indexOf(separator, from)) >= 0) {
                parts.add(s.substring(from, at));
                from = at + separator.length();
            }
            parts.add(s.substring(from));
            return parts;
        }

        private static List<String> splitWhitespace(String s) {
            List<String> parts = new ArrayList<>();
            for (String part : s.strip().split("\\s+")) if (!part.isEmpty()) parts.add(part);
            return parts;
        }

        private static String join(String separator, Iterable<?> parts) {
            StringBuilder b = new StringBuilder();
            boolean first = true;
            for (Object part : parts) {
                if (!first) b.append(separator);
                first = false;
                b.append(part);
            }
            return b.toString();
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return false;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }

    /** {@code tojson}, {@code tojson(indent=N)}: as {@code transformers}' own filter, which calls {@code json.dumps}. */
    private static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
            return filter(value, interpreter, args, Map.of());
        }

        /** {@code transformers}' signature: {@code tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object ascii = kwargs.getOrDefault("ensure_ascii", args.length > 0 ? args[0] : null);
            Object indent = kwargs.getOrDefault("indent", args.length > 1 ? args[1] : null);
            Object sort = kwargs.getOrDefault("sort_keys", args.length > 3 ? args[3] : null);
            return PythonJson.dumps(value, indent == null ? -1 : ((Number) indent).intValue(), truthy(ascii), truthy(sort));
        }

        private static boolean truthy(Object v) {
            return v instanceof Boolean b ? b : v != null && Boolean.parseBoolean(String.valueOf(v));
        }
    }

    /** Jinja2's {@code items} filter: a mapping's (key, value) pairs. */
    private static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
            return value instanceof Map<?, ?> m ? PythonMethods.dictMethod(m, "items") : List.of();
        }
    }

    /** A Jinja2 test by Python's meaning of the word, replacing jinjava's. */
    private record PythonTest(String name, Predicate<Object> test) implements ExpTest {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public boolean evaluate(Object value, JinjavaInterpreter interpreter, Object... args) {
            return test.test(value);
        }
    }

    /** TRL's {@code {% generation %}}: the block's output, wrapped in the two marker characters. */
    private static final class Generation implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tag, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder().append(GENERATION_START);
            for (Node child : tag.getChildren()) out.append(child.render(interpreter).getValue());
            return out.append(GENERATION_END).toString();
        }
    }
}
