package dev.fullshard.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Summarises training runs' {@code metrics.jsonl}: the mean step time split into compute, exposed
 * communication and optimizer (the trainer's {@code compute_s}, {@code communication_s},
 * {@code optimizer_s}), tokens/s, and the per-rank memory report, one row per run; the first
 * {@code skip} steps (warm-up) are left out. Arguments: {@code skip label=output_dir ...}.
 */
public final class FsdpStepSplit {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FsdpStepSplit() {
    }

    public static void main(String[] args) throws IOException {
        int skip = Integer.parseInt(args[0]);
        System.out.printf(Locale.ROOT, "%-26s %6s %9s %9s %9s %9s %9s %10s %10s%n", "run", "steps", "step s", "compute", "comm",
                "optimizer", "tok/s", "weights+opt", "gathered");
        List<double[]> rows = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String label = args[i].substring(0, args[i].indexOf('='));
            Path out = Path.of(args[i].substring(args[i].indexOf('=') + 1));
            double compute = 0, comm = 0, optimizer = 0, tokens = 0;
            int steps = 0;
            long held = 0, gathered = 0;
            for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
                JsonNode n = JSON.readTree(line);
                if (n.path("type").asText().equals("train") && n.path("step").asLong() > skip) {
                    compute += n.path("compute_s").asDouble();
                    comm += n.path("communication_s").asDouble();
                    optimizer += n.path("optimizer_s").asDouble();
                    tokens += n.path("tokens_per_second").asDouble();
                    steps++;
                } else if (n.path("type").asText().equals("memory") && n.path("at").asText().equals("first_step")) {
                    for (JsonNode r : n.path("ranks")) {
                        held = Math.max(held, r.path("parameters").asLong() + r.path("optimizer").asLong());
                        gathered = Math.max(gathered, r.path("gathered_peak").asLong());
                    }
                }
            }
            if (steps == 0) throw new IllegalArgumentException(out + ": no train steps after step " + skip);
            double step = (compute + comm + optimizer) / steps;
            rows.add(new double[]{step, comm / steps});
            System.out.printf(Locale.ROOT, "%-26s %6d %9.3f %9.3f %9.3f %9.3f %9.0f %8.0f MB %7.0f MB%n", label, steps, step, compute / steps,
                    comm / steps, optimizer / steps, tokens / steps, held / 1e6, gathered / 1e6);
        }
        System.out.println("(seconds per optimizer step, means; comm = time spent waiting for collectives, not hidden by overlap;"
                + " weights+opt and gathered: the largest rank's fp32 weights + AdamW moments, and its peak of gathered weights)");
    }
}
