package dev.fullshard.launcher;

import java.util.ArrayList;
import java.util.List;

/** Expands Slurm host lists such as {@code gpu[01-04,07],cpu3} (zero padding kept), in Java. */
final class Hostlist {
    private Hostlist() {}

    static List<String> expand(String list) {
        List<String> out = new ArrayList<>();
        for (String item : splitTopLevel(list.trim())) {
            if (!item.isEmpty()) expandItem(item, out);
        }
        return out;
    }

    /** Splits at commas that are not inside brackets. */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '[') depth++;
            else if (c == ']') { if (--depth < 0) throw new IllegalArgumentException("unbalanced ']' in host list: " + s); }
            else if (c == ',' && depth == 0) { parts.add(s.substring(start, i)); start = i + 1; }
        }
        if (depth != 0) throw new IllegalArgumentException("unbalanced '[' in host list: " + s);
        parts.add(s.substring(start));
        return parts;
    }

    /** Expands the first bracket group of an item, then recurses on the rest (gpu[1-2]-ib[0-1]). */
    private static void expandItem(String item, List<String> out) {
        int open = item.indexOf('[');
        if (open < 0) { out.add(item); return; }
        int close = item.indexOf(']', open);
        String prefix = item.substring(0, open), suffix = item.substring(close + 1);
        for (String range : item.substring(open + 1, close).split(",")) {
            range = range.trim();
            int dash = range.indexOf('-');
            if (dash < 0) { expandItem(prefix + range + suffix, out); continue; }
            String lo = range.substring(0, dash), hi = range.substring(dash + 1);
            int width = lo.length();
            long a = Long.parseLong(lo), b = Long.parseLong(hi);
            if (b < a) throw new IllegalArgumentException("descending range in host list: " + range);
            if (b - a > 100_000) throw new IllegalArgumentException("host range too large: " + range);
            for (long n = a; n <= b; n++) {
                String num = Long.toString(n);
                while (num.length() < width) num = "0" + num;
                expandItem(prefix + num + suffix, out);
            }
        }
    }
}
