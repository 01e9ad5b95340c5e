package dev.fullshard.cli;

import dev.fullshard.data.DataFormat;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.io.HfModel;
import dev.fullshard.model.CausalLm;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.train.Answers;
import dev.fullshard.train.Answers.Answer;
import dev.fullshard.train.Answers.Question;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code fullshard answer}: one or more models answer the prompts of a JSONL dataset greedily; prints a
 * table of prompt, expected answer and each model's answer, and how many answers were exact.
 */
@Command(name = "answer", mixinStandardHelpOptions = true,
        description = "Let models answer the prompts of JSONL data (greedy) and count the exact answers.")
public final class AnswerCommand implements Callable<Integer> {
    private static final int CELL_WIDTH = 40;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "[LABEL=]DIR",
            description = "Hugging Face model directory, optionally labelled (e.g. before=model); repeat for a column per model.")
    List<String> models;

    @Mixin
    DataArguments data;

    @Option(names = "--show", defaultValue = "10", description = "Rows of the table: the first N examples (default: ${DEFAULT-VALUE}); all are counted.")
    int show;

    @Mixin
    ComputeDtypeOption dtype;

    private record Labelled(String label, Path dir) {
    }

    @Override
    public Integer call() throws Exception {
        if (show < 0) throw new IllegalArgumentException("--show must be at least 0, got " + show);
        if (data.dataFormat() == DataFormat.TEXT) throw new IllegalArgumentException("--format text has no prompts to answer: use instruction or chat");
        DType compute = dtype.value();
        List<Labelled> labelled = models.stream().map(AnswerCommand::labelled).toList();
        byte[] vocabulary = tokenizerBytes(labelled.getFirst().dir());
        for (Labelled m : labelled) {
            if (!Arrays.equals(vocabulary, tokenizerBytes(m.dir()))) {
                throw new IllegalArgumentException(m.dir() + " has another tokenizer.json than " + labelled.getFirst().dir()
                        + ": models compared on the same prompts must share their tokenizer");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Tokenizer tokenizer = Tokenizer.load(labelled.getFirst().dir())) {
            List<Question> questions = Answers.questions(TokenizedDataset.load(data.files, tokenizer, data.options(tokenizer)));
            if (questions.isEmpty()) throw new IllegalArgumentException(data.files + " holds no example with a prompt and an answer");
            List<List<Answer>> columns = new ArrayList<>();
            for (Labelled m : labelled) {
                List<Answer> column = new ArrayList<>();
                try (TensorScope ignored = TensorScope.open()) {
                    HfModel loaded = HfModel.load(m.dir(), DType.F32);
                    CausalLm lm = new CausalLm(loaded.parameters(), CausalLm.Options.defaults().withComputeDtype(compute));
                    long eos = tokenizer.eosId() >= 0 ? tokenizer.eosId() : loaded.config().eosTokenId();
                    for (Question q : questions) column.add(Answers.answer(lm, tokenizer, q, eos));
                }
                columns.add(column);
            }
            printTable(out, labelled, columns, Math.min(show, questions.size()));
            List<String> counts = new ArrayList<>();
            for (int c = 0; c < labelled.size(); c++) {
                long exact = columns.get(c).stream().filter(Answer::exact).count();
                counts.add(String.format(Locale.ROOT, "%s %d/%d", labelled.get(c).label(), exact, questions.size()));
            }
            out.println("exact answers: " + String.join(", ", counts));
        }
        return 0;
    }

    private static Labelled labelled(String arg) {
        int eq = arg.indexOf('=');
        Labelled m = eq > 0 && !Files.exists(Path.of(arg)) ? new Labelled(arg.substring(0, eq), Path.of(arg.substring(eq + 1)))
                : new Labelled(Path.of(arg).getFileName().toString(), Path.of(arg));
        ModelOption.directory(m.dir());
        return m;
    }

    private static byte[] tokenizerBytes(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("no tokenizer at " + file + ": expected a Hugging Face tokenizer.json", e);
        }
    }

    /**
     * Prompts shown without the lines every prompt shares (the template's header and footer), so the table
     * shows what differs: the question.
     */
    private static void printTable(PrintWriter out, List<Labelled> models, List<List<Answer>> columns, int rows) {
        if (rows == 0) return;
        List<String> prompts = columns.getFirst().stream().map(Answer::prompt).toList();
        String prefix = sharedLines(prompts, false), suffix = sharedLines(prompts, true);
        List<List<String>> table = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("#", "prompt", "expected"));
        for (Labelled m : models) header.add(m.label());
        table.add(header);
        for (int r = 0; r < rows; r++) {
            Answer first = columns.getFirst().get(r);
            String prompt = first.prompt();
            prompt = prompt.substring(Math.min(prefix.length(), prompt.length()), Math.max(prefix.length(), prompt.length() - suffix.length()));
            List<String> row = new ArrayList<>(List.of(Integer.toString(r + 1), oneLine(prompt), oneLine(first.expected())));
            for (List<Answer> column : columns) {
                Answer a = column.get(r);
                row.add(oneLine(a.answer()) + (a.exact() ? " ✓" : ""));
            }
            table.add(row);
        }
        int[] widths = new int[header.size()];
        for (List<String> row : table) for (int c = 0; c < row.size(); c++) widths[c] = Math.max(widths[c], width(row.get(c)));
        for (List<String> row : table) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < row.size(); c++) {
                String cell = row.get(c);
                line.append(cell).append(" ".repeat(widths[c] - width(cell) + 2));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** The whole lines that begin (or end) every text. */
    static String sharedLines(List<String> texts, boolean atEnd) {
        if (texts.size() < 2) return "";
        String first = texts.getFirst();
        int shared = first.length();
        for (String t : texts) {
            int n = 0;
            while (n < shared && n < t.length()
                    && (atEnd ? t.charAt(t.length() - 1 - n) == first.charAt(first.length() - 1 - n) : t.charAt(n) == first.charAt(n))) n++;
            shared = n;
        }
        if (atEnd) {
            String tail = first.substring(first.length() - shared);
            int nl = tail.indexOf('\n');
            return nl < 0 ? "" : tail.substring(nl);
        }
        String head = first.substring(0, shared);
        int nl = head.lastIndexOf('\n');
        return nl < 0 ? "" : head.substring(0, nl + 1);
    }

    /** Line breaks as ⏎ and other control characters escaped, so that a row stays one line; cut to the cell width. */
    private static String oneLine(String s) {
        StringBuilder line = new StringBuilder();
        s.strip().replace("\r\n", "\n").codePoints().forEach(cp -> {
            if (cp == '\n') line.append('⏎');
            else if (Character.isISOControl(cp)) line.append(String.format(Locale.ROOT, "\\x%02X", cp));
            else line.appendCodePoint(cp);
        });
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < line.length(); ) {
            int cp = line.codePointAt(i);
            if (width(out.toString()) + columns(cp) > CELL_WIDTH - 1) return out.append('…').toString();
            out.appendCodePoint(cp);
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    /** Terminal columns of a text: East Asian wide characters take two. */
    static int width(String s) {
        return s.codePoints().map(AnswerCommand::columns).sum();
    }

    private static int columns(int cp) {
        int type = Character.getType(cp);
        if (type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK || type == Character.FORMAT) return 0;
        boolean wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60)
                || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
        return wide ? 2 : 1;
    }
}
