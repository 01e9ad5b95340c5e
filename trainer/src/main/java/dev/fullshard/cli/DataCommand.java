package dev.fullshard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.DataFormat;
import dev.fullshard.data.DataOptions;
import dev.fullshard.data.LoadReport;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.data.TrainingData;
import dev.fullshard.train.ConfigException;
import dev.fullshard.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code fullshard data}: tools for the training data of a train.yaml. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Look at training data as the trainer sees it.",
        subcommands = DataCommand.Preview.class)
public final class DataCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code fullshard data preview}: the first sequences of the run as the trainer builds them (the chat
     * or prompt template rendered, tokenized, truncated and packed, in the order epoch 0 visits them),
     * with the target tokens marked, and the counts. The tool to reach for first when a fine-tune learns
     * the wrong thing: a prompt that is trained on, an answer that is masked, a template the model never saw.
     */
    @Command(name = "preview", mixinStandardHelpOptions = true,
            description = "Show the first training sequences with their target tokens marked, and the data's counts.")
    static final class Preview implements Callable<Integer> {
        private static final String COLOUR_ON = "\u001b[1;32m", COLOUR_OFF = "\u001b[0m";

        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "train.yaml", description = "The run's configuration.")
        Path config;

        @Parameters(index = "1..*", paramLabel = "key.sub=value", description = "Overrides of train.yaml keys, as for train.")
        List<String> overrides = List.of();

        @Option(names = "--n", defaultValue = "3", description = "Sequences to show (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = "--json", description = "Print JSON lines instead: the counts, then input_ids and labels per example.")
        boolean json;

        @Option(names = "--color", defaultValue = "auto", description = "auto (on a terminal, unless NO_COLOR is set), always or never.")
        String color;

        @Override
        public Integer call() throws Exception {
            if (count < 0) throw new IllegalArgumentException("--n must be at least 0, got " + count);
            boolean colour = switch (color) {
                case "always" -> true;
                case "never" -> false;
                case "auto" -> System.console() != null && System.console().isTerminal() && System.getenv("NO_COLOR") == null;
                default -> throw new IllegalArgumentException("--color " + color + ": expected auto, always or never");
            };
            TrainConfig train;
            try {
                train = TrainConfig.load(config, overrides);
            } catch (ConfigException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return 2;
            }
            PrintWriter out = spec.commandLine().getOut();
            try (Tokenizer tokenizer = Tokenizer.load(train.model().path())) {
                DataOptions options = train.data().options(tokenizer);
                TokenizedDataset dataset = TokenizedDataset.load(train.data().trainFiles(), tokenizer, options);
                TrainingData sequences = TrainingData.of(dataset, new TrainingData.Options(train.training().microBatchSize(),
                        train.data().packing(), true, train.training().seed()));
                int[] order = sequences.order(0);
                int shown = Math.min(count, order.length);
                if (json) {
                    printJson(out, dataset, sequences, order, shown);
                } else {
                    printSummary(out, options, train.data().chatTemplate(), dataset, sequences, colour);
                    for (int i = 0; i < shown; i++) printSequence(out, tokenizer, dataset, sequences, order, i, colour);
                }
            }
            return 0;
        }

        private static long targets(TokenizedDataset d) {
            long n = 0;
            for (int e = 0; e < d.size(); e++) for (int p = 0; p < d.length(e); p++) if (d.isTarget(e, p)) n++;
            return n;
        }

        private void printSummary(PrintWriter out, DataOptions options, String chatSetting, TokenizedDataset d, TrainingData sequences,
                                  boolean colour) {
            LoadReport r = d.report();
            long targets = targets(d);
            out.printf(Locale.ROOT, "data: %s: %,d lines, %,d examples, %,d tokens, %,d targets (%.1f%%), %,d truncated to %d tokens, "
                            + "%,d dropped (no target left), %,d bad lines skipped%n", config, r.lines(), r.examples(), r.tokens(), targets,
                    100.0 * targets / Math.max(1, r.tokens()), r.truncated(), d.maxSeqLen(), r.droppedNoTargets(), r.skippedTotal());
            if (options.format() == DataFormat.CHAT) out.println("data: chat template " + ChatTemplate.explain(chatSetting, options.chatTemplate()));
            out.printf(Locale.ROOT, "data: %s into %,d sequences of %d tokens (%.1f%% filled)%n",
                    sequences.sequencesPerEpoch() == d.size() ? "one example per sequence" : "packed", sequences.sequencesPerEpoch(),
                    sequences.seqLen(), 100.0 * r.tokens() / ((double) sequences.sequencesPerEpoch() * sequences.seqLen()));
            out.println("data: targets (the tokens the loss is computed on) are shown " + (colour ? COLOUR_ON + "in green" + COLOUR_OFF
                    : "[[in double brackets]]") + "; special tokens are shown as text");
        }

        private void printSequence(PrintWriter out, Tokenizer tokenizer, TokenizedDataset d, TrainingData sequences, int[] order, int i,
                                   boolean colour) {
            int[] examples = sequences.examplesOf(order[i]);
            int tokens = Arrays.stream(examples).map(d::length).sum();
            out.printf(Locale.ROOT, "%n=== sequence %d of %d (%d of %d tokens): example%s %s%n", i + 1, order.length, tokens, sequences.seqLen(),
                    examples.length == 1 ? "" : "s", Arrays.toString(examples).replaceAll("[\\[\\]]", ""));
            for (int e : examples) {
                long[] ids = d.tokens(e);
                int targets = 0;
                StringBuilder text = new StringBuilder();
                int from = 0;
                while (from < ids.length) {
                    boolean target = d.isTarget(e, from);
                    int to = from;
                    while (to < ids.length && d.isTarget(e, to) == target) to++;
                    String piece = tokenizer.decode(Arrays.copyOfRange(ids, from, to));
                    if (target) {
                        targets += to - from;
                        text.append(colour ? COLOUR_ON : "[[").append(piece).append(colour ? COLOUR_OFF : "]]");
                    } else {
                        text.append(piece);
                    }
                    from = to;
                }
                out.printf(Locale.ROOT, "--- example %d: %d tokens, %d targets%n%s%n", e, ids.length, targets, text);
            }
        }

        private static void printJson(PrintWriter out, TokenizedDataset d, TrainingData sequences, int[] order, int shown) {
            ObjectMapper mapper = new ObjectMapper();
            LoadReport r = d.report();
            ObjectNode summary = mapper.createObjectNode().put("lines", r.lines()).put("examples", r.examples()).put("tokens", r.tokens())
                    .put("targets", targets(d)).put("truncated", r.truncated()).put("dropped_no_targets", r.droppedNoTargets())
                    .put("skipped", r.skippedTotal()).put("sequences", sequences.sequencesPerEpoch()).put("seq_len", sequences.seqLen());
            out.println(summary);
            for (int i = 0; i < shown; i++) {
                for (int e : sequences.examplesOf(order[i])) {
                    ObjectNode line = mapper.createObjectNode().put("sequence", i).put("example", e);
                    line.putPOJO("input_ids", d.tokens(e));
                    line.putPOJO("labels", d.labels(e));
                    out.println(line);
                }
            }
        }
    }
}
