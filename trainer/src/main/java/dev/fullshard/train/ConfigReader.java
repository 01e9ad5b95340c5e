package dev.fullshard.train;

import com.fasterxml.jackson.core.JsonToken;
import dev.fullshard.config.Key;
import dev.fullshard.config.ValueType;
import dev.fullshard.train.ConfigKeys.Setting;
import dev.fullshard.train.YamlTree.Field;
import dev.fullshard.train.YamlTree.Loc;
import dev.fullshard.train.YamlTree.MapNode;
import dev.fullshard.train.YamlTree.Node;
import dev.fullshard.train.YamlTree.Scalar;
import dev.fullshard.train.YamlTree.SeqNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoublePredicate;
import java.util.function.BiFunction;
import java.util.regex.Pattern;

/**
 * Typed reads from a {@link YamlTree} that never throw: each problem is recorded with the key, where it
 * is and what was expected, the default is returned, and reading goes on, so one run reports every
 * problem in the file rather than one per attempt.
 */
final class ConfigReader {
    /** Plain decimal numbers only: "NaN", "Infinity" or "0x10" as a learning rate are mistakes. */
    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?");
    private static final Pattern INTEGER = Pattern.compile("[-+]?\\d+");

    private final Path file;
    private final Path baseDir;
    private final List<String> problems = new ArrayList<>();

    ConfigReader(Path file) {
        this.file = file;
        Path parent = file.toAbsolutePath().normalize().getParent();
        this.baseDir = parent != null ? parent : Path.of("").toAbsolutePath();
    }

    List<String> problems() {
        return problems;
    }

    Path file() {
        return file;
    }

    /** Records "FILE:LINE:COL: KEY: WHAT", or "FILE: override K=V: WHAT" when an override set the value. */
    void problem(Loc loc, String key, String what) {
        if (loc.override() != null) {
            boolean sameKey = loc.override().startsWith(key + "=");
            problems.add(file + ": override " + loc.override() + ": " + (sameKey ? "" : key + ": ") + what);
        } else {
            problems.add(file + ":" + loc.line() + ":" + loc.column() + ": " + key + ": " + what);
        }
    }

    /** A path from the config: "~/" is the home folder, relative paths resolve against the YAML's folder. */
    Path resolve(String text) {
        if (text.equals("~") || text.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + text.substring(1)).normalize();
        }
        return baseDir.resolve(text).normalize();
    }

    /** One mapping of the config; {@link ConfigKeys} says which keys it allows. Unknown keys are reported when it is opened. */
    final class Section {
        private final String name;
        private final Map<String, Field> fields;
        private final Loc loc;

        Section(String name, Node node, Loc fallback) {
            this.name = name;
            List<String> allowed = ConfigKeys.SCHEMA.get(name);
            if (node instanceof MapNode m) {
                this.fields = m.fields();
                this.loc = m.loc();
            } else {
                if (node != null && !isNull(node)) {
                    problem(node.loc(), name, "expected a mapping with keys " + String.join(", ", allowed)
                            + ", found " + YamlTree.describe(node));
                }
                this.fields = Map.of();
                this.loc = node != null ? node.loc() : fallback;
            }
            for (Field f : fields.values()) {
                if (!allowed.contains(f.key())) {
                    problem(f.keyLoc(), qualified(f.key()), "unknown key" + Suggest.hint(f.key(), name, allowed)
                            + "; allowed " + (name.isEmpty() ? "at the top level" : "in " + name) + ": "
                            + String.join(", ", allowed));
                }
            }
        }

        ConfigReader reader() {
            return ConfigReader.this;
        }

        String qualified(String key) {
            return name.isEmpty() ? key : name + "." + key;
        }

        /** The value, or null when the key is absent or empty ({@code key:} with nothing, or {@code null}). */
        Node get(String key) {
            Field f = fields.get(key);
            return f == null || isNull(f.value()) ? null : f.value();
        }

        Loc loc() {
            return loc;
        }

        /** Where a key's value is, or where the section is when the key is absent. */
        Loc loc(String key) {
            Node n = get(key);
            return n != null ? n.loc() : loc;
        }

        boolean has(String key) {
            return get(key) != null;
        }

        Section section(String key) {
            Field f = fields.get(key);
            return new Section(qualified(key), f == null ? null : f.value(), loc);
        }

        void missing(String key, String meaning) {
            problem(loc, qualified(key), "missing; required: " + meaning);
        }

        /**
         * The key's value, converted and checked as its declaration says; its default when absent. A value of
         * the wrong type or out of range is recorded as a problem and the default returned.
         */
        <T> T get(Key<T> key) {
            Node n = get(key.leaf());
            if (n == null) return key.defaultValue();
            T v = n instanceof Scalar s ? parse(key.type()::parse, s) : null;
            if (v != null && key.allowed().test(v)) return v;
            String hint = n instanceof Scalar s && !key.type().choices().isEmpty()
                    ? Suggest.closest(s.text(), key.type().choices()).map(c -> " (did you mean " + c + "?)").orElse("") : "";
            problem(n.loc(), qualified(key.leaf()), "expected " + key.expected() + ", found " + YamlTree.describe(n) + hint);
            return key.defaultValue();
        }

        /** A string value, for keys read further by the caller; null when absent or not a string. */
        String string(Key<?> key) {
            Node n = get(key.leaf());
            if (n == null) return null;
            if (n instanceof Scalar s && s.isString()) return s.text();
            problem(n.loc(), qualified(key.leaf()), "expected " + key.expected() + ", found " + YamlTree.describe(n));
            return null;
        }

        /** A path; relative to the YAML's folder. Null when absent. */
        Path path(Key<Path> key) {
            String s = string(key);
            return s == null || s.isBlank() ? null : resolve(s);
        }

        /**
         * A list of files that must exist. Accepts a YAML list, one string, or a comma-separated string
         * (what {@code data.train_files=a.jsonl,b.jsonl} gives on the command line).
         */
        List<Path> existingFiles(String key) {
            Node n = get(key);
            if (n == null) return List.of();
            List<Path> out = new ArrayList<>();
            List<Node> items = n instanceof SeqNode q ? q.items() : List.of(n);
            for (int i = 0; i < items.size(); i++) {
                Node item = items.get(i);
                String itemKey = qualified(key) + (n instanceof SeqNode ? "[" + i + "]" : "");
                if (!(item instanceof Scalar s) || !s.isString() || s.text().isBlank()) {
                    problem(item.loc(), itemKey, "expected a file path, found " + YamlTree.describe(item));
                    continue;
                }
                for (String part : s.text().split(",")) {
                    if (part.isBlank()) continue;
                    Path p = resolve(part.strip());
                    if (!Files.isRegularFile(p)) {
                        problem(item.loc(), itemKey, "expected an existing file, found " + p
                                + (Files.isDirectory(p) ? ", which is a directory" : ", which does not exist"));
                    }
                    out.add(p);
                }
            }
            return out;
        }

        /** A list of numbers of a fixed size; null when absent or wrong. */
        double[] reals(String key, int size, DoublePredicate ok, String expected) {
            Node n = get(key);
            if (n == null) return null;
            if (n instanceof SeqNode q && q.items().size() == size) {
                double[] out = new double[size];
                boolean good = true;
                for (int i = 0; i < size; i++) {
                    Node item = q.items().get(i);
                    Double v = item instanceof Scalar s ? parse(ValueType.NUMBER::parse, s) : null;
                    if (v == null || !ok.test(v)) {
                        problem(q.items().get(i).loc(), qualified(key) + "[" + i + "]",
                                "expected " + expected + ", found " + YamlTree.describe(q.items().get(i)));
                        good = false;
                    } else {
                        out[i] = v;
                    }
                }
                return good ? out : null;
            }
            problem(n.loc(), qualified(key), "expected a list of " + size + " numbers, each " + expected
                    + ", found " + YamlTree.describe(n) + (n instanceof SeqNode q ? " of " + q.items().size() : ""));
            return null;
        }
    }

    private static boolean isNull(Node n) {
        return n instanceof Scalar s && s.token() == JsonToken.VALUE_NULL;
    }

    /**
     * A scalar's value as {@code parse} reads it; a string that spells a plain decimal number is offered as
     * that number when it is not wanted as a string: YAML 1.1 resolvers (PyYAML among them) read
     * {@code 1e-4} as a string, so configs written by Python tools often quote it.
     */
    private static <T> T parse(BiFunction<JsonToken, String, T> parse, Scalar s) {
        T v = parse.apply(s.token(), s.text());
        if (v != null || !s.isString()) return v;
        String text = s.text().strip();
        if (INTEGER.matcher(text).matches()) return parse.apply(JsonToken.VALUE_NUMBER_INT, text);
        return DECIMAL.matcher(text).matches() ? parse.apply(JsonToken.VALUE_NUMBER_FLOAT, text) : null;
    }

    /** "Did you mean …?" for misspelled keys and values. */
    static final class Suggest {
        private Suggest() {
        }

        static String hint(String key, String section, List<String> allowed) {
            var close = closest(key, allowed);
            if (close.isPresent()) return " (did you mean " + close.get() + "?)";
            for (var e : ConfigKeys.SCHEMA.entrySet()) {
                if (!e.getKey().equals(section) && e.getValue().contains(key)) {
                    return " (it belongs in " + (e.getKey().isEmpty() ? "the top level" : e.getKey())
                            + ": did you mean " + (e.getKey().isEmpty() ? key : e.getKey() + "." + key) + "?)";
                }
            }
            Setting<?> foreign = ConfigKeys.FOREIGN_NAMES.get(key);
            return foreign == null ? "" : " (fullshard calls it " + foreign.key().name() + ")";
        }

        static java.util.Optional<String> closest(String word, List<String> candidates) {
            String w = word.toLowerCase(Locale.ROOT);
            return candidates.stream()
                    .filter(c -> distance(w, c) <= Math.max(1, Math.min(2, c.length() / 3)) || c.equals(w))
                    .min(Comparator.comparingInt(c -> distance(w, c)));
        }

        /** Levenshtein distance. */
        static int distance(String a, String b) {
            int[] prev = new int[b.length() + 1];
            int[] cur = new int[b.length() + 1];
            for (int j = 0; j <= b.length(); j++) prev[j] = j;
            for (int i = 1; i <= a.length(); i++) {
                cur[0] = i;
                for (int j = 1; j <= b.length(); j++) {
                    int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                    cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
                }
                int[] t = prev;
                prev = cur;
                cur = t;
            }
            return prev[b.length()];
        }
    }
}
