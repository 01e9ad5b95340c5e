package dev.fullshard.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes the tests' {@code tiny-tasks/train.jsonl} and {@code eval.jsonl}: short, highly regular
 * instruction examples in English and Chinese that a tiny model can learn in a few hundred steps.
 * Deterministic ({@link Random}'s algorithm is specified, so the same seed gives the same files
 * everywhere); {@code DataTinyExamplesTest} checks the committed files against this generator and
 * regenerates them with {@code -Dfullshard.regenerate=true}.
 */
final class TinyDataGenerator {
    static final long SEED = 20240601L;
    static final int EVAL = 50;

    private static final String[] WORDS = {"apple", "river", "green", "house", "music", "tiger", "cloud", "bread", "chair", "light",
        "stone", "water", "happy", "paper", "smile", "train", "ocean", "grass", "night", "moon", "star", "horse", "flower", "snow"};
    private static final String[] CI = {"苹果", "河流", "绿色", "房子", "音乐", "老虎", "白云", "面包", "椅子", "灯光", "石头", "水",
        "快乐", "纸", "微笑", "火车", "大海", "小草", "夜晚", "月亮", "星星", "马", "花", "雪"};
    private static final String[][] GREETINGS = {{"hello", "你好"}, {"thank you", "谢谢"}, {"good morning", "早上好"},
        {"good night", "晚安"}, {"goodbye", "再见"}, {"sorry", "对不起"}, {"welcome", "欢迎"}, {"yes", "是"}, {"no", "不"},
        {"friend", "朋友"}, {"teacher", "老师"}, {"cat", "猫"}};

    private record Example(String instruction, String input, String output) {
    }

    /** {train, eval} lines. */
    static List<List<String>> generate() {
        Random random = new Random(SEED);
        List<Example> always = new ArrayList<>(); // fixed facts: only learnable if all are in training
        for (String[] g : GREETINGS) {
            always.add(new Example("Translate to Chinese: " + g[0], "", g[1]));
            always.add(new Example("翻译成英文：" + g[1], "", g[0]));
        }
        LinkedHashSet<Example> patterns = new LinkedHashSet<>(); // rules: held-out examples test them
        for (String w : WORDS) {
            patterns.add(new Example("Repeat the word: " + w, "", w + " " + w));
            patterns.add(new Example("Uppercase: " + w, "", w.toUpperCase(java.util.Locale.ROOT)));
        }
        for (String w : CI) patterns.add(new Example("把这个词重复两遍：" + w, "", w + " " + w));
        for (int n = 0; n < 100; n++) {
            patterns.add(new Example("What comes after " + n + "?", "", Integer.toString(n + 1)));
            patterns.add(new Example(n + " 后面是几？", "", Integer.toString(n + 1)));
        }
        while (patterns.size() < 500) {
            int len = 3 + random.nextInt(2);
            List<String> letters = new ArrayList<>();
            for (int i = 0; i < len; i++) letters.add(String.valueOf((char) ('a' + random.nextInt(26))));
            String in = String.join(" ", letters);
            Collections.reverse(letters);
            patterns.add(new Example(random.nextBoolean() ? "Reverse the letters." : "把字母倒过来。", in, String.join(" ", letters)));
        }
        List<Example> shuffled = new ArrayList<>(patterns);
        Collections.shuffle(shuffled, random);
        List<Example> eval = shuffled.subList(0, EVAL);
        List<Example> train = new ArrayList<>(shuffled.subList(EVAL, shuffled.size()));
        train.addAll(always);
        Collections.shuffle(train, random);
        return List.of(lines(train), lines(eval));
    }

    private static List<String> lines(List<Example> examples) {
        ObjectMapper json = new ObjectMapper();
        List<String> out = new ArrayList<>();
        for (Example e : examples) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("instruction", e.instruction);
            if (!e.input.isEmpty()) m.put("input", e.input);
            m.put("output", e.output);
            try {
                out.add(json.writeValueAsString(m));
            } catch (JsonProcessingException ex) {
                throw new IllegalStateException(ex);
            }
        }
        return out;
    }

    private TinyDataGenerator() {
    }
}
